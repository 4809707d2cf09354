package servers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi/bench/internal/load"
	"github.com/wsapi-go/wsapi/bench/internal/wsframe"
)

func start(t *testing.T, name string) *Instance {
	t.Helper()
	in, err := Start(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	return in
}

func dial(t *testing.T, addr, path string) *load.Conn {
	t.Helper()
	c, err := load.Dial(addr, path, 4096, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s%s: %v", addr, path, err)
	}
	t.Cleanup(func() { c.Close() })
	if want := wsframe.AcceptKey(load.Key); c.Accept != want {
		t.Fatalf("Sec-WebSocket-Accept %q, want %q", c.Accept, want)
	}
	c.NC.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestEcho(t *testing.T) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			in := start(t, name)
			c := dial(t, in.Addr, "/echo")
			for _, m := range []struct {
				op   byte
				data []byte
			}{
				{wsframe.OpText, load.Payload(32, false)},
				{wsframe.OpBinary, load.Payload(16<<10, true)},
				{wsframe.OpText, load.Payload(32, false)},
			} {
				if err := c.WriteFrame(m.op, m.data); err != nil {
					t.Fatal(err)
				}
				op, p, err := c.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				if op != m.op || !bytes.Equal(p, m.data) {
					t.Fatalf("echo: opcode %d, %d bytes; want opcode %d, %d bytes", op, len(p), m.op, len(m.data))
				}
			}
			// A close frame is answered with a close frame, then the server closes.
			if err := c.WriteFrame(wsframe.OpClose, []byte{0x03, 0xe8}); err != nil {
				t.Fatal(err)
			}
			_, _, err := c.ReadMessage()
			var ce *load.CloseError
			if !errors.As(err, &ce) || ce.Code != 1000 {
				t.Fatalf("after close: %v, want a close frame with 1000", err)
			}
		})
	}
}

func TestBroadcast(t *testing.T) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			in := start(t, name)
			const subs, n = 3, 5
			var cs []*load.Conn
			for range subs {
				cs = append(cs, dial(t, in.Addr, "/sub"))
			}
			deadline := time.Now().Add(5 * time.Second)
			for in.Subscribers() < subs {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d subscribers registered", in.Subscribers(), subs)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := in.Broadcast(context.Background(), n, 64); err != nil {
				t.Fatal(err)
			}
			want := Payloads(n, 64)
			for _, c := range cs {
				for i := range n {
					op, p, err := c.ReadMessage()
					if err != nil {
						t.Fatal(err)
					}
					if op != wsframe.OpText || !bytes.Equal(p, want[i]) {
						t.Fatalf("message %d: opcode %d %q, want %q", i, op, p, want[i])
					}
				}
			}
		})
	}
}

// TestHandshakeRoutes checks the handshake scenario's paths: the route with
// params accepts a request with a token and refuses one without.
func TestHandshakeRoutes(t *testing.T) {
	paths := map[string][]string{
		"wsapi":       {"/hs/room1?token=t&page=2", "/hsbare"},
		"gobwas-http": {"/hsbare"},
		"gobwas-zc":   {"/hsbare"},
		"epoll":       {"/hsbare"},
	}
	for name, ps := range paths {
		in := start(t, name)
		for _, p := range ps {
			c := dial(t, in.Addr, p)
			if err := c.WriteFrame(wsframe.OpClose, []byte{0x03, 0xe8}); err != nil {
				t.Fatal(err)
			}
			sawClose := false
			for {
				h, _, err := c.ReadFrame()
				if err != nil {
					if !errors.Is(err, io.EOF) || !sawClose {
						t.Fatalf("%s %s: %v (close frame seen: %v)", name, p, err, sawClose)
					}
					break
				}
				sawClose = sawClose || h.Op == wsframe.OpClose
			}
		}
	}
	in := start(t, "wsapi")
	_, err := load.Dial(in.Addr, "/hs/room1?token=&page=2", 4096, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("with an empty token: %v, want a 403 refusal", err)
	}
}

// TestEpollHandshakeSplit feeds the raw-epoll server a handshake and a
// frame in small pieces.
func TestEpollHandshakeSplit(t *testing.T) {
	in := start(t, "epoll")
	nc, err := net.Dial("tcp", in.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msg := append(load.Request(in.Addr, "/echo"), wsframe.AppendFrame(nil, wsframe.OpText, []byte("hello"), &load.MaskKey)...)
	for len(msg) > 0 {
		k := min(7, len(msg))
		if _, err := nc.Write(msg[:k]); err != nil {
			t.Fatal(err)
		}
		msg = msg[k:]
		time.Sleep(time.Millisecond)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 512)
	want := "\r\n\r\n\x81\x05hello"
	for !strings.HasSuffix(string(got), want) {
		n, err := nc.Read(buf)
		if err != nil {
			t.Fatalf("read %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if !strings.HasPrefix(string(got), "HTTP/1.1 101 ") || !strings.Contains(string(got), wsframe.AcceptKey(load.Key)) {
		t.Fatalf("response %q", got)
	}
}

// TestGobwasZC checks what the zero-copy gobwas server does by hand: a
// fragmented message comes back fragmented, a ping is answered, an unknown
// path is refused and an unmasked frame is a protocol error.
func TestGobwasZC(t *testing.T) {
	in := start(t, "gobwas-zc")
	c := dial(t, in.Addr, "/echo?x=1")
	var msg []byte
	msg = append(msg, wsframe.AppendHeader(nil, false, wsframe.OpText, 3, &load.MaskKey)...)
	msg = append(msg, masked("abc")...)
	msg = append(msg, wsframe.AppendFrame(nil, wsframe.OpPing, []byte("p"), &load.MaskKey)...)
	msg = append(msg, wsframe.AppendHeader(nil, true, wsframe.OpCont, 3, &load.MaskKey)...)
	msg = append(msg, masked("def")...)
	if _, err := c.NC.Write(msg); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		h, p, err := c.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d/%v/%s", h.Op, h.Fin, p))
	}
	if want := []string{"1/false/abc", "10/true/p", "0/true/def"}; !slices.Equal(got, want) {
		t.Fatalf("frames %q, want %q", got, want)
	}
	// A frame without a mask is answered with 1002.
	if _, err := c.NC.Write(wsframe.AppendFrame(nil, wsframe.OpText, []byte("x"), nil)); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.ReadMessage()
	if ce := (*load.CloseError)(nil); !errors.As(err, &ce) || ce.Code != 1002 {
		t.Fatalf("after an unmasked frame: %v, want a close frame with 1002", err)
	}
	if _, err := load.Dial(in.Addr, "/nope", 4096, 5*time.Second); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown path: %v, want a 404 refusal", err)
	}
}

func masked(s string) []byte {
	b := []byte(s)
	wsframe.Mask(b, load.MaskKey, 0)
	return b
}

// TestTyped checks the typed route: a valid message is answered with its
// reply, an invalid one with an error message, and the connection stays
// open.
func TestTyped(t *testing.T) {
	req, reply := load.TypedMessages(16)
	for _, name := range TypedNames {
		t.Run(name, func(t *testing.T) {
			in := start(t, name)
			c := dial(t, in.Addr, "/typed")
			for _, m := range []struct{ send, want string }{
				{string(req), string(reply)},
				{`{"type":"echo","text":"","n":3}`, `{"type":"error",`},
				{`{"type":"echo","text":"x","n":-1}`, `{"type":"error",`},
				{`{"type":"dance"}`, `{"type":"error",`},
				{string(req), string(reply)},
			} {
				if err := c.WriteFrame(wsframe.OpText, []byte(m.send)); err != nil {
					t.Fatal(err)
				}
				op, p, err := c.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				if op != wsframe.OpText || !strings.HasPrefix(string(p), m.want) {
					t.Fatalf("%s: got opcode %d %s, want %s", m.send, op, p, m.want)
				}
			}
		})
	}
}
