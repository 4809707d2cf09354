//go:build unix

package wsapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/wsapi-go/wsapi/internal/frame"
)

// clientFrame encodes a masked client frame.
func clientFrame(fin bool, rsv byte, op ws.OpCode, payload []byte) []byte {
	f := ws.NewFrame(op, fin, append([]byte(nil), payload...))
	f.Header.Rsv = rsv
	f = ws.MaskFrameInPlace(f)
	var b bytes.Buffer
	ws.WriteFrame(&b, f)
	return b.Bytes()
}

type refMessage struct {
	op   ws.OpCode
	data string
}

// referenceDecode is a second, simple implementation of the server's frame
// rules (RFC 6455, section 5), reading a whole input at once: the messages
// it yields and the close code the server must end with.
func referenceDecode(in []byte, limit int64) (msgs []refMessage, code CloseCode) {
	var op ws.OpCode
	var msg []byte
	for {
		if len(in) < 2 {
			return msgs, CloseAbnormalClosure
		}
		fin, rsv, fop := in[0]&0x80 != 0, in[0]>>4&7, ws.OpCode(in[0]&0xf)
		masked, n := in[1]&0x80 != 0, int64(in[1]&0x7f)
		// The first two bytes are checked before the rest of the header arrives.
		switch {
		case rsv != 0, fop.IsReserved(), !masked,
			fop.IsControl() && (!fin || n > 125),
			fop == ws.OpContinuation && op == 0,
			(fop == ws.OpText || fop == ws.OpBinary) && op != 0:
			return msgs, CloseProtocolError
		}
		hlen := 2
		switch n {
		case 126:
			if len(in) < 4 {
				return msgs, CloseAbnormalClosure
			}
			n, hlen = int64(binary.BigEndian.Uint16(in[2:])), 4
		case 127:
			if len(in) < 10 {
				return msgs, CloseAbnormalClosure
			}
			u := binary.BigEndian.Uint64(in[2:])
			if u>>63 != 0 {
				return msgs, CloseProtocolError
			}
			n, hlen = int64(u), 10
		}
		hlen += 4 // the mask
		if len(in) < hlen {
			return msgs, CloseAbnormalClosure
		}
		if !fop.IsControl() && limit > 0 && int64(len(msg))+n > limit {
			return msgs, CloseMessageTooBig
		}
		var mask [4]byte
		copy(mask[:], in[hlen-4:hlen])
		if int64(len(in)-hlen) < n {
			// Truncated payload: a text prefix that is already invalid fails first.
			if !fop.IsControl() && (op == ws.OpText || fop == ws.OpText) {
				p := append([]byte(nil), in[hlen:]...)
				ws.Cipher(p, mask, 0)
				var u frame.UTF8Stream
				if !u.Write(append(append([]byte(nil), msg...), p...)) {
					return msgs, CloseInvalidFramePayloadData
				}
			}
			return msgs, CloseAbnormalClosure
		}
		p := append([]byte(nil), in[hlen:hlen+int(n)]...)
		ws.Cipher(p, mask, 0)
		in = in[hlen+int(n):]
		switch fop {
		case ws.OpPing, ws.OpPong:
			continue
		case ws.OpClose:
			switch {
			case len(p) == 0:
				return msgs, CloseNoStatusReceived
			case len(p) == 1:
				return msgs, CloseProtocolError
			}
			c := CloseCode(binary.BigEndian.Uint16(p))
			if !c.sendable() {
				return msgs, CloseProtocolError
			}
			if !utf8.Valid(p[2:]) {
				return msgs, CloseInvalidFramePayloadData
			}
			return msgs, c
		}
		if op == 0 {
			op = fop
		}
		msg = append(msg, p...)
		if op == ws.OpText {
			var u frame.UTF8Stream
			if !u.Write(msg) || fin && !u.Complete() {
				return msgs, CloseInvalidFramePayloadData
			}
		}
		if fin {
			msgs = append(msgs, refMessage{op, string(msg)})
			op, msg = 0, nil
		}
	}
}

// serveInput runs the server's read path over the given client bytes and
// returns the messages it delivered and the code it ended with.
func serveInput(t testing.TB, in []byte, limit int64) ([]refMessage, CloseCode) {
	app := New(quietOptions(Options{ReadLimit: limit}))
	srv, cli := socketPair(t)
	c := newOpenConn(app, srv)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); cli.Write(in); cli.CloseWrite() }()
	go func() { defer wg.Done(); io.Copy(io.Discard, cli) }()
	var got []refMessage
	var code CloseCode
	for {
		c.beginReceive()
		op, data, _, err := c.next(context.Background(), false)
		data = bytes.Clone(data)
		c.endReceive()
		if err != nil {
			var d *DisconnectError
			if !errors.As(err, &d) {
				t.Fatalf("read ended with %v, want a *DisconnectError", err)
			}
			code = d.Code
			break
		}
		got = append(got, refMessage{op, string(data)})
	}
	c.finish(&DisconnectError{Code: CloseAbnormalClosure})
	cli.Close()
	wg.Wait()
	return got, code
}

// socketPair returns the two ends of a connected Unix stream socket: a real
// socket, read through the raw path, that can be half-closed.
func socketPair(t testing.TB) (*net.UnixConn, *net.UnixConn) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

func FuzzReadMessages(f *testing.F) {
	seeds := [][]byte{
		clientFrame(true, 0, ws.OpText, []byte("hello")),
		append(clientFrame(false, 0, ws.OpText, []byte("hel")), clientFrame(true, 0, ws.OpContinuation, []byte("lo"))...),
		append(clientFrame(true, 0, ws.OpPing, []byte("p")), clientFrame(true, 0, ws.OpBinary, make([]byte, 300))...),
		clientFrame(true, 0, ws.OpText, []byte{0xf0, 0x9f, 0x98}),
		clientFrame(true, 0, ws.OpClose, []byte{0x03, 0xe8, 'o', 'k'}),
		clientFrame(true, 0, ws.OpClose, []byte{0x03}),
		clientFrame(true, 4, ws.OpText, []byte("rsv")),
		clientFrame(true, 0, 0xb, nil),
		clientFrame(true, 0, ws.OpBinary, make([]byte, 70000)),
		{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}, // unmasked
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 16
		want, wantCode := referenceDecode(in, limit)
		got, code := serveInput(t, in, limit)
		if len(got) != len(want) {
			t.Fatalf("delivered %d messages, the reference %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("message %d: %v %q, reference %v %q", i, got[i].op, got[i].data, want[i].op, want[i].data)
			}
		}
		if code != wantCode {
			t.Fatalf("ended with %v, the reference with %v", code, wantCode)
		}
	})
}
