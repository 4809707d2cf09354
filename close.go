package wsapi

import (
	"context"
	"time"

	"github.com/gobwas/ws"
)

const (
	// closeTimeout is how long Close waits for the peer's close frame.
	closeTimeout = 5 * time.Second
	// lingerTimeout is how long a connection failed for a protocol error
	// drains its input after sending its close frame, so the peer can read
	// that frame before the socket is reset.
	lingerTimeout = time.Second
)

// closeHandshake sends a close frame with code and reason and waits for the
// peer's close frame, then ends the connection.
func (c *Conn) closeHandshake(code CloseCode, reason string) {
	rec := &DisconnectError{Code: code, Reason: reason}
	switch err := c.writeClose(rec, true); err {
	case nil:
		c.awaitPeerClose(rec)
	case errAfterClose:
		// Another goroutine is closing: wait for it to finish.
		select {
		case <-c.ctx.Done():
		case <-time.After(closeTimeout):
			c.finish(c.closing.Load())
		}
	}
	// Any other error: the write failed and the connection has ended.
}

// awaitPeerClose waits for the peer's answer to our close frame. The
// socket's owner reads it; when nobody owns the socket, or once its owner
// gives it back, awaitPeerClose takes the socket and reads (discarding data
// messages) itself.
func (c *Conn) awaitPeerClose(rec *DisconnectError) {
	deadline := time.Now().Add(closeTimeout)
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	for {
		released := c.owner.released()
		if c.owner.take(readCloser) {
			c.nc.SetReadDeadline(deadline)
			for c.closed() == nil {
				if _, _, _, err := c.readMessage(); err != nil {
					break // the peer's close frame ends the connection; anything else gives up
				}
			}
			c.rd.drop()
			c.finish(rec)
			return
		}
		select {
		case <-c.ctx.Done():
			return
		case <-timer.C:
			c.finish(rec)
			return
		case <-released: // the owner gave the socket back: take it
		}
	}
}

// peerClosed handles the peer's close frame carrying d: the answer to our
// close frame, or the peer closing first, which we answer with its code.
func (c *Conn) peerClosed(d *DisconnectError) {
	if !c.localClose.Load() {
		err := c.writeFrame(context.Background(), ws.OpClose, closePayload(d.Code, ""), d, false)
		if err != errAfterClose || !c.localClose.Load() {
			c.finish(d)
			return
		}
	}
	c.finish(c.closing.Load())
}

// fail ends the connection for a protocol violation: it sends a close frame
// with code and reason, lets the peer read it, and closes the socket. It is
// called by the goroutine holding the read token.
func (c *Conn) fail(code CloseCode, reason string) {
	rec := &DisconnectError{Code: code, Reason: truncateReason(reason)}
	switch c.writeClose(rec, true) {
	case nil:
		c.linger()
		c.rd.drop()
		c.finish(rec)
	case errAfterClose:
		c.finish(c.closing.Load())
	}
}

// linger half-closes the socket after our close frame and discards input for
// a moment, so that unread input does not turn our close into a reset that
// could destroy the close frame before the peer reads it.
func (c *Conn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	c.rd.acquire()
	for {
		if _, err := c.nc.Read(c.rd.buf[:]); err != nil {
			return
		}
	}
}
