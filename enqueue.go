package wsapi

import (
	"github.com/gobwas/ws"
)

// enqueueResult is what enqueue did with a frame.
type enqueueResult uint8

const (
	enqueued       enqueueResult = iota
	enqueueClosing               // the connection is closing: the frame is dropped
	enqueueFull                  // the queue is at its limit: the frame is not queued
)

// enqueue adds a frame to the send queue without waiting; a writer goroutine
// is started when none runs. limit bounds the bytes queued (and being
// written), frameOverhead included; a frame is always taken when nothing
// is queued, so one message larger than the limit still goes out.
func (c *Conn) enqueue(b []byte, limit int) enqueueResult {
	c.wmu.Lock()
	if c.closeSent {
		c.wmu.Unlock()
		return enqueueClosing
	}
	size := len(b) + frameOverhead
	if limit > 0 && c.queued > 0 && c.queued+size > limit {
		c.wmu.Unlock()
		return enqueueFull
	}
	c.queue = append(c.queue, outFrame{b: b})
	c.queued += size
	if c.writing || c.State() == StateConnecting {
		// Accept starts the writer once the handshake is answered.
		c.wmu.Unlock()
		return enqueued
	}
	c.writing = true
	c.wmu.Unlock()
	go c.drainFn()
	return enqueued
}

// closeSlow closes a client that cannot keep up: the frames queued for it
// are dropped and the close frame takes their place, to go out as soon as
// the client reads again (or the write timeout drops it). It does not wait;
// only its first call on a connection does anything.
func (c *Conn) closeSlow(code CloseCode) {
	rec := &DisconnectError{Code: code, Reason: "client too slow: send queue full"}
	done := make(chan error, 1)
	c.wmu.Lock()
	if c.closeSent {
		c.wmu.Unlock()
		return
	}
	dropped := c.queue
	for _, f := range dropped {
		c.queued -= len(f.b) + frameOverhead
	}
	closeFrame := encodeFrame(ws.OpClose, closePayload(rec.Code, rec.Reason))
	c.queue = []outFrame{{b: closeFrame, done: done}}
	c.queued += len(closeFrame) + frameOverhead
	c.closeSent = true
	c.closing.Store(rec)
	c.localClose.Store(true)
	c.state.CompareAndSwap(int32(StateOpen), int32(StateClosing))
	start := !c.writing && c.State() != StateConnecting
	c.writing = c.writing || start
	c.wmu.Unlock()
	for _, f := range dropped {
		if f.done != nil {
			f.done <- errAfterClose
		}
	}
	if start {
		go c.drainFn()
	}
	go func() {
		select {
		case err := <-done:
			if err == nil {
				c.awaitPeerClose(rec)
			}
		case <-c.ctx.Done():
		}
	}()
}
