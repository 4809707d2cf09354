package wsframe

import (
	"bytes"
	"testing"
)

func TestAcceptKey(t *testing.T) {
	// RFC 6455, section 1.3.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	for _, n := range []int{0, 5, 125, 126, 65535, 65536, 70000} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		for _, m := range []*[4]byte{nil, &mask} {
			f := AppendFrame(nil, OpBinary, p, m)
			h, hn, ok, err := ParseHeader(f)
			if err != nil || !ok || !h.Fin || h.Op != OpBinary || h.Len != int64(n) || h.Masked != (m != nil) {
				t.Fatalf("n=%d masked=%v: header %+v ok=%v err=%v", n, m != nil, h, ok, err)
			}
			got := f[hn:]
			if m != nil {
				Mask(got, h.Mask, 0)
			}
			if !bytes.Equal(got, p) {
				t.Fatalf("n=%d masked=%v: payload differs", n, m != nil)
			}
			if _, _, ok, _ := ParseHeader(f[:1]); ok {
				t.Fatal("a 1-byte header parsed")
			}
		}
	}
}

func TestMaskOffsets(t *testing.T) {
	key := [4]byte{0xa, 0xb, 0xc, 0xd}
	p := []byte("the quick brown fox jumps over the lazy dog")
	whole := bytes.Clone(p)
	Mask(whole, key, 0)
	parts := bytes.Clone(p)
	pos := Mask(parts[:5], key, 0)
	pos = Mask(parts[5:18], key, pos)
	Mask(parts[18:], key, pos)
	if !bytes.Equal(whole, parts) {
		t.Fatal("masking in pieces differs from masking whole")
	}
}

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest([]byte("GET /echo?x=1 HTTP/1.1\r\nHost: a\r\nupgrade: WebSocket\r\nsec-websocket-key: abc\r\n\r\n"))
	if err != nil || r.Method != "GET" || r.Path != "/echo?x=1" || !r.Upgrade || r.Key != "abc" {
		t.Fatalf("%+v %v", r, err)
	}
}
