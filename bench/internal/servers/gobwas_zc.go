package servers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// gobwas-zc is gobwas/ws in the form its README recommends for high load
// ("Zero-copy upgrade"): no net/http on the WebSocket port. An accept loop
// hands each net.Conn to a goroutine that upgrades it with ws.Upgrader
// (routing on the request URI its OnRequest callback gives), then reads
// frames straight from the socket with ws.ReadHeaderBuffer, reads each
// payload into a pooled buffer, unmasks it with ws.Cipher and answers it
// with one write of a header (ws.WriteHeaderBuffer) and the payload composed
// in that same buffer. Data frames are echoed one by one, so a fragmented
// message comes back fragmented, with its type; pings are answered with
// pongs and a close frame with a close frame.
//
// Upgrader reads the request through a pooled bufio.Reader that it drops
// when it returns, so bytes a client sends before it sees the 101 are lost:
// the load generator, like browsers, waits for the 101.

const (
	zcMaxPayload = 32 << 20  // the read limit, as the other contenders'
	zcReadChunk  = 64 << 10  // read a large payload in chunks of this, growing the buffer as bytes arrive
	zcKeepBuffer = 256 << 10 // buffers up to this capacity go back to the pool
	// zcHeadroom is the room left before a payload in its buffer for the
	// header of the frame that answers it (at most 10 bytes, unmasked).
	zcHeadroom = ws.MaxHeaderSize - 4
)

// zcBuffers pools the payload buffers: a connection holds one only while
// it handles a frame, none while it waits.
var zcBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 4<<10)
	return &b
}}

// zcRoute is what a connection serves, chosen from the request URI.
type zcRoute uint8

const (
	zcNone zcRoute = iota
	zcEcho         // /echo: echo every data frame
	zcSub          // /sub: a broadcast subscriber; data frames are dropped
	zcOnce         // /hsbare: end after the first frame
)

// zcConn is a connection of the gobwas-zc server.
type zcConn struct {
	nc  net.Conn
	mu  sync.Mutex // serializes writes: control replies and, on /sub, broadcasts
	hdr [ws.MaxHeaderSize]byte
}

type zcServer struct {
	ln   net.Listener
	subs *registry[*zcConn]
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{} // every accepted connection, to close them on stop
}

// startGobwasZC starts the zero-copy gobwas server on 127.0.0.1.
func startGobwasZC() (*Instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &zcServer{ln: ln, subs: newRegistry[*zcConn](), open: map[net.Conn]struct{}{}}
	s.wg.Go(s.accept)
	return &Instance{
		Addr:      ln.Addr().String(),
		broadcast: s.broadcast,
		count:     s.subs.len,
		stop:      s.stop,
	}, nil
}

func (s *zcServer) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // the listener was closed
		}
		s.mu.Lock()
		s.open[nc] = struct{}{}
		s.mu.Unlock()
		go s.serve(nc)
	}
}

func (s *zcServer) stop() {
	s.ln.Close()
	s.wg.Wait()
	s.mu.Lock()
	for nc := range s.open {
		nc.Close()
	}
	s.mu.Unlock()
}

// zcRouteOf maps a request URI to its route; the query is ignored.
func zcRouteOf(uri []byte) zcRoute {
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	switch string(uri) {
	case "/echo":
		return zcEcho
	case "/sub":
		return zcSub
	case "/hsbare":
		return zcOnce
	}
	return zcNone
}

var errZCNotFound = ws.RejectConnectionError(ws.RejectionStatus(404), ws.RejectionReason("not found"))

func (s *zcServer) serve(nc net.Conn) {
	defer func() {
		nc.Close()
		s.mu.Lock()
		delete(s.open, nc)
		s.mu.Unlock()
	}()
	rt := zcNone
	u := ws.Upgrader{OnRequest: func(uri []byte) error {
		if rt = zcRouteOf(uri); rt == zcNone {
			return errZCNotFound
		}
		return nil
	}}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := u.Upgrade(nc); err != nil {
		return
	}
	nc.SetDeadline(time.Time{})
	c := &zcConn{nc: nc}
	if rt == zcSub {
		s.subs.add(c)
		defer s.subs.remove(c)
	}
	c.loop(rt)
}

// loop reads frames until the connection ends.
func (c *zcConn) loop(rt zcRoute) {
	state := ws.StateServerSide
	for {
		h, err := ws.ReadHeaderBuffer(c.nc, c.hdr[:])
		if err != nil {
			return
		}
		if err := ws.CheckHeader(h, state); err != nil {
			c.fail(ws.StatusProtocolError)
			return
		}
		if h.Length > zcMaxPayload {
			c.fail(ws.StatusMessageTooBig)
			return
		}
		bp := zcBuffers.Get().(*[]byte)
		buf, err := readPayload(c.nc, (*bp)[:zcHeadroom], int(h.Length))
		if err != nil {
			c.release(bp, buf)
			return
		}
		p := buf[zcHeadroom:]
		ws.Cipher(p, h.Mask, 0)
		keep := true
		switch h.OpCode {
		case ws.OpPing:
			keep = c.writeFrame(buf, ws.OpPong, true) == nil
		case ws.OpPong:
		case ws.OpClose:
			c.answerClose(p)
			keep = false
		default: // data
			if h.OpCode != ws.OpContinuation {
				state = state.Set(ws.StateFragmented)
			}
			if h.Fin {
				state = state.Clear(ws.StateFragmented)
			}
			switch rt {
			case zcEcho:
				keep = c.writeFrame(buf, h.OpCode, h.Fin) == nil
			case zcOnce:
				keep = false
			}
		}
		c.release(bp, buf)
		if !keep {
			return
		}
	}
}

// readPayload appends n bytes read from r to b, growing b as they arrive
// rather than trusting the declared length for one allocation.
func readPayload(r io.Reader, b []byte, n int) ([]byte, error) {
	for n > 0 {
		k := min(n, zcReadChunk)
		b = slices.Grow(b, k)
		got, err := io.ReadFull(r, b[len(b):len(b)+k])
		b = b[:len(b)+got]
		if err != nil {
			return b, err
		}
		n -= k
	}
	return b, nil
}

func (c *zcConn) release(bp *[]byte, buf []byte) {
	if cap(buf) <= zcKeepBuffer {
		*bp = buf[:0]
		zcBuffers.Put(bp)
	}
}

// sliceWriter writes into a fixed slice.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) { return copy(w.b, p), nil }

// writeFrame sends the payload buf[zcHeadroom:] as one frame: its header
// goes into the headroom before it, and both leave in one write.
func (c *zcConn) writeFrame(buf []byte, op ws.OpCode, fin bool) error {
	n := len(buf) - zcHeadroom
	h := ws.Header{Fin: fin, OpCode: op, Length: int64(n)}
	hn := ws.HeaderSize(h)
	start := zcHeadroom - hn
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ws.WriteHeaderBuffer(&sliceWriter{buf[start:zcHeadroom]}, h, c.hdr[:]); err != nil {
		return err
	}
	_, err := c.nc.Write(buf[start:])
	return err
}

// answerClose answers a close frame with payload p: the client's status
// code, or 1002 when it is not one a peer may send.
func (c *zcConn) answerClose(p []byte) {
	var body []byte
	switch {
	case len(p) == 1:
		body = ws.NewCloseFrameBody(ws.StatusProtocolError, "")
	case len(p) >= 2:
		code, reason := ws.ParseCloseFrameDataUnsafe(p)
		if ws.CheckCloseFrameData(code, reason) != nil {
			code = ws.StatusProtocolError
		}
		body = ws.NewCloseFrameBody(code, "")
	}
	c.writeCompiled(ws.MustCompileFrame(ws.NewCloseFrame(body)))
}

// fail closes the connection with a close frame carrying code.
func (c *zcConn) fail(code ws.StatusCode) {
	c.writeCompiled(ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, ""))))
}

func (c *zcConn) writeCompiled(frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.nc.Write(frame)
	return err
}

// broadcast compiles each message into a frame once and writes those bytes
// to every subscriber under its write lock.
func (s *zcServer) broadcast(ctx context.Context, payloads [][]byte) error {
	for _, p := range payloads {
		frame := ws.MustCompileFrame(ws.NewTextFrame(p))
		for _, c := range s.subs.snapshot() {
			c.writeCompiled(frame)
		}
	}
	return nil
}
