package wsapi

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/wsapi-go/wsapi/internal/frame"
)

// writeBufSize bounds the frames that are copied into one buffer and written
// with one syscall; larger frames are written as header and payload with writev.
const writeBufSize = 4096

var writeBufPool = sync.Pool{New: func() any { return new([writeBufSize]byte) }}

// writer is the scratch space of a write of several buffers at once: a
// batch of queued frames, or a large frame's header and payload. Writers
// are pooled: an idle connection holds none.
type writer struct {
	hdr  [frame.MaxServerHeader]byte
	iov  net.Buffers
	vecs [][]byte
}

var writers = sync.Pool{New: func() any { return new(writer) }}

// release drops the references the writer holds and returns it to the pool.
func (w *writer) release() {
	clear(w.vecs[:cap(w.vecs)])
	w.vecs, w.iov = w.vecs[:0], nil
	if cap(w.vecs) > 1024 {
		w.vecs = nil // a huge batch's array is not worth keeping
	}
	writers.Put(w)
}

// outFrame is one encoded frame waiting in a connection's send queue.
type outFrame struct {
	b    []byte     // the whole frame, header included; may be shared between connections
	done chan error // answered once written (or not), for callers that wait; nil otherwise
}

// frameOverhead is what a queued frame costs beyond its bytes (an outFrame:
// a slice header and a channel), counted in the queue's size so that a
// bound in bytes bounds memory too.
const frameOverhead = 32

// encodeFrame returns a final, unmasked frame holding payload.
func encodeFrame(op ws.OpCode, payload []byte) []byte { return frame.Encode(false, op, payload) }

// closePayload encodes a close frame's payload; CloseNoStatusReceived
// encodes as an empty payload.
func closePayload(code CloseCode, reason string) []byte {
	return frame.ClosePayload(uint16(code), reason)
}

// errAfterClose reports a frame offered after the close frame; it is never written.
var errAfterClose = errors.New("wsapi: frame after the close frame")

// writeMessage writes one data message, waiting until it is on the wire.
// An error means the message was not sent and never will be: a send that
// gave up on ctx leaves nothing behind in the queue.
func (c *Conn) writeMessage(ctx context.Context, op ws.OpCode, payload []byte) error {
	// The connection's end comes first: with the handler's own ctx, which
	// the end cancels, the caller learns why with a *DisconnectError.
	if ctx.Err() != nil {
		return c.ctxErr(ctx)
	}
	if d := c.closed(); d != nil {
		return d
	}
	if c.State() == StateConnecting {
		return errors.New("wsapi: send before Accept: call Accept first")
	}
	var err error
	if d := c.deflate; d != nil && len(payload) >= compressMin {
		if d.serverContext {
			// Once compressed into the connection's stream, the message must
			// go out, or the client could not inflate the next one: ctx no
			// longer stops it (the write timeout still bounds it).
			d.mu.Lock()
			err = c.writeFrame(context.Background(), op|compressedOp, d.compress(payload), nil, false)
			d.mu.Unlock()
		} else {
			err = c.writeFrame(ctx, op|compressedOp, frame.Compress(payload), nil, false)
		}
	} else {
		err = c.writeFrame(ctx, op, payload, nil, false)
	}
	if err != nil {
		if d := c.closed(); d != nil {
			return d
		}
		if cerr := ctx.Err(); cerr != nil && err == cerr {
			return err
		}
		return c.errClosed()
	}
	if c.app.obs != nil {
		c.observeMessage(Sent, op, len(payload))
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
func (c *Conn) writeClose(rec *DisconnectError, local bool) error {
	return c.writeFrame(context.Background(), ws.OpClose, closePayload(rec.Code, rec.Reason), rec, local)
}

// writeFrame writes a frame in order with every other frame of the
// connection, waiting until it is written. When ctx ends first, the frame is
// taken out of the queue if it is still waiting there, and ctx.Err() is
// returned; a frame already being written is waited for, so that no frame
// reported as failed goes out later.
func (c *Conn) writeFrame(ctx context.Context, op ws.OpCode, payload []byte, rec *DisconnectError, local bool) error {
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
		done := make(chan error, 1)
		f := outFrame{b: frame.Encode(op&compressedOp != 0, op&^compressedOp, payload), done: done}
		c.queue = append(c.queue, f)
		c.queued += len(f.b) + frameOverhead
		if c.writing {
			c.wmu.Unlock()
		} else {
			c.writing = true
			c.wmu.Unlock()
			c.drain()
		}
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			if c.unqueue(done) {
				return ctx.Err()
			}
		case <-c.ctx.Done():
			if c.unqueue(done) {
				return errAfterClose
			}
		}
		// The writer has taken the frame: it answers once the frame is
		// written or the connection has failed (the socket is closed then).
		return <-done
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

// unqueue takes out of the queue the frame answered on done, and reports
// whether it was still there: not yet taken by the writer.
func (c *Conn) unqueue(done chan error) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for i, f := range c.queue {
		if f.done == done {
			c.queued -= len(f.b) + frameOverhead
			c.queue = slices.Delete(c.queue, i, i+1)
			return true
		}
	}
	return false
}

// writeNow writes one frame; the caller holds the writing role.
func (c *Conn) writeNow(op ws.OpCode, payload []byte) error {
	rsv1 := op&compressedOp != 0
	op &^= compressedOp
	if n := len(payload); n+frame.MaxServerHeader <= writeBufSize {
		buf := writeBufPool.Get().(*[writeBufSize]byte)
		h := frame.PutHeader(buf[:], rsv1, op, n)
		copy(buf[h:], payload)
		err := c.writeAll(buf[:h+n])
		writeBufPool.Put(buf)
		return err
	}
	w := writers.Get().(*writer)
	h := frame.PutHeader(w.hdr[:], rsv1, op, len(payload))
	w.vecs = append(w.vecs[:0], w.hdr[:h], payload)
	w.iov = w.vecs
	_, err := c.writeBuffers(&w.iov)
	w.release()
	return err
}

// writeAll writes b whole, as writeBuffers does.
func (c *Conn) writeAll(b []byte) error {
	for {
		c.refreshWriteDeadline()
		n, err := c.nc.Write(b)
		b = b[n:]
		if err == nil || n == 0 || len(b) == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		c.wdeadline = 0 // progress: a whole new WriteTimeout for the rest
	}
}

// writeBuffers writes bufs whole and returns how many bytes went out. A
// write that reaches its deadline having made progress goes on with a new
// one: only a client that takes no data for a whole WriteTimeout is dropped,
// however large the write.
func (c *Conn) writeBuffers(bufs *net.Buffers) (int64, error) {
	var total int64
	for {
		c.refreshWriteDeadline()
		n, err := bufs.WriteTo(c.nc)
		total += n
		if err == nil || n == 0 || len(*bufs) == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return total, err
		}
		c.wdeadline = 0 // progress: a whole new WriteTimeout for the rest
	}
}

// drain writes queued frames, many per syscall, until the queue is empty,
// then gives up the writing role. The caller holds the writing role.
func (c *Conn) drain() {
	w := writers.Get().(*writer)
	defer w.release()
	var batch []outFrame
	batchBytes := 0
	for {
		c.wmu.Lock()
		if batch != nil {
			c.queued -= batchBytes
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

		w.vecs = w.vecs[:0]
		batchBytes = 0
		for _, f := range batch {
			w.vecs = append(w.vecs, f.b)
			batchBytes += len(f.b) + frameOverhead
		}
		w.iov = w.vecs
		n, err := c.writeBuffers(&w.iov)
		clear(w.vecs[:cap(w.vecs)])
		if err != nil {
			c.abortWrites(err) // first, so that waiters see why the connection ended
		}
		// Each waiting sender learns whether its own frame went out whole.
		var end int64
		for _, f := range batch {
			end += int64(len(f.b))
			if f.done != nil {
				if end <= n {
					f.done <- nil
				} else {
					f.done <- err
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// refreshWriteDeadline keeps a write deadline between WriteTimeout/2 and
// WriteTimeout ahead, touching the socket's timer only when it runs low.
func (c *Conn) refreshWriteDeadline() {
	t := c.app.opts.WriteTimeout
	if t <= 0 {
		return
	}
	now := time.Now().UnixNano()
	if c.wdeadline-now < int64(t/2) {
		c.wdeadline = now + int64(t)
		c.nc.SetWriteDeadline(time.Unix(0, c.wdeadline))
	}
}

// abortWrites gives up the writing role after a failed write: it fails every
// queued frame and ends the connection, since a frame may be half written.
func (c *Conn) abortWrites(err error) {
	c.wmu.Lock()
	rest := c.queue
	c.queue = nil
	c.queued = 0
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
	c.finish(&DisconnectError{Code: CloseAbnormalClosure, Reason: reason})
}
