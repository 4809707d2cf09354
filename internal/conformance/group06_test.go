package conformance

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// utf8Vector is one UTF-8 test string, after Markus Kuhn's UTF-8 decoder
// stress test as Autobahn's 6.5-6.23 use it.
type utf8Vector struct {
	data  string
	valid bool
}

// utf8Vectors holds the vector groups, numbered as Autobahn numbers its
// groups 6.5 to 6.23.
var utf8Vectors = []struct {
	sub     int
	title   string
	vectors []utf8Vector
}{
	{5, "valid_sequences", []utf8Vector{
		{"κόσμε", true}, {"𝄞", true}, {"😀 emoji", true}, {"a𝄞b😀c", true}, {"日本語テキスト", true},
	}},
	{7, "first_possible_sequence_of_each_length", []utf8Vector{
		{"\x00", true}, {"\xc2\x80", true}, {"\xe0\xa0\x80", true}, {"\xf0\x90\x80\x80", true},
	}},
	{8, "first_impossible_5_and_6_byte_sequences", []utf8Vector{
		{"\xf8\x88\x80\x80\x80", false}, {"\xfc\x84\x80\x80\x80\x80", false},
	}},
	{9, "last_possible_sequence_of_each_length", []utf8Vector{
		{"\x7f", true}, {"\xdf\xbf", true}, {"\xef\xbf\xbf", true}, {"\xf4\x8f\xbf\xbf", true},
	}},
	{10, "last_impossible_sequences_over_U+10FFFF", []utf8Vector{
		{"\xf7\xbf\xbf\xbf", false}, {"\xfb\xbf\xbf\xbf\xbf", false}, {"\xfd\xbf\xbf\xbf\xbf\xbf", false},
		{"\xf4\x90\x80\x80", false}, {"\xf5\x80\x80\x80", false},
	}},
	{11, "other_boundaries", []utf8Vector{
		{"\xed\x9f\xbf", true}, {"\xee\x80\x80", true}, {"\xef\xbf\xbd", true}, {"\xf4\x8f\xbf\xbf", true}, {"\xf4\x90\x80\x80", false},
	}},
	{12, "unexpected_continuation_bytes", []utf8Vector{
		{"\x80", false}, {"\xbf", false}, {"\x80\xbf", false}, {"\x80\xbf\x80", false}, {"a\x80b", false}, {"κόσμε\xbf", false},
	}},
	{13, "lonely_start_characters", []utf8Vector{
		{"\xc0 ", false}, {"\xc2 ", false}, {"\xe0 ", false}, {"\xf0 ", false}, {"\xf8 ", false}, {"\xfc ", false},
	}},
	{14, "truncated_sequences_at_the_end", []utf8Vector{
		{"\xc2", false}, {"\xe0\xa0", false}, {"\xf0\x90\x80", false}, {"\xdf", false}, {"\xef\xbf", false}, {"\xf4\x8f\xbf", false},
		{"κόσμ\xce", false},
	}},
	{15, "concatenated_truncated_sequences", []utf8Vector{
		{"\xc2\xe0\xa0\xf0\x90\x80", false}, {"\xe0\xa0a", false}, {"\xf0\x90\x80a", false},
	}},
	{16, "impossible_bytes", []utf8Vector{
		{"\xfe", false}, {"\xff", false}, {"\xfe\xfe\xff\xff", false}, {"\xc0", false}, {"\xc1", false},
	}},
	{17, "overlong_ascii_slash", []utf8Vector{
		{"\xc0\xaf", false}, {"\xe0\x80\xaf", false}, {"\xf0\x80\x80\xaf", false}, {"\xf8\x80\x80\x80\xaf", false},
		{"\xfc\x80\x80\x80\x80\xaf", false},
	}},
	{18, "maximum_overlong_sequences", []utf8Vector{
		{"\xc1\xbf", false}, {"\xe0\x9f\xbf", false}, {"\xf0\x8f\xbf\xbf", false},
	}},
	{19, "overlong_nul", []utf8Vector{
		{"\xc0\x80", false}, {"\xe0\x80\x80", false}, {"\xf0\x80\x80\x80", false},
	}},
	{20, "single_surrogates", []utf8Vector{
		{"\xed\xa0\x80", false}, {"\xed\xad\xbf", false}, {"\xed\xae\x80", false}, {"\xed\xaf\xbf", false},
		{"\xed\xb0\x80", false}, {"\xed\xbe\x80", false}, {"\xed\xbf\xbf", false},
	}},
	{21, "paired_surrogates", []utf8Vector{
		{"\xed\xa0\x80\xed\xb0\x80", false}, {"\xed\xaf\xbf\xed\xbf\xbf", false}, {"\xed\xa0\x80\xed\xbf\xbf", false},
	}},
	{22, "noncharacters_are_valid", []utf8Vector{
		{"\xef\xbf\xbe", true}, {"\xef\xbf\xbf", true}, {"\xef\xb7\x90", true}, {"\xf0\x9f\xbf\xbe", true}, {"\xf4\x8f\xbf\xbe", true},
	}},
	{23, "misc", []utf8Vector{
		{"\xef\xbf\xbd", true}, {"a\x00b", true}, {"a\xed\xa0\x80b", false}, {"Hello\xf4\x90\x80\x80World", false},
	}},
}

// checkVector sends s three ways, each on a connection of its own: in one
// frame, in one frame written octet by octet, and as a message of one-byte
// fragments. Valid text must be echoed; invalid text fails with 1007.
func checkVector(t *testing.T, s string, valid bool) {
	ways := []struct {
		name string
		send func(c *rawConn)
	}{
		{"one_frame", func(c *rawConn) { c.send(txt(s)) }},
		{"one_frame_octet_chops", func(c *rawConn) { c.sendChopped(1, 50*time.Microsecond, txt(s)) }},
		{"one_byte_fragments", func(c *rawConn) { c.send(fragments(opText, []byte(s), 1)...) }},
	}
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			c := dial(t)
			w.send(c)
			if valid {
				c.expectText(s)
				c.closeNormally()
			} else {
				c.expectFail(1007)
			}
		})
	}
}

// Group 6: UTF-8 handling (RFC 6455, sections 5.6 and 8.1). Valid text is
// echoed; invalid text fails the connection with 1007, as soon as the bytes
// received prove it invalid ("fail fast", Autobahn 6.4.x).
func groupUTF8() *group {
	g := &group{id: "6", title: "UTF-8 handling"}
	hello := "Hello-µ@ßöäüàá-UTF-8!!"
	bad := "κόσμε\xed\xa0\x80edited" // a surrogate in the middle
	g.cases = []testCase{
		{id: "6.1.1", name: "empty_text_frame", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt(""))
			c.expectText("")
			c.closeNormally()
		}},
		{id: "6.1.2", name: "three_empty_fragments", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, nil), fr(false, opCont, nil), fr(true, opCont, nil))
			c.expectText("")
			c.closeNormally()
		}},
		{id: "6.1.3", name: "empty_middle_empty_fragments", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, nil), fr(false, opCont, []byte("middle")), fr(true, opCont, nil))
			c.expectText("middle")
			c.closeNormally()
		}},
		{id: "6.2.1", name: "valid_one_frame", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt(hello))
			c.expectText(hello)
			c.closeNormally()
		}},
		{id: "6.2.2", name: "valid_fragmented_on_code_points", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("Hello-µ@ßöä")), fr(true, opCont, []byte("üàá-UTF-8!!")))
			c.expectText(hello)
			c.closeNormally()
		}},
		{id: "6.2.3", name: "valid_fragmented_per_octet", run: func(t *testing.T) {
			c := dial(t)
			c.send(fragments(opText, []byte(hello), 1)...)
			c.expectText(hello)
			c.closeNormally()
		}},
		{id: "6.2.4", name: "valid_kosme_fragmented_per_octet", run: func(t *testing.T) {
			c := dial(t)
			c.send(fragments(opText, []byte("κόσμε"), 1)...)
			c.expectText("κόσμε")
			c.closeNormally()
		}},
		{id: "6.3.1", name: "invalid_one_frame_fails_1007", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt(bad))
			c.expectFail(1007)
		}},
		{id: "6.3.2", name: "invalid_fragmented_per_octet_fails_1007", run: func(t *testing.T) {
			c := dial(t)
			c.send(fragments(opText, []byte(bad), 1)...)
			c.expectFail(1007)
		}},
	}

	// 6.4.x: fail fast. The invalid bytes are sent after a pause, and the
	// rest of the message is never sent: a server that waits for the end of
	// the frame or message before validating times out here.
	const part1, part2 = "κόσμε", "\xf4\x90\x80\x80" // U+110000: invalid at its second byte
	g.cases = append(g.cases,
		testCase{id: "6.4.1", name: "fail_fast_3_fragments_invalid_2nd", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte(part1)))
			c.expectQuiet(quietPeriod)
			c.send(fr(false, opCont, []byte(part2)))
			c.expectFail(1007) // fragment 3 ("edited", FIN) is never sent
		}},
		testCase{id: "6.4.2", name: "fail_fast_fragments_split_inside_code_point", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte(part1+"\xf4")))
			c.expectQuiet(quietPeriod)
			c.send(fr(false, opCont, []byte("\x90")))
			c.expectFail(1007)
		}},
		testCase{id: "6.4.3", name: "fail_fast_one_frame_in_chops", run: func(t *testing.T) {
			c := dial(t)
			full := txt(part1 + part2 + "edited").encode()
			hdr := len(full) - len(part1+part2+"edited")
			c.logf("→ text len=%d, first %d payload bytes (valid)", len(part1+part2+"edited"), len(part1))
			c.sendBytes(full[:hdr+len(part1)])
			c.expectQuiet(quietPeriod)
			c.logf("→ next %d payload bytes (invalid)", len(part2))
			c.sendBytes(full[hdr+len(part1) : hdr+len(part1)+len(part2)])
			c.expectFail(1007) // the rest of the frame is never sent
		}},
		testCase{id: "6.4.4", name: "fail_fast_one_frame_chops_split_inside_code_point", run: func(t *testing.T) {
			c := dial(t)
			full := txt(part1 + part2 + "edited").encode()
			hdr := len(full) - len(part1+part2+"edited")
			c.logf("→ text len=%d, first %d payload bytes (valid so far)", len(part1+part2+"edited"), len(part1)+1)
			c.sendBytes(full[:hdr+len(part1)+1])
			c.expectQuiet(quietPeriod)
			c.logf("→ next payload byte (makes it invalid)")
			c.sendBytes(full[hdr+len(part1)+1 : hdr+len(part1)+2])
			c.expectFail(1007)
		}},
		testCase{id: "6.4.5", name: "extra_fail_fast_invalid_prefix_of_64KiB_frame", run: func(t *testing.T) {
			c := dial(t)
			p := append([]byte("\xc0\xaf"), textOf(65534)...)
			full := fr(true, opText, p).encode()
			hdr := len(full) - len(p)
			c.logf("→ text len=65536, only its first 2 payload bytes (overlong, invalid)")
			c.sendBytes(full[:hdr+2])
			c.expectFail(1007)
		}},
		testCase{id: "6.4.6", name: "extra_fail_fast_surrogate_prefix_of_frame", run: func(t *testing.T) {
			c := dial(t)
			p := append([]byte("ab\xed\xa0"), textOf(96)...)
			full := fr(true, opText, p).encode()
			hdr := len(full) - len(p)
			c.logf("→ text len=100, only its first 4 payload bytes (a surrogate's prefix)")
			c.sendBytes(full[:hdr+4])
			c.expectFail(1007)
		}},
		testCase{id: "6.4.7", name: "extra_fail_fast_invalid_prefix_of_2nd_fragment", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("valid start")))
			p := append([]byte("\xff"), textOf(999)...)
			full := fr(false, opCont, p).encode()
			hdr := len(full) - len(p)
			c.logf("→ continuation len=1000, only its first payload byte (0xff)")
			c.sendBytes(full[:hdr+1])
			c.expectFail(1007)
		}},
		testCase{id: "6.4.8", name: "extra_fail_fast_lone_continuation_after_valid_5KiB", run: func(t *testing.T) {
			// The valid part is larger than a 4 KiB read buffer.
			c := dial(t)
			p := append(utf8Of(5000), "\x80"...)
			p = append(p, textOf(5000)...)
			full := fr(true, opText, p).encode()
			hdr := len(full) - len(p)
			c.logf("→ text len=%d, first 5001 payload bytes (the last one a lone continuation byte)", len(p))
			c.sendBytes(full[:hdr+5001])
			c.expectFail(1007)
		}},
	)

	// 6.6.x: a valid text split into two fragments at every offset.
	g.cases = append(g.cases, testCase{id: "6.6.1", name: "valid_split_at_every_offset", run: func(t *testing.T) {
		c := dial(t)
		s := "κόσμε𝄞😀ü"
		for i := 0; i <= len(s); i++ {
			c.send(fr(false, opText, []byte(s[:i])), fr(true, opCont, []byte(s[i:])))
			c.expectText(s)
		}
		c.closeNormally()
	}})

	for _, vg := range utf8Vectors {
		for i, v := range vg.vectors {
			verdict := "invalid_fails_1007"
			if v.valid {
				verdict = "valid_echoed"
			}
			g.cases = append(g.cases, testCase{
				id:   fmt.Sprintf("6.%d.%d", vg.sub, i+1),
				name: fmt.Sprintf("%s_%x_%s", vg.title, v.data, verdict),
				run:  func(t *testing.T) { checkVector(t, v.data, v.valid) },
			})
		}
	}

	// 6.24.x (extra): sequences split across fragments and large frames.
	splitFail := func(a, b string) func(t *testing.T) {
		return func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte(a)), fr(true, opCont, []byte(b)))
			c.expectFail(1007)
		}
	}
	big := func(p []byte, valid bool) func(t *testing.T) {
		return func(t *testing.T) {
			c := dial(t)
			c.send(fr(true, opText, p))
			if valid {
				c.expectMessage(opText, p)
				c.closeNormally()
			} else {
				c.expectFail(1007)
			}
		}
	}
	invalidAt := func(size, at int, bad string) []byte {
		p := textOf(size)
		copy(p[at:], bad)
		return p
	}
	g.cases = append(g.cases,
		testCase{id: "6.24.1", name: "extra_surrogate_split_after_lead_byte", run: splitFail("ab\xed", "\xa0\x80cd")},
		testCase{id: "6.24.2", name: "extra_surrogate_split_before_last_byte", run: splitFail("ab\xed\xa0", "\x80cd")},
		testCase{id: "6.24.3", name: "extra_over_U+10FFFF_split_after_lead", run: splitFail("ab\xf4", "\x90\x80\x80cd")},
		testCase{id: "6.24.4", name: "extra_over_U+10FFFF_split_after_2_bytes", run: splitFail("ab\xf4\x90", "\x80\x80cd")},
		testCase{id: "6.24.5", name: "extra_overlong_split", run: splitFail("ab\xe0", "\x80\xafcd")},
		testCase{id: "6.24.6", name: "extra_truncated_sequence_ends_message", run: splitFail("ab", "cd\xe0\xa0")},
		testCase{id: "6.24.7", name: "extra_4_byte_sequence_interrupted_by_ascii", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("\xf0")), fr(false, opCont, []byte("\x90\x80")), fr(true, opCont, []byte("A")))
			c.expectFail(1007)
		}},
		testCase{id: "6.24.8", name: "extra_4_byte_sequence_over_3_fragments_valid", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("\xf0")), fr(false, opCont, []byte("\x90\x80")), fr(true, opCont, []byte("\x80")))
			c.expectText("\xf0\x90\x80\x80")
			c.closeNormally()
		}},
		testCase{id: "6.24.9", name: "extra_code_point_split_around_a_ping", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("x\xf0\x9f")), ping("mid"), fr(true, opCont, []byte("\x98\x80y")))
			c.expectPong("mid")
			c.expectText("x😀y")
			c.closeNormally()
		}},
		testCase{id: "6.24.10", name: "extra_invalid_utf8_in_binary_is_echoed", run: func(t *testing.T) {
			c := dial(t)
			p := []byte("\xed\xa0\x80\xc0\xaf\xff")
			c.send(bin(p), fr(false, opBinary, p[:1]), fr(true, opCont, p[1:]))
			c.expectBinary(p)
			c.expectBinary(p)
			c.closeNormally()
		}},
		testCase{id: "6.24.11", name: "extra_invalid_at_40000_of_64KiB_frame", run: big(invalidAt(65536, 40000, "\xed\xa0\x80"), false)},
		testCase{id: "6.24.12", name: "extra_truncated_at_end_of_64KiB_frame", run: big(invalidAt(65536, 65534, "\xe0\xa0"), false)},
		testCase{id: "6.24.13", name: "extra_truncated_at_end_of_100_byte_frame", run: big(invalidAt(100, 98, "\xe0\xa0"), false)},
		testCase{id: "6.24.14", name: "extra_valid_multibyte_64KiB_frame", run: big(utf8Of(65536), true)},
		testCase{id: "6.24.15", name: "extra_valid_multibyte_64KiB_in_chops", run: func(t *testing.T) {
			c := dial(t)
			p := utf8Of(65536)
			c.sendChopped(1001, 200*time.Microsecond, fr(true, opText, p)) // chops split sequences
			c.expectMessage(opText, p)
			c.closeNormally()
		}},
		testCase{id: "6.24.16", name: "extra_valid_text_with_every_split_of_4_byte_sequence_across_fragments", run: func(t *testing.T) {
			c := dial(t)
			s := strings.Repeat("𝄞", 3)
			for i := 1; i < len(s); i++ {
				for j := i + 1; j < len(s); j++ {
					c.send(fr(false, opText, []byte(s[:i])), fr(false, opCont, []byte(s[i:j])), fr(true, opCont, []byte(s[j:])))
				}
			}
			for i := 1; i < len(s); i++ {
				for j := i + 1; j < len(s); j++ {
					c.expectText(s)
				}
			}
			c.closeNormally()
		}},
	)
	g.cases = append(g.cases,
		testCase{id: "6.25.1", name: "extra_random_texts_in_random_fragments", run: func(t *testing.T) { randomUTF8(t, 1, true) }},
		testCase{id: "6.25.2", name: "extra_random_texts_in_one_frame_random_chops", run: func(t *testing.T) { randomUTF8(t, 2, false) }},
	)
	return g
}

// randomUTF8 sends 200 pseudo-random texts, a mix of valid and invalid
// UTF-8 (bad sequences, truncations), either as messages cut into random
// fragments or as single frames written in random chops, and checks the
// server's verdict against unicode/utf8: valid texts are echoed on a shared
// connection, each invalid one fails its connection with 1007.
func randomUTF8(t *testing.T, seed uint64, fragmented bool) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	good := []string{"a", "Z", " ", "\x00", "µ", "ß", "κ", "€", "日", "𝄞", "😀", "\U0010FFFF", "\uFFFD", "\u0800", "\uD7FF", "\uE000", "\u07FF", "\u0080"}
	bad := []string{"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xfe", "\xff", "\xc2", "\xe0\xa0", "\xf0\x90\x80"}
	var c *rawConn
	for i := range 200 {
		var b strings.Builder
		for range 1 + rng.IntN(24) {
			b.WriteString(good[rng.IntN(len(good))])
		}
		s := b.String()
		switch rng.IntN(4) {
		case 0: // a bad sequence somewhere
			at := rng.IntN(len(s) + 1)
			s = s[:at] + bad[rng.IntN(len(bad))] + s[at:]
		case 1: // cut at a random byte, maybe inside a sequence
			s = s[:rng.IntN(len(s)+1)]
		}
		valid := utf8.ValidString(s)
		if c == nil {
			c = dial(t)
		}
		c.logf("message %d: %q (valid: %v)", i, s, valid)
		if fragmented {
			var fs []frame
			rest := []byte(s)
			for first := true; first || len(rest) > 0; first = false {
				n := min(len(rest), rng.IntN(6))
				op := opCont
				if first {
					op = opText
				}
				fs = append(fs, fr(false, op, rest[:n]))
				rest = rest[n:]
			}
			fs[len(fs)-1].fin = true
			c.send(fs...)
		} else {
			c.sendChopped(1+rng.IntN(8), 0, txt(s))
		}
		if valid {
			c.expectText(s)
			continue
		}
		c.expectFail(1007)
		if t.Failed() {
			return
		}
		c = nil
	}
	if c != nil {
		c.closeNormally()
	}
}
