package wsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
)

// AcceptOptions tunes Conn.Accept. A nil *AcceptOptions accepts with no
// subprotocol and no extra headers.
type AcceptOptions struct {
	// Subprotocol is the subprotocol to agree on; it must be one the client
	// offered (see Conn.Subprotocols). When empty and a dependency bound a
	// value with a protocol tag, such as `protocol:"bearer"`, that tag's
	// marker is agreed on, so that the token itself is never echoed.
	Subprotocol string
	// Header holds extra headers for the 101 Switching Protocols response,
	// such as Set-Cookie. Headers that middleware set on the ResponseWriter
	// before the handler ran are sent too.
	Header http.Header
}

// Accept completes the handshake with 101 Switching Protocols. Until the
// handler calls it, the client waits; a handler that returns without calling
// it refuses the connection (see RejectError).
func (c *Conn) Accept(ctx context.Context, opts *AcceptOptions) error {
	return c.accept(ctx, opts, false)
}

// accept is Accept; refusing says that a refusal accepts only to close with
// its code, so that the handshake is reported as refused.
func (c *Conn) accept(ctx context.Context, opts *AcceptOptions, refusing bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.State() != StateConnecting || !c.accepting.CompareAndSwap(false, true) {
		return errors.New("wsapi: Accept called on a connection that is not connecting (twice, or after it ended)")
	}
	if opts == nil {
		opts = &AcceptOptions{}
	}
	proto := opts.Subprotocol
	if proto == "" {
		proto = c.route.protocolMarker(c.Subprotocols())
	} else if !slices.Contains(c.Subprotocols(), proto) {
		c.accepting.Store(false)
		return fmt.Errorf("wsapi: Accept: subprotocol %q was not offered by the client (it offered %q)", proto, c.Subprotocols())
	}
	t := &upgradeTask{header: opts.Header, proto: proto, refusing: refusing, result: make(chan error, 1)}
	if hand := c.handoff; hand != nil {
		// The goroutine serving the handshake request waits for this: the
		// upgrade runs there, on a stack that is deep already, and the
		// handler's stays small for the connection's life.
		hand <- t
	} else {
		err := c.upgrade(t)
		if err == nil && !refusing {
			c.app.accepted(c)
		}
		t.result <- err
	}
	if err := <-t.result; err != nil {
		c.finish(&DisconnectError{Code: CloseAbnormalClosure, Reason: "handshake failed"})
		return fmt.Errorf("wsapi: Accept: %w", err)
	}
	c.releaseHandoff()
	// Broadcasts queued while connecting go out now.
	c.wmu.Lock()
	start := len(c.queue) > 0 && !c.writing
	c.writing = c.writing || start
	c.wmu.Unlock()
	if start {
		go c.drainFn()
	}
	return nil
}

// upgradeHeader returns the extra headers of the 101 response: those that
// middleware set on the ResponseWriter (security headers, Set-Cookie...),
// then the AcceptOptions' own. Headers that only the handshake may set, and
// those that would frame a body, are left out.
func upgradeHeader(fromMiddleware, own http.Header) http.Header {
	if len(fromMiddleware) == 0 {
		return own
	}
	h := make(http.Header, len(fromMiddleware)+len(own))
	for k, v := range fromMiddleware {
		switch k {
		case "Connection", "Upgrade", "Content-Length", "Transfer-Encoding", "Content-Type",
			"Sec-Websocket-Accept", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Sec-Websocket-Version":
			continue
		}
		h[k] = v
	}
	for k, v := range own {
		h[k] = append(h[k], v...)
	}
	return h
}

// upgradeTask is what Accept asks of the goroutine serving the handshake.
type upgradeTask struct {
	header   http.Header
	proto    string
	refusing bool // a refusal accepts to close with its code (Options.RejectAfterAccept)
	result   chan error
}

// upgrade answers the handshake with 101 Switching Protocols, takes over
// the connection and opens it: it writes the fields that other goroutines
// read once they see StateOpen, then stores it.
func (c *Conn) upgrade(t *upgradeTask) error {
	u := ws.HTTPUpgrader{Header: upgradeHeader(c.w.Header(), t.header), Timeout: c.app.opts.WriteTimeout}
	if t.proto != "" {
		u.Protocol = func(p string) bool { return p == t.proto }
	}
	if mode := c.app.opts.Compression; mode != CompressionDisabled {
		u.Negotiate = func(offer httphead.Option) (httphead.Option, error) {
			if c.deflate == nil {
				var resp httphead.Option
				resp, c.deflate = negotiateDeflate(mode, []httphead.Option{offer})
				return resp, nil
			}
			return httphead.Option{}, nil
		}
	}
	nc, rw, hs, err := u.Upgrade(c.req.Load(), c.w)
	c.nc = nc
	if err != nil {
		return err // the upgrader has answered the client with an HTTP error
	}
	// Bytes the client sent right behind its request are already buffered.
	// Nobody else reads before StateOpen.
	if n := rw.Reader.Buffered(); n > 0 {
		c.rd.acquire()
		c.rd.w, _ = rw.Reader.Read(c.rd.buf[:min(n, len(c.rd.buf))])
		if n > len(c.rd.buf) { // cannot happen with net/http's 4 KiB reader
			return errors.New("handshake buffer overflow")
		}
	}
	if c.rc = rawConnOf(nc); c.rc != nil {
		c.rawFn = c.rawRead
	}
	c.w = nil
	// What remains of the handshake's work happens here too, off the
	// handler's stack: keeping only a record of the request, and tracking
	// the connection for housekeeping and shutdown.
	c.compactRequest(hs.Protocol)
	if !t.refusing {
		c.opened = time.Now().UnixNano() // a refusal's accept opens nothing
	}
	c.state.Store(int32(StateOpen)) // after the fields above: see Conn
	if c.app.track(c) {
		go c.closeHandshake(CloseGoingAway, "server shutting down")
	}
	return nil
}

// releaseHandoff lets ServeHTTP return without an upgrade: the handshake was
// refused, or the connection ended.
func (c *Conn) releaseHandoff() {
	c.handoffOnce.Do(func() {
		if c.handoff != nil { // nil when the handshake's own goroutine refuses it
			close(c.handoff)
			c.handoff = nil // ServeHTTP took its own reference: free the channel
		}
	})
}
