package conformance

// The raw client's side of permessage-deflate (RFC 7692): parsing and
// checking the server's Sec-WebSocket-Extensions answer, compressing client
// messages and inflating server messages, with or without context takeover.
// Built on compress/flate; the frames themselves are still encoded by
// rawclient_test.go.

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
)

const (
	pmdName   = "permessage-deflate"
	lz77Win   = 32 << 10 // the largest LZ77 window, 2^15 bytes
	maxInflat = 64 << 20 // the most this client inflates from one server message
)

// deflateTail is removed from the end of every compressed message on the
// wire and appended again to inflate it (RFC 7692, section 7.2.1);
// deflateEnd also ends the stream, so that the reader stops with io.EOF.
var (
	deflateTail = []byte{0x00, 0x00, 0xff, 0xff}
	deflateEnd  = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}
)

func modeName(mode wsapi.CompressionMode) string {
	switch mode {
	case wsapi.CompressionDisabled:
		return "no compression"
	case wsapi.CompressionNoContextTakeover:
		return "CompressionNoContextTakeover"
	case wsapi.CompressionContextTakeover:
		return "CompressionContextTakeover"
	}
	return fmt.Sprintf("CompressionMode(%d)", int(mode))
}

// clientDeflate is one connection's negotiated compression, client side.
type clientDeflate struct {
	// clientContext: this client keeps its LZ77 window between messages (the
	// answer lacks client_no_context_takeover and the offer had no such hint).
	clientContext bool
	// serverContext: the server may keep its window (the answer lacks
	// server_no_context_takeover), so this client keeps the last 32 KiB it
	// inflated as the dictionary for the next message. Without it, the
	// dictionary is dropped, so a server that claims no context takeover
	// but back-references an earlier message is caught.
	serverContext bool
	// canCompress is false when the server limited the client's window below
	// 2^15 (client_max_window_bits), which compress/flate cannot honour: the
	// client then sends every message uncompressed, as RFC 7692 allows.
	canCompress bool
	level       int

	w    *flate.Writer
	sink bytes.Buffer
	dict []byte
}

func (d *clientDeflate) String() string {
	return fmt.Sprintf("client context takeover %v, server context takeover %v, client compresses %v",
		d.clientContext, d.serverContext, d.canCompress)
}

// compress deflates one message, flushed and without the trailing
// 0x00 0x00 0xff 0xff. With clientContext, every message goes through the
// same compressor, so later messages back-reference earlier ones.
func (d *clientDeflate) compress(p []byte) []byte {
	switch {
	case d.w == nil:
		d.w, _ = flate.NewWriter(&d.sink, d.level)
	case !d.clientContext:
		d.w.Reset(&d.sink)
	}
	d.sink.Reset()
	d.w.Write(p)
	d.w.Flush()
	out := d.sink.Bytes()
	if !bytes.HasSuffix(out, deflateTail) {
		panic("compress/flate: a flush did not end with 0x00 0x00 0xff 0xff")
	}
	return bytes.Clone(out[:len(out)-len(deflateTail)])
}

// inflate decompresses one server message (RFC 7692, section 7.2.2).
func (d *clientDeflate) inflate(p []byte) ([]byte, error) {
	var dict []byte
	if d.serverContext {
		dict = d.dict
	}
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateEnd)), dict)
	out, err := io.ReadAll(io.LimitReader(r, maxInflat+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxInflat {
		return nil, fmt.Errorf("inflates past %d bytes", maxInflat)
	}
	if d.serverContext {
		h := append(d.dict, out...)
		d.dict = bytes.Clone(h[max(0, len(h)-lz77Win):])
	}
	return out, nil
}

// Sec-WebSocket-Extensions parsing (RFC 6455, section 9.1).

type extParam struct {
	name, value string
	hasValue    bool
}

type extension struct {
	name   string
	params []extParam
}

func (e extension) String() string {
	var b strings.Builder
	b.WriteString(e.name)
	for _, p := range e.params {
		b.WriteString("; " + p.name)
		if p.hasValue {
			b.WriteString("=" + p.value)
		}
	}
	return b.String()
}

func isTokenChar(c byte) bool {
	return c > 0x20 && c < 0x7f && !strings.ContainsRune("()<>@,;:\\\"/[]?={}", rune(c))
}

// parseExtensions parses Sec-WebSocket-Extensions header lines: a list of
// extension = token *( ";" param ), param = token [ "=" (token | quoted-string) ].
func parseExtensions(lines []string) ([]extension, error) {
	var out []extension
	for _, line := range lines {
		s, i := line, 0
		ows := func() {
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
		}
		token := func() (string, error) {
			j := i
			for i < len(s) && isTokenChar(s[i]) {
				i++
			}
			if i == j {
				return "", fmt.Errorf("expected a token at offset %d of %q", j, s)
			}
			return s[j:i], nil
		}
		for {
			ows()
			if i == len(s) {
				break
			}
			if s[i] == ',' { // empty list elements are allowed (RFC 7230, section 7)
				i++
				continue
			}
			name, err := token()
			if err != nil {
				return nil, err
			}
			e := extension{name: name}
			for {
				ows()
				if i == len(s) || s[i] == ',' {
					break
				}
				if s[i] != ';' {
					return nil, fmt.Errorf("unexpected %q at offset %d of %q", s[i], i, s)
				}
				i++
				ows()
				var p extParam
				if p.name, err = token(); err != nil {
					return nil, err
				}
				ows()
				if i < len(s) && s[i] == '=' {
					i++
					ows()
					p.hasValue = true
					if i < len(s) && s[i] == '"' {
						i++
						var v strings.Builder
						for ; i < len(s) && s[i] != '"'; i++ {
							if s[i] == '\\' && i+1 < len(s) {
								i++
							}
							v.WriteByte(s[i])
						}
						if i == len(s) {
							return nil, fmt.Errorf("unterminated quoted string in %q", s)
						}
						i++
						p.value = v.String()
					} else if p.value, err = token(); err != nil {
						return nil, err
					}
				}
				e.params = append(e.params, p)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// pmdParams are the parameters of one permessage-deflate offer or answer
// (RFC 7692, section 7.1).
type pmdParams struct {
	serverNoContext bool
	clientNoContext bool
	serverBits      int // server_max_window_bits; 0: absent
	clientBits      int // client_max_window_bits; 0: absent, -1: present without a value (offers only)
}

func (p pmdParams) String() string {
	var b strings.Builder
	b.WriteString(pmdName)
	if p.serverNoContext {
		b.WriteString("; server_no_context_takeover")
	}
	if p.clientNoContext {
		b.WriteString("; client_no_context_takeover")
	}
	if p.serverBits != 0 {
		fmt.Fprintf(&b, "; server_max_window_bits=%d", p.serverBits)
	}
	switch p.clientBits {
	case 0:
	case -1:
		b.WriteString("; client_max_window_bits")
	default:
		fmt.Fprintf(&b, "; client_max_window_bits=%d", p.clientBits)
	}
	return b.String()
}

// windowBits parses a window-bits value: a decimal integer from 8 to 15
// without leading zeros.
func windowBits(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 8 || n > 15 || strconv.Itoa(n) != v {
		return 0, false
	}
	return n, true
}

// parsePMD checks one permessage-deflate element, an offer or an answer,
// against RFC 7692, section 7.1: only its four parameters, each at most
// once, the no-context-takeover ones without a value, window bits from 8
// to 15; client_max_window_bits may lack its value in an offer only.
func parsePMD(e extension, answer bool) (pmdParams, error) {
	var p pmdParams
	if e.name != pmdName {
		return p, fmt.Errorf("extension %q is not %s", e.name, pmdName)
	}
	seen := map[string]bool{}
	for _, x := range e.params {
		if seen[x.name] {
			return p, fmt.Errorf("parameter %s appears twice (RFC 7692, section 7)", x.name)
		}
		seen[x.name] = true
		switch x.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if x.hasValue {
				return p, fmt.Errorf("parameter %s has a value, %q; it takes none (sections 7.1.1.1, 7.1.1.2)", x.name, x.value)
			}
			if x.name == "server_no_context_takeover" {
				p.serverNoContext = true
			} else {
				p.clientNoContext = true
			}
		case "server_max_window_bits":
			n, ok := windowBits(x.value)
			if !x.hasValue || !ok {
				return p, fmt.Errorf("server_max_window_bits needs a value from 8 to 15, got %q (section 7.1.2.1)", x.value)
			}
			p.serverBits = n
		case "client_max_window_bits":
			if !x.hasValue && !answer {
				p.clientBits = -1
				continue
			}
			n, ok := windowBits(x.value)
			if !x.hasValue || !ok {
				return p, fmt.Errorf("client_max_window_bits needs a value from 8 to 15 here, got %q (section 7.1.2.2)", x.value)
			}
			p.clientBits = n
		default:
			return p, fmt.Errorf("unknown parameter %q (section 7)", x.name)
		}
	}
	return p, nil
}

// answers reports why a is not a valid answer to the offer o, or nil when
// it is one (RFC 7692, sections 7.1.1 and 7.1.2).
func answers(o, a pmdParams) error {
	switch {
	case o.serverNoContext && !a.serverNoContext:
		return errors.New("the offer has server_no_context_takeover, which the answer must include to accept it (section 7.1.1.1)")
	case o.serverBits != 0 && a.serverBits == 0:
		return fmt.Errorf("the offer has server_max_window_bits=%d, which the answer must include to accept it (section 7.1.2.1)", o.serverBits)
	case o.serverBits != 0 && a.serverBits > o.serverBits:
		return fmt.Errorf("the answer's server_max_window_bits=%d is larger than the offer's %d (section 7.1.2.1)", a.serverBits, o.serverBits)
	case a.clientBits != 0 && o.clientBits == 0:
		return errors.New("the answer has client_max_window_bits, which the offer lacks (section 7.1.2.2)")
	case a.clientBits != 0 && o.clientBits > 0 && a.clientBits > o.clientBits:
		return fmt.Errorf("the answer's client_max_window_bits=%d is larger than the offer's %d (section 7.1.2.2)", a.clientBits, o.clientBits)
	}
	return nil
}

// negotiation is what a case expects of the server's answer.
type negotiation int

const (
	wantAccept  negotiation = iota + 1 // the server accepts one of the offers
	wantDecline                        // no acceptable offer: the server answers no extension
	wantEither                         // RFC 7692 lets the server do either
)

// dialDeflate connects to the echo server of the given compression mode,
// offering the extensions lines, checks the answer against the offers
// (RFC 7692) and what this case expects of wsapi, and sets up c.deflate
// when the extension was agreed.
func dialDeflate(t *testing.T, mode wsapi.CompressionMode, want negotiation, offers ...string) *rawConn {
	t.Helper()
	c := dialTo(t, dialOptions{addr: deflateAddr[mode], extensions: offers})
	c.timeout = 30 * time.Second // compressing under -race, with many cases at once, is slow
	lines := c.resp.Values("Sec-WebSocket-Extensions")
	answer, err := parseExtensions(lines)
	if err != nil {
		t.Fatalf("server's Sec-WebSocket-Extensions answer %q is malformed: %v", lines, err)
	}
	if len(answer) == 0 {
		c.logf("  the server declined every offer: no compression")
		if want == wantAccept {
			t.Fatalf("the %s server declined %q, which it supports", modeName(mode), offers)
		}
		return c
	}
	if want == wantDecline {
		t.Fatalf("the server accepted %q with %q; the offer must be declined", offers, lines)
	}
	if len(answer) > 1 {
		t.Fatalf("the server answered %d extensions, %q; it can accept at most one permessage-deflate offer and nothing else was offered", len(answer), lines)
	}
	a, err := parsePMD(answer[0], true)
	if err != nil {
		t.Fatalf("the server's answer %q is not a valid %s answer: %v", lines, pmdName, err)
	}
	// The answer must accept one of the valid permessage-deflate offers.
	elems, err := parseExtensions(offers)
	if err != nil {
		t.Fatalf("the case's own offer %q does not parse: %v", offers, err)
	}
	var matched *pmdParams
	var why []string
	for _, e := range elems {
		o, err := parsePMD(e, false)
		if err != nil {
			why = append(why, fmt.Sprintf("%q is not acceptable: %v", e, err))
			continue
		}
		if err := answers(o, a); err != nil {
			why = append(why, fmt.Sprintf("not an answer to %q: %v", e, err))
			continue
		}
		matched = &o
		break
	}
	if matched == nil {
		t.Fatalf("the server's answer %q accepts none of the offers: %s", lines, strings.Join(why, "; "))
	}
	// What wsapi documents for each mode (options.go, CompressionMode).
	switch mode {
	case wsapi.CompressionNoContextTakeover:
		if !a.serverNoContext || !a.clientNoContext {
			t.Errorf("the CompressionNoContextTakeover server answered %q: it should ask for no context takeover on both sides", lines)
		}
	case wsapi.CompressionContextTakeover:
		if a.serverNoContext != matched.serverNoContext {
			t.Errorf("the CompressionContextTakeover server answered %q to %q: it should keep its window unless the offer asks it not to", lines, matched)
		}
	}
	c.deflate = &clientDeflate{
		clientContext: !a.clientNoContext && !matched.clientNoContext,
		serverContext: !a.serverNoContext,
		canCompress:   a.clientBits == 0 || a.clientBits == 15,
		level:         flate.BestSpeed,
	}
	c.logf("  agreed %s (answering %s): %s", a, matched, c.deflate)
	return c
}

// zmsg is a data message for a compressed connection.
type zmsg struct {
	op      byte
	payload []byte
	plain   bool // sent uncompressed even when the client could compress it
	frag    int  // the wire payload in frames of at most frag bytes; 0: one frame
}

// encodeMessages compresses (when compression was agreed) and frames msgs,
// RSV1 on the first frame of each compressed message only, and returns the
// wire bytes and the wire payload size of each message.
func (c *rawConn) encodeMessages(msgs []zmsg) ([]byte, []int) {
	var b []byte
	sizes := make([]int, len(msgs))
	for i, m := range msgs {
		data, rsv, how := m.payload, byte(0), "uncompressed"
		if d := c.deflate; d != nil && d.canCompress && !m.plain {
			data, rsv = d.compress(m.payload), rsv1
			how = fmt.Sprintf("compressed to %d", len(data))
		}
		sizes[i] = len(data)
		fs := []frame{{fin: true, op: m.op, payload: data}}
		if m.frag > 0 {
			fs = fragments(m.op, data, m.frag)
		}
		fs[0].rsv = rsv
		for _, f := range fs {
			b = f.appendTo(b)
		}
		c.logf("→ %s message of %d bytes %s, in %d frame(s): %s", opName(m.op), len(m.payload), how, len(fs), preview(m.payload))
	}
	return b, sizes
}

// sendAsync writes b from another goroutine, so that the server's echoes
// can be read meanwhile, and returns a function that waits for the write.
func (c *rawConn) sendAsync(b []byte) (wait func()) {
	done := make(chan error, 1)
	go func() {
		c.nc.SetWriteDeadline(time.Now().Add(writeTimeout + c.timeout))
		_, err := c.nc.Write(b)
		done <- err
	}()
	return func() {
		if err := <-done; err != nil {
			c.logf("→ write of %d bytes failed: %v", len(b), err)
			if c.writeErr == nil {
				c.writeErr = err
			}
		}
	}
}

// echoBatch sends msgs back to back without waiting, then reads the echoes
// in order: each must be byte-exact with the right opcode, and, when
// compression was agreed, come compressed if it is 128 bytes or more (wsapi
// sends smaller messages uncompressed, as RFC 7692 allows). It returns the
// wire payload size of each message sent.
func echoBatch(c *rawConn, msgs []zmsg) []int {
	c.t.Helper()
	b, sizes := c.encodeMessages(msgs)
	wait := c.sendAsync(b)
	for i, m := range msgs {
		z := c.expectMessageZ(m.op, m.payload)
		if c.deflate != nil && len(m.payload) >= 128 && !z {
			c.errorf("the echo of message %d (%d bytes) came uncompressed: wsapi compresses every message of 128 bytes or more", i+1, len(m.payload))
		}
	}
	wait()
	return sizes
}
