package frame

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// clientHeader encodes a masked client frame header with gobwas, the
// second implementation the parser is checked against.
func clientHeader(fin bool, rsv byte, op ws.OpCode, length int64, mask [4]byte) []byte {
	var buf bytes.Buffer
	ws.WriteHeader(&buf, ws.Header{Fin: fin, Rsv: rsv, OpCode: op, Length: length, Masked: true, Mask: mask})
	return buf.Bytes()
}

func TestParseHeader(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	tests := []struct {
		name string
		in   []byte
		want Header
		n    int
	}{
		{"short text", clientHeader(true, 0, ws.OpText, 5, mask), Header{Fin: true, Op: ws.OpText, Masked: true, Length: 5, Mask: mask}, 6},
		{"16-bit length", clientHeader(true, 0, ws.OpBinary, 300, mask), Header{Fin: true, Op: ws.OpBinary, Masked: true, Length: 300, Mask: mask}, 8},
		{"64-bit length", clientHeader(false, 0, ws.OpBinary, 1<<40, mask), Header{Op: ws.OpBinary, Masked: true, Length: 1 << 40, Mask: mask}, 14},
		{"rsv1 continuation", clientHeader(false, 4, ws.OpContinuation, 0, mask), Header{Rsv: 4, Op: ws.OpContinuation, Masked: true, Mask: mask}, 6},
		{"unmasked", []byte{0x81, 0x03}, Header{Fin: true, Op: ws.OpText, Length: 3}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, ok, err := ParseHeader(tt.in)
			if err != nil || !ok || n != tt.n || h != tt.want {
				t.Fatalf("got %+v n=%d ok=%v err=%v, want %+v n=%d", h, n, ok, err, tt.want, tt.n)
			}
			// Every prefix is "not yet", with the full size known from two bytes on.
			for i := range len(tt.in) {
				_, n, ok, err := ParseHeader(tt.in[:i])
				if ok || err != nil || i >= 2 && n != tt.n {
					t.Fatalf("prefix of %d bytes: n=%d ok=%v err=%v", i, n, ok, err)
				}
			}
		})
	}
}

func TestParseHeaderMostSignificantBit(t *testing.T) {
	in := []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1} // no mask yet
	_, _, ok, err := ParseHeader(in)
	var fe *Error
	if ok || !errors.As(err, &fe) || fe.Code != CodeProtocolError {
		t.Fatalf("ok=%v err=%v, want a 1002 as soon as the length is there", ok, err)
	}
}

func TestCheckClient(t *testing.T) {
	base := Header{Fin: true, Op: ws.OpText, Masked: true, Length: 5}
	with := func(f func(*Header)) Header { h := base; f(&h); return h }
	tests := []struct {
		name                   string
		h                      Header
		compression, inMessage bool
		reason                 string // "" for a valid frame
	}{
		{"text", base, false, false, ""},
		{"compressed text", with(func(h *Header) { h.Rsv = 4 }), true, false, ""},
		{"rsv1 without compression", with(func(h *Header) { h.Rsv = 4 }), false, false, "reserved bits set without a negotiated extension"},
		{"rsv1 on a continuation", with(func(h *Header) { h.Rsv = 4; h.Op = ws.OpContinuation }), true, true, "compression bit on a control frame or a continuation"},
		{"rsv2", with(func(h *Header) { h.Rsv = 2 }), true, false, "reserved bits set without a negotiated extension"},
		{"reserved opcode", with(func(h *Header) { h.Op = 3 }), false, false, "reserved opcode"},
		{"unmasked", with(func(h *Header) { h.Masked = false }), false, false, "client frames must be masked"},
		{"fragmented ping", Header{Op: ws.OpPing, Masked: true}, false, false, "fragmented control frame"},
		{"long ping", Header{Fin: true, Op: ws.OpPing, Masked: true, Length: 126}, false, false, "control frame payload over 125 bytes"},
		{"ping inside a message", Header{Fin: true, Op: ws.OpPing, Masked: true}, false, true, ""},
		{"lone continuation", with(func(h *Header) { h.Op = ws.OpContinuation }), false, false, "continuation frame without a message to continue"},
		{"text inside a message", base, false, true, "new data message inside an unfinished one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckClient(tt.h, tt.compression, tt.inMessage)
			var fe *Error
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tt.reason != "" && (!errors.As(err, &fe) || fe.Reason != tt.reason || fe.Code != CodeProtocolError):
				t.Fatalf("got %v, want 1002 %q", err, tt.reason)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
		for _, rsv1 := range []bool{false, true} {
			payload := bytes.Repeat([]byte{'x'}, n)
			b := Encode(rsv1, ws.OpBinary, payload)
			r := bytes.NewReader(b)
			h, err := ws.ReadHeader(r)
			if err != nil || h.Length != int64(n) || int64(r.Len()) != h.Length {
				t.Fatalf("%d bytes: gobwas reads %+v, %d bytes left, err %v", n, h, r.Len(), err)
			}
			if !h.Fin || h.Masked || h.Rsv1() != rsv1 || h.OpCode != ws.OpBinary || !bytes.Equal(b[len(b)-n:], payload) {
				t.Fatalf("%d bytes, rsv1 %v: read back %+v", n, rsv1, h)
			}
		}
	}
}

func TestClosePayload(t *testing.T) {
	tests := []struct {
		in     []byte
		code   uint16
		reason string
		err    uint16 // the close code of the failure, or 0
	}{
		{nil, NoStatus, "", 0},
		{ClosePayload(1000, ""), 1000, "", 0},
		{ClosePayload(4000, "bye ✓"), 4000, "bye ✓", 0},
		{[]byte{0x03}, 0, "", CodeProtocolError},
		{ClosePayload(1005, "x")[:0], NoStatus, "", 0},
		{[]byte{0x03, 0xed}, 0, "", CodeProtocolError},                 // 1005 may not be sent
		{[]byte{0x03, 0xee}, 0, "", CodeProtocolError},                 // 1006 neither
		{[]byte{0x0b, 0xb8}, 3000, "", 0},                              // registrable
		{[]byte{0x13, 0x88}, 0, "", CodeProtocolError},                 // 5000: out of range
		{[]byte{0x03, 0xe8, 0xff}, 0, "", CodeInvalidFramePayloadData}, // reason not UTF-8
	}
	for _, tt := range tests {
		code, reason, err := ParseClose(tt.in)
		var fe *Error
		if tt.err != 0 {
			if !errors.As(err, &fe) || fe.Code != tt.err {
				t.Errorf("%x: err %v, want a %d", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || code != tt.code || reason != tt.reason {
			t.Errorf("%x: %d %q %v, want %d %q", tt.in, code, reason, err, tt.code, tt.reason)
		}
	}
}

func TestUTF8Stream(t *testing.T) {
	tests := []struct {
		pieces   []string
		ok, full bool
	}{
		{[]string{"héllo"}, true, true},
		{[]string{"h\xc3", "\xa9llo"}, true, true},      // a sequence split across pieces
		{[]string{"数\xe6", "\x8d", "\xae"}, true, true}, // in three
		{[]string{"ok\xc3"}, true, false},               // ends inside a sequence
		{[]string{"\xc0\xaf"}, false, false},            // overlong
		{[]string{"\xed", "\xa0\x80"}, false, false},    // a surrogate, split
		{[]string{"a", "\xff"}, false, false},
	}
	for _, tt := range tests {
		var u UTF8Stream
		ok := true
		for _, p := range tt.pieces {
			ok = ok && u.Write([]byte(p))
		}
		if ok != tt.ok || ok && u.Complete() != tt.full {
			t.Errorf("%q: ok %v complete %v, want %v %v", tt.pieces, ok, u.Complete(), tt.ok, tt.full)
		}
	}
}

func TestInflate(t *testing.T) {
	msg := []byte(strings.Repeat("the quick brown fox ", 200))
	out, err := Inflate(Compress(msg), nil, 0)
	if err != nil || !bytes.Equal(out, msg) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := Inflate(Compress(msg), nil, int64(len(msg)-1)); err != ErrTooBig {
		t.Fatalf("one byte over the limit: %v, want ErrTooBig", err)
	}
	if out, err := Inflate(Compress(msg), nil, int64(len(msg))); err != nil || len(out) != len(msg) {
		t.Fatalf("exactly at the limit: %d bytes, %v", len(out), err)
	}
	var fe *Error
	if _, err := Inflate([]byte{0xff, 0xff, 0xff}, nil, 0); !errors.As(err, &fe) || fe.Code != CodeInvalidFramePayloadData {
		t.Fatalf("corrupt data: %v, want a 1007", err)
	}
	// Context takeover: the second message refers to the first's window.
	var c Compressor
	var w Window
	for i := range 3 {
		p := c.Compress(msg)
		out, err := Inflate(p, w.Dict(), 0)
		if err != nil || !bytes.Equal(out, msg) {
			t.Fatalf("message %d with context takeover: %v", i, err)
		}
		w.Keep(out)
		if len(w.Dict()) > WindowSize {
			t.Fatalf("window of %d bytes", len(w.Dict()))
		}
	}
}

// FuzzParseHeader checks the parser against gobwas's on any bytes: both
// agree on every header gobwas reads, and ours never reads past what it
// was given.
func FuzzParseHeader(f *testing.F) {
	mask := [4]byte{9, 8, 7, 6}
	for _, seed := range [][]byte{
		clientHeader(true, 0, ws.OpText, 5, mask),
		clientHeader(true, 0, ws.OpBinary, 300, mask),
		clientHeader(false, 4, ws.OpBinary, 1<<33, mask),
		{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1},
		{0x89, 0x00},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, ok, err := ParseHeader(b)
		if ok && (n > len(b) || err != nil) {
			t.Fatalf("ok with n=%d of %d bytes, err %v", n, len(b), err)
		}
		if !ok || !h.Masked {
			return
		}
		ref, rerr := ws.ReadHeader(bytes.NewReader(b))
		if rerr != nil {
			t.Fatalf("we parsed %+v, gobwas failed: %v", h, rerr)
		}
		if ref.Fin != h.Fin || ref.Rsv != h.Rsv || ref.OpCode != h.Op || ref.Length != h.Length || ref.Mask != h.Mask {
			t.Fatalf("we parsed %+v, gobwas %+v", h, ref)
		}
		// CheckClient never panics, whatever the state.
		for _, c := range []bool{false, true} {
			CheckClient(h, c, !c)
		}
	})
}

// FuzzUTF8Stream checks the stream against utf8.Valid, whatever the size of
// the pieces the text arrives in.
func FuzzUTF8Stream(f *testing.F) {
	f.Add([]byte("héllo 数据 😀"), uint8(3))
	f.Add([]byte{0xed, 0xa0, 0x80}, uint8(1))
	f.Add([]byte{0xf4, 0x90, 0x80, 0x80}, uint8(2))
	f.Add([]byte{0xc0, 0xaf}, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		n := int(step%7) + 1
		var u UTF8Stream
		ok := true
		for i := 0; i < len(b) && ok; i += n {
			ok = u.Write(b[i:min(i+n, len(b))])
			if !ok && utf8.Valid(b) {
				t.Fatalf("rejected the valid %q at byte %d", b, i)
			}
		}
		if ok && u.Complete() != utf8.Valid(b) {
			t.Fatalf("accepted %q as complete=%v, utf8.Valid says %v", b, u.Complete(), utf8.Valid(b))
		}
	})
}

// FuzzInflate checks that inflation never exceeds its limit nor panics on
// any input, and that what Compress makes comes back whole.
func FuzzInflate(f *testing.F) {
	f.Add([]byte("hello hello hello hello"), int64(1000))
	f.Add(Compress(bytes.Repeat([]byte{0}, 1<<16)), int64(100))
	f.Add([]byte{0xff, 0x00}, int64(10))
	f.Fuzz(func(t *testing.T, in []byte, limit int64) {
		limit = limit%(1<<20) + 1
		if limit <= 0 {
			limit = -limit + 1
		}
		if out, err := Inflate(in, nil, limit); err == nil && int64(len(out)) > limit {
			t.Fatalf("inflated %d bytes past the limit %d", len(out), limit)
		}
		out, err := Inflate(Compress(in), nil, 0)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip of %d bytes: %v", len(in), err)
		}
	})
}
