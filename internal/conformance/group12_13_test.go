package conformance

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/wsapi-go/wsapi"
)

// Groups 12 and 13: permessage-deflate (RFC 7692), against two more echo
// servers, one per compression mode of wsapi (Options.Compression):
// CompressionNoContextTakeover, which answers every accepted offer with
// server_no_context_takeover and client_no_context_takeover, and
// CompressionContextTakeover, which keeps both windows unless the offer asks
// otherwise. The raw client compresses with compress/flate (BestSpeed, which
// keeps the cases fast under -race) and inflates what the server sends,
// keeping a 32 KiB dictionary across messages when the server keeps its
// context (deflate_client_test.go).
//
// RSV1 on a connection that did not negotiate compression is group 3's
// business (3.4, 3.5 and 3.6 fail with 1002 on the uncompressed server);
// 12.5.6 adds the case of a compressing server that declined the offer.

var modes = []struct {
	mode wsapi.CompressionMode
	name string // for case names
}{
	{wsapi.CompressionNoContextTakeover, "no_context_takeover_server"},
	{wsapi.CompressionContextTakeover, "context_takeover_server"},
}

// Test data: deterministic corpora that messages are cut from, at offsets
// that move from message to message, as Autobahn cuts its test files.

var words = strings.Fields(`the of and to in a is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their has would when if so no
will more can out up who them into some could time than first about other over said then do only many
new any may these very after where just most made make such through before must between great back
house water world people years long little old good state light night might while still found never
under every last thought upon small again against found place same well work life hand part again
morning letter window garden river mountain story question answer reason moment evening country
naïve café façade Grüße über schön déjà-vu coöperate fiancée jalapeño smörgåsbord — “quoted” ½ €`)

// textCorpus is 320 KiB of English-like UTF-8 text: sentences of words with
// punctuation and paragraphs, compressible as prose is.
var textCorpus = sync.OnceValue(func() []byte {
	r := rand.New(rand.NewPCG(12, 13))
	var b bytes.Buffer
	for b.Len() < 320<<10 {
		n := 4 + r.IntN(14)
		for i := range n {
			w := words[r.IntN(len(words))]
			if i == 0 {
				r, size := utf8.DecodeRuneInString(w)
				w = strings.ToUpper(string(r)) + w[size:]
			}
			b.WriteString(w)
			switch {
			case i == n-1:
				b.WriteString([]string{". ", ". ", "? ", "! "}[r.IntN(4)])
			case r.IntN(9) == 0:
				b.WriteString(", ")
			default:
				b.WriteByte(' ')
			}
		}
		if r.IntN(7) == 0 {
			b.WriteString("\n\n")
		}
	}
	return b.Bytes()
})

// binaryCorpus is 320 KiB of mixed bytes: random runs (which do not
// compress), copies of earlier data, runs of one byte and little-endian
// counters.
var binaryCorpus = sync.OnceValue(func() []byte {
	r := rand.New(rand.NewPCG(7692, 6455))
	b := make([]byte, 0, 330<<10)
	for len(b) < 320<<10 {
		switch r.IntN(4) {
		case 0:
			for range 32 + r.IntN(1000) {
				b = append(b, byte(r.Uint32()))
			}
		case 1:
			if len(b) > 4096 {
				from := r.IntN(len(b) - 2048)
				b = append(b, b[from:from+64+r.IntN(1984)]...)
			}
		case 2:
			v := byte(r.Uint32())
			for range 16 + r.IntN(500) {
				b = append(b, v)
			}
		case 3:
			v := r.Uint32()
			for i := range 16 + r.IntN(240) {
				b = binary.LittleEndian.AppendUint32(b, v+uint32(i))
			}
		}
	}
	return b
})

// jsonCorpus is 128 KiB of JSON records, one a line, as Autobahn's group 13
// sends JSON.
var jsonCorpus = sync.OnceValue(func() []byte {
	r := rand.New(rand.NewPCG(13, 7692))
	var b bytes.Buffer
	for id := 1000; b.Len() < 128<<10; id++ {
		w := func() string { return words[r.IntN(len(words))] }
		fmt.Fprintf(&b, `{"id":%d,"user":"%s_%s","email":"%s%d@example.com","tags":["%s","%s"],"score":%d.%02d,"active":%t,"note":"%s %s %s"}`+"\n",
			id, w(), w(), w(), r.IntN(100), w(), w(), r.IntN(1000), r.IntN(100), r.IntN(2) == 0, w(), w(), w())
	}
	return b.Bytes()
})

// cutText returns n bytes of valid UTF-8 from corpus at about off: the cut
// starts on a character boundary and a character split at the end is
// replaced with spaces.
func cutText(corpus []byte, off, n int) []byte {
	off %= len(corpus) - n
	for off > 0 && !utf8.RuneStart(corpus[off]) {
		off--
	}
	p := bytes.Clone(corpus[off : off+n])
	i := len(p) - 1
	for i > 0 && i > len(p)-4 && !utf8.RuneStart(p[i]) {
		i--
	}
	if i >= 0 && !utf8.FullRune(p[i:]) {
		for j := i; j < len(p); j++ {
			p[j] = ' '
		}
	}
	if !utf8.Valid(p) {
		panic("cutText: invalid UTF-8")
	}
	return p
}

func cutBinary(corpus []byte, off, n int) []byte {
	off %= len(corpus) - n
	return bytes.Clone(corpus[off : off+n])
}

// batchCount is how many messages of size bytes a group 12 case sends: 10,
// as long as that stays within 128 KiB, and never fewer than 2 (Autobahn
// sends 1000, one at a time; a few in a row keep -race runs short).
func batchCount(size int) int {
	return max(2, min(10, (128<<10)/size))
}

// Group 12: echo of compressed messages of growing sizes, text and binary,
// with the client offering plain permessage-deflate, against both servers;
// the last eight sizes of each subgroup send the compressed payload in
// fragments, as Autobahn's auto-fragmentation does. Each case sends its
// messages back to back, then reads the echoes in order.
func groupDeflatePayloads() *group {
	g := &group{id: "12", title: "WebSocket Compression (different payloads)"}
	type size struct{ n, frag int }
	sizes := []size{
		{16, 0}, {64, 0}, {256, 0}, {1024, 0}, {4096, 0}, {8192, 0}, {16384, 0}, {32768, 0}, {65536, 0}, {131072, 0},
		{8192, 256}, {16384, 256}, {32768, 256}, {65536, 256}, {131072, 256}, {131072, 1024}, {131072, 4096}, {131072, 32768},
	}
	sub := 0
	for _, m := range modes {
		for _, op := range []byte{opText, opBinary} {
			sub++
			for i, s := range sizes {
				count := batchCount(s.n)
				name := fmt.Sprintf("%s_%d_bytes_x%d_%s", opName(op), s.n, count, m.name)
				if s.frag > 0 {
					name = fmt.Sprintf("%s_%d_bytes_x%d_in_%d_byte_frames_%s", opName(op), s.n, count, s.frag, m.name)
				}
				seed := sub*1000 + i
				g.cases = append(g.cases, testCase{
					id:   fmt.Sprintf("12.%d.%d", sub, i+1),
					name: name,
					run: func(t *testing.T) {
						c := dialDeflate(t, m.mode, wantAccept, pmdName)
						msgs := make([]zmsg, count)
						for j := range msgs {
							off := seed*7919 + j*s.n
							if op == opText {
								msgs[j] = zmsg{op: op, payload: cutText(textCorpus(), off, s.n), frag: s.frag}
							} else {
								msgs[j] = zmsg{op: op, payload: cutBinary(binaryCorpus(), off, s.n), frag: s.frag}
							}
						}
						wire := echoBatch(c, msgs)
						t.Logf("%d %s messages of %d bytes (%d bytes compressed in all) echoed", count, opName(op), s.n, sum(wire))
						c.closeNormally()
					},
				})
			}
		}
	}
	g.cases = append(g.cases, deflateExtras()...)
	return g
}

func sum(s []int) int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}

// Autobahn's offers (group 13 of crossbario/autobahn-testsuite): its client
// always tells the server that it accepts client_no_context_takeover and
// client_max_window_bits, then asks for server parameters.
const autobahnOffer = pmdName + "; client_no_context_takeover; client_max_window_bits"

// offerCase is one subgroup of group 13: an offer, run against both servers.
type offerCase struct {
	name   string
	offers []string // Sec-WebSocket-Extensions lines
	want   negotiation
	why    string // why the offer must be declined, or may be either
}

// Group 13: echo with each offer of permessage-deflate parameters, against
// both servers. Each case checks the server's answer (RFC 7692: valid
// parameters, an answer to one of the acceptable offers, nothing the client
// cannot take), then echoes a batch of JSON text and binary messages with
// the client keeping its context whenever the agreement allows: the batch
// repeats a 6000-byte message, which the client then compresses to a few
// back-references into the previous message, so a server that loses its
// inflate window between messages fails the case.
func groupDeflateParams() *group {
	g := &group{id: "13", title: "WebSocket Compression (different parameters)"}
	const nine = "compress/flate always uses a 2^15-byte window, so wsapi cannot honour a smaller server_max_window_bits"
	const malformed = "RFC 7692, section 7: a server MUST decline an offer with an unknown parameter, an invalid value or a repeated parameter"
	offers := []offerCase{
		// Autobahn's 13.1 to 13.7.
		{name: "autobahn_default_offer", offers: []string{autobahnOffer}, want: wantAccept},
		{name: "autobahn_server_no_context_takeover", offers: []string{autobahnOffer + "; server_no_context_takeover"}, want: wantAccept},
		{name: "autobahn_server_max_window_bits_8_declined", offers: []string{autobahnOffer + "; server_max_window_bits=8"}, want: wantDecline, why: nine},
		{name: "autobahn_server_max_window_bits_15", offers: []string{autobahnOffer + "; server_max_window_bits=15"}, want: wantAccept},
		{name: "autobahn_server_no_context_takeover_and_window_bits_8_declined", offers: []string{autobahnOffer + "; server_no_context_takeover; server_max_window_bits=8"}, want: wantDecline, why: nine},
		{name: "autobahn_server_no_context_takeover_and_window_bits_15", offers: []string{autobahnOffer + "; server_no_context_takeover; server_max_window_bits=15"}, want: wantAccept},
		{name: "autobahn_three_offers_first_unacceptable", offers: []string{autobahnOffer + "; server_no_context_takeover; server_max_window_bits=8, " +
			autobahnOffer + "; server_no_context_takeover, " + autobahnOffer}, want: wantAccept},
		// Extra offers.
		{name: "extra_plain", offers: []string{pmdName}, want: wantAccept},
		{name: "extra_client_no_context_takeover", offers: []string{pmdName + "; client_no_context_takeover"}, want: wantAccept},
		{name: "extra_server_no_context_takeover", offers: []string{pmdName + "; server_no_context_takeover"}, want: wantAccept},
		{name: "extra_both_no_context_takeover", offers: []string{pmdName + "; client_no_context_takeover; server_no_context_takeover"}, want: wantAccept},
		{name: "extra_client_max_window_bits", offers: []string{pmdName + "; client_max_window_bits"}, want: wantAccept},
		{name: "extra_server_max_window_bits_15", offers: []string{pmdName + "; server_max_window_bits=15"}, want: wantAccept},
		{name: "extra_server_max_window_bits_9_declined", offers: []string{pmdName + "; server_max_window_bits=9"}, want: wantDecline, why: nine},
		{name: "extra_two_offers_first_unacceptable", offers: []string{pmdName + "; server_max_window_bits=9, " + pmdName}, want: wantAccept},
		{name: "extra_two_offer_lines_first_unacceptable", offers: []string{pmdName + "; server_max_window_bits=10", pmdName + "; client_no_context_takeover"}, want: wantAccept},
		{name: "extra_malformed_offer_then_valid_offer", offers: []string{pmdName + "; server_max_window_bits=16, " + pmdName + "; server_no_context_takeover"}, want: wantAccept},
		{name: "extra_unknown_extension_then_offer", offers: []string{"x-webkit-deflate-frame; no_context_takeover, " + pmdName}, want: wantAccept},
		{name: "extra_malformed_unknown_parameter_declined", offers: []string{pmdName + "; max_window_bits=10"}, want: wantDecline, why: malformed},
		{name: "extra_malformed_window_bits_7_declined", offers: []string{pmdName + "; client_max_window_bits=7"}, want: wantDecline, why: malformed},
		{name: "extra_malformed_server_window_bits_without_value_declined", offers: []string{pmdName + "; server_max_window_bits"}, want: wantDecline, why: malformed},
		{name: "extra_malformed_no_context_takeover_with_value_declined", offers: []string{pmdName + "; server_no_context_takeover=1"}, want: wantDecline, why: malformed},
		{name: "extra_malformed_repeated_no_context_takeover_declined", offers: []string{pmdName + "; client_no_context_takeover; client_no_context_takeover"}, want: wantDecline, why: malformed},
		{name: "extra_malformed_repeated_client_max_window_bits_declined", offers: []string{pmdName + "; client_max_window_bits; client_max_window_bits"}, want: wantDecline, why: malformed},
		{name: "extra_quoted_server_max_window_bits_15", offers: []string{pmdName + `; server_max_window_bits="15"`}, want: wantEither,
			why: "RFC 6455, section 9.1, allows a quoted value; a server may accept it or decline the offer"},
	}
	for i, oc := range offers {
		for j, m := range modes {
			seed := i*10 + j
			id := fmt.Sprintf("13.%d.%d", i+1, j+1)
			g.cases = append(g.cases, testCase{
				id:   id,
				name: oc.name + "_" + m.name,
				run: func(t *testing.T) {
					if oc.why != "" {
						t.Log(oc.why)
					}
					c := dialDeflate(t, m.mode, oc.want, oc.offers...)
					if oc.want == wantEither {
						verb := "declines"
						if c.deflate != nil {
							verb = "accepts"
						}
						note(t, "%s: the %s server %s the offer %s", id, modeName(m.mode), verb, strings.Join(oc.offers, ", "))
					}
					paramsEcho(t, c, seed)
					c.closeNormally()
				},
			})
		}
	}
	return g
}

// paramsEcho echoes group 13's batch: JSON text around the 128-byte
// threshold and larger, a binary message, a 6000-byte message twice in a
// row, and 16000 bytes in 2048-byte frames.
func paramsEcho(t *testing.T, c *rawConn, seed int) {
	t.Helper()
	js := jsonCorpus()
	off := seed * 4099
	repeat := cutText(js, off+50000, 6000)
	msgs := []zmsg{
		{op: opText, payload: cutText(js, off, 16)},
		{op: opText, payload: cutText(js, off+100, 127)},
		{op: opText, payload: cutText(js, off+300, 128)},
		{op: opText, payload: cutText(js, off+1000, 500)},
		{op: opBinary, payload: cutBinary(binaryCorpus(), off, 3000)},
		{op: opText, payload: cutText(js, off+20000, 2000)},
		{op: opText, payload: repeat},
		{op: opText, payload: repeat},
		{op: opText, payload: cutText(js, off+70000, 16000), frag: 2048},
	}
	wire := echoBatch(c, msgs)
	if d := c.deflate; d != nil && d.canCompress {
		t.Logf("the repeated 6000-byte message went out as %d, then %d compressed bytes (%s)", wire[6], wire[7], d)
		if d.clientContext && wire[7] > wire[6]/4 {
			t.Errorf("test client: with context takeover the repeat compressed to %d bytes, hardly less than the first time: "+
				"the case does not exercise the server's inflate window", wire[7])
		}
	}
}

// Raw compressed payloads.

// rfc7692Hello holds the compressed payloads of RFC 7692, section 7.2.3,
// each the message "Hello" (or "" for the last).
var rfc7692Hello = []struct {
	section string
	payload []byte
	want    string
}{
	{"7.2.3.1", []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, "Hello"},
	{"7.2.3.3", []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, "Hello"},             // a stored block
	{"7.2.3.4", []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, "Hello"},                               // BFINAL set
	{"7.2.3.5", []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, "Hello"}, // two blocks
	{"7.2.3.6", []byte{0x00}, ""}, // an empty message
}

// bitWriter writes a DEFLATE bit stream (RFC 1951, section 3.1.1).
type bitWriter struct {
	b []byte
	n uint // bits used in the last byte; 8 when full
}

// bits writes the k low bits of v, least significant first.
func (w *bitWriter) bits(v uint32, k int) {
	for i := range k {
		if w.n == 0 || w.n == 8 {
			w.b = append(w.b, 0)
			w.n = 0
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << w.n
		w.n++
	}
}

// code writes a k-bit Huffman code, most significant bit first.
func (w *bitWriter) code(v uint32, k int) {
	for i := k - 1; i >= 0; i-- {
		w.bits(v>>i&1, 1)
	}
}

// distanceBeforeStart is a compressed payload whose first symbol copies
// from 1 byte back when nothing was inflated yet: a fixed-Huffman block
// with length code 257 (3 bytes) and distance code 0 (1 byte back), the end
// of the block, and the header of the empty stored block whose last four
// bytes the sender removes.
func distanceBeforeStart() []byte {
	var w bitWriter
	w.bits(0, 1)         // BFINAL 0
	w.bits(1, 2)         // BTYPE 01: fixed Huffman codes
	w.code(0b0000001, 7) // literal/length 257: length 3
	w.code(0, 5)         // distance code 0: 1 byte back
	w.code(0, 7)         // 256: end of block
	w.bits(0, 3)         // BFINAL 0, BTYPE 00: the stored block of the flush
	return w.b
}

// bomb returns a compressed payload of about 64 KiB that inflates to 64 MiB
// of zeros: a 1 MiB flush of zeros compresses to the same bytes every time
// once the window is full of zeros, so it is computed twice and repeated.
var bomb = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	w.Write(zeros)
	w.Flush()
	first := bytes.Clone(buf.Bytes())
	buf.Reset()
	w.Write(zeros)
	w.Flush()
	next := buf.Bytes()
	out := first
	for range 63 {
		out = append(out, next...)
	}
	return bytes.TrimSuffix(out, deflateTail)
})

// Extra cases: misuse of the compression bit, decompression failures and
// limits, uncompressed messages on a compressed connection, and the
// examples of RFC 7692.
func deflateExtras() []testCase {
	noCtx, ctx := wsapi.CompressionNoContextTakeover, wsapi.CompressionContextTakeover
	dialZ := func(t *testing.T, mode wsapi.CompressionMode) *rawConn {
		t.Helper()
		return dialDeflate(t, mode, wantAccept, pmdName)
	}
	hello := []byte(strings.Repeat("Hello, compressed world! ", 12))
	// compressed returns p compressed by c's client, as one frame.
	compressed := func(c *rawConn, op byte, p []byte) frame {
		return frame{fin: true, op: op, rsv: rsv1, payload: c.deflate.compress(p)}
	}
	// sendZ sends raw compressed payload bytes as one RSV1 frame.
	sendZ := func(c *rawConn, op byte, p []byte, what string) {
		c.logf("→ %s", what)
		c.sendBytes(frame{fin: true, op: op, rsv: rsv1, payload: p}.encode())
	}
	return []testCase{
		{id: "12.5.1", name: "extra_rsv1_on_continuation_of_compressed_message_fails_1002", run: func(t *testing.T) {
			c := dialZ(t, noCtx)
			z := c.deflate.compress(hello)
			c.send(fr(false, opText, z[:len(z)/2]).withRSV(rsv1), fr(true, opCont, z[len(z)/2:]).withRSV(rsv1))
			c.expectFail(1002)
		}},
		{id: "12.5.2", name: "extra_rsv1_on_continuation_of_uncompressed_message_fails_1002", run: func(t *testing.T) {
			c := dialZ(t, ctx)
			c.send(fr(false, opText, []byte("frag1")), fr(true, opCont, []byte("frag2")).withRSV(rsv1))
			c.expectFail(1002)
		}},
		{id: "12.5.3", name: "extra_rsv1_on_ping_fails_1002", run: func(t *testing.T) {
			c := dialZ(t, noCtx)
			c.send(ping("compressed?").withRSV(rsv1))
			c.expectFail(1002)
		}},
		{id: "12.5.4", name: "extra_rsv1_on_close_fails_1002", run: func(t *testing.T) {
			// The bad close frame does not count as the client's close.
			c := dialZ(t, ctx)
			c.sendBytes(closeF(1000, "").withRSV(rsv1).encode())
			c.logf("→ close code=1000 rsv=4")
			c.expectFail(1002)
		}},
		{id: "12.5.5", name: "extra_rsv1_and_rsv2_on_compressed_text_fails_1002", run: func(t *testing.T) {
			c := dialZ(t, noCtx)
			c.send(compressed(c, opText, hello).withRSV(rsv1 | rsv2))
			c.expectFail(1002)
		}},
		{id: "12.5.6", name: "extra_rsv1_after_declined_offer_fails_1002", run: func(t *testing.T) {
			// The compressing server declines the offer: RSV1 means nothing
			// on this connection (group 3 has the uncompressed server).
			c := dialDeflate(t, ctx, wantDecline, pmdName+"; server_max_window_bits=9")
			c.send(txt("plain"))
			c.expectText("plain")
			z := &clientDeflate{level: flate.BestSpeed}
			c.send(frame{fin: true, op: opText, rsv: rsv1, payload: z.compress(hello)})
			c.expectFail(1002)
		}},
		{id: "12.5.7", name: "extra_decompression_bomb_64MiB_fails_1009", run: func(t *testing.T) {
			deflateBomb(t, dialZ(t, noCtx))
		}},
		{id: "12.5.8", name: "extra_decompression_bomb_64MiB_fails_1009_context_takeover", run: func(t *testing.T) {
			c := dialZ(t, ctx)
			echoBatch(c, []zmsg{{op: opText, payload: hello}})
			deflateBomb(t, c)
		}},
		{id: "12.5.9", name: "extra_invalid_deflate_block_type_fails_1007", run: func(t *testing.T) {
			// BFINAL 1, BTYPE 11: a reserved block type (RFC 1951, section 3.2.3).
			c := dialZ(t, noCtx)
			sendZ(c, opText, []byte{0x07, 0x00, 0x00}, "text rsv=4 with a deflate block of the reserved type 11")
			deflateFailed(t, c)
		}},
		{id: "12.5.10", name: "extra_invalid_stored_block_length_fails_1007", run: func(t *testing.T) {
			// A stored block whose NLEN is not the complement of LEN.
			c := dialZ(t, ctx)
			sendZ(c, opBinary, []byte{0x00, 0x05, 0x00, 0x00, 0x00, 'H', 'e', 'l', 'l', 'o'}, "binary rsv=4 with a stored block of LEN 5, NLEN 0")
			deflateFailed(t, c)
		}},
		{id: "12.5.11", name: "extra_deflate_distance_before_start_fails_1007", run: func(t *testing.T) {
			p := distanceBeforeStart()
			if _, err := (&clientDeflate{}).inflate(p); err == nil {
				t.Fatalf("test data: % x inflates", p)
			}
			c := dialZ(t, ctx)
			sendZ(c, opText, p, fmt.Sprintf("text rsv=4 % x: a copy from before the start of the stream", p))
			deflateFailed(t, c)
		}},
		{id: "12.5.12", name: "extra_compressed_text_invalid_utf8_fails_1007", run: func(t *testing.T) {
			c := dialZ(t, noCtx)
			bad := append(bytes.Clone(hello), 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64)
			c.send(compressed(c, opText, bad))
			c.expectFail(1007)
		}},
		{id: "12.5.13", name: "extra_compressed_text_invalid_utf8_in_fragments_fails_1007", run: func(t *testing.T) {
			c := dialZ(t, ctx)
			bad := cutText(textCorpus(), 0, 20000)
			bad[12345] = 0xff
			fs := fragments(opText, c.deflate.compress(bad), 700)
			fs[0].rsv = rsv1
			c.logf("→ 20000 bytes of text with 0xff at offset 12345, compressed, in %d frames", len(fs))
			c.sendBytes(encodeAll(fs...))
			c.expectFail(1007)
		}},
		{id: "12.5.14", name: "extra_uncompressed_messages_on_compressed_connection", run: func(t *testing.T) {
			c := dialZ(t, noCtx)
			text := cutText(textCorpus(), 500, 3000)
			echoBatch(c, []zmsg{
				{op: opText, payload: []byte("tiny"), plain: true},
				{op: opText, payload: text, plain: true},
				{op: opText, payload: text},
				{op: opBinary, payload: cutBinary(binaryCorpus(), 0, 5000), plain: true},
				{op: opText, payload: text, plain: true, frag: 1000},
				{op: opBinary, payload: nil, plain: true},
			})
			c.closeNormally()
		}},
		{id: "12.5.15", name: "extra_uncompressed_message_between_context_takeover_messages", run: func(t *testing.T) {
			// The uncompressed message is no part of the client's LZ77
			// stream: the server must not add it to its inflate window.
			c := dialZ(t, ctx)
			a, b := cutText(textCorpus(), 1000, 4000), cutText(textCorpus(), 90000, 4000)
			echoBatch(c, []zmsg{{op: opText, payload: a}, {op: opText, payload: b, plain: true}, {op: opText, payload: a}, {op: opText, payload: b}})
			c.closeNormally()
		}},
		{id: "12.5.16", name: "extra_rfc7692_section_7_2_3_examples", run: func(t *testing.T) {
			c := dialZ(t, noCtx)
			for _, ex := range rfc7692Hello {
				sendZ(c, opText, ex.payload, fmt.Sprintf("text rsv=4 % x (RFC 7692, section %s)", ex.payload, ex.section))
			}
			for _, ex := range rfc7692Hello {
				c.expectText(ex.want)
			}
			c.closeNormally()
		}},
		{id: "12.5.17", name: "extra_rfc7692_section_7_2_3_2_shared_window", run: func(t *testing.T) {
			// The second "Hello" is only a back-reference into the first.
			c := dialZ(t, ctx)
			if !c.deflate.clientContext {
				t.Fatalf("the client may not keep its context: %s", c.deflate)
			}
			sendZ(c, opText, rfc7692Hello[0].payload, "text rsv=4 f2 48 cd c9 c9 07 00 (RFC 7692, section 7.2.3.2)")
			sendZ(c, opText, []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, "text rsv=4 f2 00 11 00 00: \"Hello\" again from the shared window")
			c.expectText("Hello")
			c.expectText("Hello")
			c.closeNormally()
		}},
		{id: "12.5.18", name: "extra_ping_between_compressed_fragments", run: func(t *testing.T) {
			c := dialZ(t, ctx)
			p := cutText(textCorpus(), 3000, 10000)
			fs := fragments(opText, c.deflate.compress(p), 600)
			fs[0].rsv = rsv1
			mid := len(fs) / 2
			fs = append(fs[:mid], append([]frame{ping("between")}, fs[mid:]...)...)
			c.logf("→ 10000 bytes of text, compressed, in %d frames with a ping in the middle", len(fs)-1)
			c.sendBytes(encodeAll(fs...))
			c.expectPong("between")
			if !c.expectMessageZ(opText, p) {
				t.Errorf("the 10000-byte echo came uncompressed")
			}
			c.closeNormally()
		}},
	}
}

// deflateBomb sends 64 KiB that inflate to 64 MiB, over the server's 32 MiB
// read limit, and expects 1009.
func deflateBomb(t *testing.T, c *rawConn) {
	t.Helper()
	p := bomb()
	n, err := io.Copy(io.Discard, io.LimitReader(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateEnd))), readLimit+1))
	if n <= readLimit || err != nil {
		t.Fatalf("test data: the bomb inflates to %d bytes (%v), not past the %d-byte read limit", n, err, readLimit)
	}
	c.logf("→ binary rsv=4 of %d bytes inflating to 64 MiB", len(p))
	c.sendBytes(frame{fin: true, op: opBinary, rsv: rsv1, payload: p}.encode())
	c.expectFail(1009)
}

// deflateFailed expects the server to fail the connection over compressed
// data that does not inflate. RFC 7692 names no close code for it: wsapi
// sends 1007, as for other payload data that does not fit its message type
// (RFC 6455, section 7.4.1), and 1002 would be defensible too (noted).
func deflateFailed(t *testing.T, c *rawConn) {
	t.Helper()
	if res := c.expectClose(1007, 1002); res.code == 1002 {
		note(t, "%s: the server fails invalid compressed data with 1002", t.Name())
	}
}
