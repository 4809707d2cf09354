package wsapi

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// maxHeader is the largest header of a server frame (server frames are not masked).
const maxHeader = 10

// writeBufSize bounds the frames that are copied into one buffer and written
// with one syscall; larger frames are written as header and payload with writev.
const writeBufSize = 4096

var writeBufPool = sync.Pool{New: func() any { return new([writeBufSize]byte) }}

// writer is the state of the goroutine currently writing to the socket
// (the one that set Conn.writing).
type writer struct {
	hdr      [maxHeader]byte
	iov      net.Buffers
	vecs     [][]byte
	deadline time.Time // the write deadline now set on the socket
}

// outFrame is one encoded frame waiting in a connection's send queue.
type outFrame struct {
	b    []byte     // the whole frame, header included; may be shared between connections
	done chan error // answered once written, for callers that wait; nil otherwise
}

// putHeader writes the header of a final, unmasked frame into b and returns
// its length. rsv1 marks a compressed message.
func putHeader(b []byte, rsv1 bool, op ws.OpCode, n int) int {
	b[0] = 0x80 | byte(op)
	if rsv1 {
		b[0] |= 0x40
	}
	switch {
	case n <= 125:
		b[1] = byte(n)
		return 2
	case n <= 0xffff:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		return 4
	}
	b[1] = 127
	binary.BigEndian.PutUint64(b[2:], uint64(n))
	return 10
}

// encodeFrame returns a final, unmasked frame holding payload.
func encodeFrame(op ws.OpCode, payload []byte) []byte { return encodeFrameRsv(false, op, payload) }

// encodeFrameRsv is encodeFrame with the compression bit.
func encodeFrameRsv(rsv1 bool, op ws.OpCode, payload []byte) []byte {
	var hdr [maxHeader]byte
	n := putHeader(hdr[:], rsv1, op, len(payload))
	b := make([]byte, n+len(payload))
	copy(b, hdr[:n])
	copy(b[n:], payload)
	return b
}

// closePayload encodes a close frame's payload; CloseNoStatusReceived
// encodes as an empty payload.
func closePayload(code CloseCode, reason string) []byte {
	if code == CloseNoStatusReceived {
		return nil
	}
	p := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	copy(p[2:], reason)
	return p
}

// errAfterClose reports a frame offered after the close frame; it is never written.
var errAfterClose = errors.New("wsapi: frame after the close frame")

// writeMessage writes one data message, waiting until it is on the wire.
func (c *Conn) writeMessage(ctx context.Context, op ws.OpCode, payload []byte) error {
	// The connection's end comes first: with the handler's own ctx, which
	// the end cancels, the caller learns why with a *Disconnect.
	if d := c.closed(); d != nil {
		return d
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.State() == StateConnecting {
		return errors.New("wsapi: send before Accept: call Accept first")
	}
	var err error
	if d := c.deflate; d != nil && len(payload) >= compressMin {
		if d.serverContext {
			d.mu.Lock()
			err = c.writeFrame(ctx, op|compressedOp, d.compress(payload), nil, false)
			d.mu.Unlock()
		} else {
			err = c.writeFrame(ctx, op|compressedOp, compressMessage(payload), nil, false)
		}
	} else {
		err = c.writeFrame(ctx, op, payload, nil, false)
	}
	if err != nil {
		if err == ctx.Err() {
			return err
		}
		return c.errClosed()
	}
	return nil
}

// compressedOp, or-ed into an opcode given to writeFrame, sets the frame's
// compression bit (RSV1). Opcodes fit in four bits, so it never collides.
const compressedOp ws.OpCode = 0x40

// writeControl writes a ping or pong frame; after the close frame it does nothing.
func (c *Conn) writeControl(op ws.OpCode, payload []byte) error {
	if err := c.writeFrame(context.Background(), op, payload, nil, false); err != nil && err != errAfterClose {
		return c.errClosed()
	}
	return nil
}

// writeClose writes the connection's one close frame, recording rec as the
// reason the connection ends; local is true when this side closes first.
// It returns errAfterClose when a close frame was already sent.
func (c *Conn) writeClose(rec *Disconnect, local bool) error {
	return c.writeFrame(context.Background(), ws.OpClose, closePayload(rec.Code, rec.Reason), rec, local)
}

// writeFrame writes a frame in order with every other frame of the
// connection, waiting until it is written.
func (c *Conn) writeFrame(ctx context.Context, op ws.OpCode, payload []byte, rec *Disconnect, local bool) error {
	c.wmu.Lock()
	if c.closeSent || c.closed() != nil {
		c.wmu.Unlock()
		return errAfterClose
	}
	if op == ws.OpClose {
		c.closeSent = true
		c.closing.Store(rec)
		if local {
			c.localClose.Store(true)
			c.state.CompareAndSwap(int32(StateOpen), int32(StateClosing))
		}
	}
	if c.writing || len(c.queue) > 0 {
		// Another goroutine is writing: queue a copy behind it and wait.
		f := outFrame{b: encodeFrameRsv(op&compressedOp != 0, op&^compressedOp, payload), done: make(chan error, 1)}
		c.queue = append(c.queue, f)
		if c.writing {
			c.wmu.Unlock()
		} else {
			c.writing = true
			c.wmu.Unlock()
			c.drain()
		}
		select {
		case err := <-f.done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return errAfterClose
		}
	}
	c.writing = true
	c.wmu.Unlock()
	if err := c.writeNow(op, payload); err != nil {
		c.abortWrites(err)
		return err
	}
	c.drain() // frames queued while we wrote; usually none
	return nil
}

// writeNow writes one frame; the caller holds the writing role.
func (c *Conn) writeNow(op ws.OpCode, payload []byte) error {
	c.refreshWriteDeadline()
	rsv1 := op&compressedOp != 0
	op &^= compressedOp
	if n := len(payload); n+maxHeader <= writeBufSize {
		buf := writeBufPool.Get().(*[writeBufSize]byte)
		h := putHeader(buf[:], rsv1, op, n)
		copy(buf[h:], payload)
		_, err := c.nc.Write(buf[:h+n])
		writeBufPool.Put(buf)
		return err
	}
	w := &c.wr
	h := putHeader(w.hdr[:], rsv1, op, len(payload))
	w.vecs = append(w.vecs[:0], w.hdr[:h], payload)
	w.iov = w.vecs
	_, err := w.iov.WriteTo(c.nc)
	clear(w.vecs)
	return err
}

// drain writes queued frames, many per syscall, until the queue is empty,
// then gives up the writing role. The caller holds the writing role.
func (c *Conn) drain() {
	w := &c.wr
	var batch []outFrame
	for {
		c.wmu.Lock()
		if batch != nil {
			// Keep the written batch's array for reuse: as the queue when
			// that is empty, so the next enqueue does not allocate.
			clear(batch)
			if len(c.queue) == 0 {
				c.queue = batch[:0]
			} else {
				c.spare = batch[:0]
			}
		}
		batch = c.queue
		if len(batch) == 0 {
			c.writing = false
			c.wmu.Unlock()
			return
		}
		c.queue = c.spare
		c.spare = nil
		c.wmu.Unlock()

		c.refreshWriteDeadline()
		w.vecs = w.vecs[:0]
		for _, f := range batch {
			w.vecs = append(w.vecs, f.b)
		}
		w.iov = w.vecs
		_, err := w.iov.WriteTo(c.nc)
		clear(w.vecs)
		for _, f := range batch {
			if f.done != nil {
				f.done <- err
			}
		}
		if err != nil {
			c.abortWrites(err)
			return
		}
	}
}

// enqueue adds a frame to the send queue without waiting; a writer goroutine
// is started when none runs. It reports false when the queue is full.
func (c *Conn) enqueue(b []byte, limit int) bool {
	c.wmu.Lock()
	if c.closeSent {
		c.wmu.Unlock()
		return true // the connection is ending; the frame is dropped
	}
	if limit > 0 && len(c.queue) >= limit {
		c.wmu.Unlock()
		return false
	}
	c.queue = append(c.queue, outFrame{b: b})
	if c.writing || c.State() == StateConnecting {
		// Accept starts the writer once the handshake is answered.
		c.wmu.Unlock()
		return true
	}
	c.writing = true
	c.wmu.Unlock()
	go c.drainFn()
	return true
}

// closeSlow closes a client that cannot keep up: the frames queued for it
// are dropped and the close frame takes their place, to go out as soon as
// the client reads again (or the write timeout drops it).
func (c *Conn) closeSlow(code CloseCode) {
	rec := &Disconnect{Code: code, Reason: "client too slow: send queue full"}
	done := make(chan error, 1)
	c.wmu.Lock()
	if c.closeSent {
		c.wmu.Unlock()
		return
	}
	dropped := c.queue
	c.queue = []outFrame{{b: encodeFrame(ws.OpClose, closePayload(rec.Code, rec.Reason)), done: done}}
	c.closeSent = true
	c.closing.Store(rec)
	c.localClose.Store(true)
	c.state.CompareAndSwap(int32(StateOpen), int32(StateClosing))
	start := !c.writing
	c.writing = true
	c.wmu.Unlock()
	for _, f := range dropped {
		if f.done != nil {
			f.done <- errAfterClose
		}
	}
	if start {
		go c.drainFn()
	}
	select {
	case err := <-done:
		if err == nil {
			c.awaitPeerClose(rec)
		}
	case <-c.done:
	}
}

// refreshWriteDeadline keeps a write deadline between WriteTimeout/2 and
// WriteTimeout ahead, touching the socket's timer only when it runs low.
func (c *Conn) refreshWriteDeadline() {
	t := c.app.opts.WriteTimeout
	if t <= 0 {
		return
	}
	now := time.Now()
	if c.wr.deadline.Sub(now) < t/2 {
		c.wr.deadline = now.Add(t)
		c.nc.SetWriteDeadline(c.wr.deadline)
	}
}

// abortWrites gives up the writing role after a failed write: it fails every
// queued frame and ends the connection, since a frame may be half written.
func (c *Conn) abortWrites(err error) {
	c.wmu.Lock()
	rest := c.queue
	c.queue = nil
	c.writing = false
	c.closeSent = true // a half-written frame cannot be followed by anything
	c.wmu.Unlock()
	for _, f := range rest {
		if f.done != nil {
			f.done <- err
		}
	}
	if d := c.closing.Load(); d != nil {
		c.finish(d) // we were closing: the connection ends for that reason
		return
	}
	reason := ""
	if errors.Is(err, os.ErrDeadlineExceeded) {
		reason = "write timeout"
	}
	c.finish(&Disconnect{Code: CloseAbnormalClosure, Reason: reason})
}
