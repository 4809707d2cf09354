package wsapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
)

// ConnState is the state of a connection, as reported by Conn.State.
type ConnState int32

// Connection states, in the order a connection goes through them.
const (
	StateConnecting ConnState = iota // handshake received, not yet accepted
	StateOpen                        // accepted: messages flow both ways
	StateClosing                     // a close frame was sent; waiting for the peer's
	StateClosed                      // the connection is over
)

// String returns the state's name, such as "open".
func (s ConnState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateOpen:
		return "open"
	case StateClosing:
		return "closing"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("ConnState(%d)", int(s))
}

// Conn is one WebSocket connection: FastAPI's WebSocket. The handler gets it
// before the handshake is answered and calls Accept to complete it.
//
// Concurrency: the Send methods and Close may be called from any goroutine;
// each frame is written whole, in the order the calls were made, and the
// pong and close replies of the read path share the same order. Receive
// methods must be called from one goroutine at a time; a second call while
// one runs (or from inside ReceiveFunc's callback) panics. Context, Request,
// State, Subprotocol, Subprotocols and RemoteAddr are safe anywhere.
type Conn struct {
	// The connection's concurrency model, in one place:
	//
	//   - Handshake: until Accept, only the handler's goroutine touches the
	//     connection. Accept writes nc, rc, subprotocol and deflate, then
	//     stores StateOpen; readers from other goroutines (a Manager's
	//     broadcast, Subprotocol) load the state first and read those fields
	//     only once it is past StateConnecting.
	//   - Reading: one owner of the socket's read side at a time, recorded
	//     in owner (see readOwner): the handler's Receive call, the message
	//     ReceiveFunc lends to its callback, the background reader, or a
	//     closer waiting for the peer's close frame. The owner alone touches
	//     rd. receiving guards the handler's side: one Receive call at a time.
	//   - Writing: wmu guards the send queue; the goroutine that set writing
	//     alone writes to nc and touches wr. A frame taken from the queue is
	//     written whole or the connection ends.
	//   - Ending: finish runs once (closeOnce), closes the socket, cancels
	//     ctx and closes done; closeErr records why.
	app    *App
	route  *route
	req    *http.Request
	w      http.ResponseWriter // valid until the handshake is answered
	ctx    context.Context
	cancel context.CancelCauseFunc

	state       atomic.Int32 // a ConnState
	accepting   atomic.Bool  // Accept was called
	nc          net.Conn     // set by Accept
	rc          syscall.RawConn
	rawFn       func(fd uintptr) bool // c.rawRead, made once: a method value allocates
	drainFn     func()                // c.drain, made once, so that starting a writer does not allocate
	subprotocol string                // set by Accept, before StateOpen
	deflate     *deflate              // permessage-deflate state, when negotiated; set by Accept, before StateOpen
	deps        *depState

	handoffOnce sync.Once
	handoff     chan struct{} // closed when ServeHTTP may return

	// Read side.
	owner     readOwner     // who reads the socket now
	receiving atomic.Bool   // a Receive call is running (misuse check)
	held      bool          // the running Receive call holds owner; touched only under receiving
	rd        reader        // touched only by the owner
	reads     atomic.Uint32 // Receive calls so far, watched by the housekeeper
	rx        atomic.Uint32 // frames received so far, watched by the housekeeper
	bg        atomic.Pointer[bgReader]
	interruptState

	// Write side.
	wmu       sync.Mutex // guards the fields down to closeSent
	writing   bool       // a goroutine is writing to nc; others queue behind it
	queue     []outFrame
	spare     []outFrame
	queued    int  // bytes waiting in queue, with frameOverhead per frame
	closeSent bool // a close frame was written or queued: nothing may follow it
	wr        writer

	fmu       sync.Mutex // guards finishers
	finishers []func()   // run once the connection is over; nil after that

	closing    atomic.Pointer[DisconnectError] // the record sent with our close frame
	localClose atomic.Bool                     // this side sent the first close frame
	closeOnce  sync.Once
	closeErr   atomic.Pointer[DisconnectError] // why the connection ended; set once
	done       chan struct{}                   // closed when the connection is over

	hk housekeeping // the housekeeper's notes; touched only by it
}

func newConn(a *App, rt *route, w http.ResponseWriter, r *http.Request) *Conn {
	ctx, cancel := context.WithCancelCause(a.withApp(context.WithoutCancel(r.Context())))
	c := &Conn{
		app:     a,
		route:   rt,
		req:     r,
		w:       w,
		ctx:     ctx,
		cancel:  cancel,
		handoff: make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.drainFn = c.drain
	return c
}

// Context returns the connection's context: it carries the values of the
// handshake request's context and is cancelled, with a *DisconnectError as its
// cause, when the connection ends, even if the handler never reads, and when
// the app shuts down. It is the ctx the handler receives.
func (c *Conn) Context() context.Context { return c.ctx }

// Request returns the handshake request. Its Body is not readable.
func (c *Conn) Request() *http.Request { return c.req }

// State returns the connection's current state.
func (c *Conn) State() ConnState { return ConnState(c.state.Load()) }

// RemoteAddr returns the client's network address, as net/http reports it
// (behind a proxy, the proxy's address: read X-Forwarded-For yourself if you
// trust the proxy).
func (c *Conn) RemoteAddr() string { return c.req.RemoteAddr }

// Subprotocol returns the subprotocol agreed by Accept, or "" (before
// Accept too).
func (c *Conn) Subprotocol() string {
	if c.State() == StateConnecting {
		return ""
	}
	return c.subprotocol
}

// compression returns the connection's permessage-deflate state, nil when
// none was negotiated or Accept has not finished.
func (c *Conn) compression() *deflate {
	if c.State() == StateConnecting {
		return nil
	}
	return c.deflate
}

// Subprotocols returns the subprotocols the client offered, in its order of
// preference.
func (c *Conn) Subprotocols() []string {
	if p := offeredProtocols(c.req); p != nil {
		return p
	}
	return []string{}
}

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
	u := ws.HTTPUpgrader{Header: upgradeHeader(c.w.Header(), opts.Header), Timeout: c.app.opts.WriteTimeout}
	if proto != "" {
		u.Protocol = func(p string) bool { return p == proto }
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
	nc, rw, hs, err := u.Upgrade(c.req, c.w)
	if err != nil {
		// The upgrader has answered the client with an HTTP error.
		c.nc = nc
		c.finish(&DisconnectError{Code: CloseAbnormalClosure, Reason: "handshake failed"})
		return fmt.Errorf("wsapi: Accept: %w", err)
	}
	c.nc = nc
	c.subprotocol = hs.Protocol // before StateOpen: see Conn
	// Bytes the client sent right behind its request are already buffered.
	// Nobody else reads before StateOpen.
	if n := rw.Reader.Buffered(); n > 0 {
		c.rd.acquire()
		c.rd.w, _ = rw.Reader.Read(c.rd.buf[:min(n, len(c.rd.buf))])
		if n > len(c.rd.buf) { // cannot happen with net/http's 4 KiB reader
			c.fail(CloseInternalServerError, "handshake buffer overflow")
		}
	}
	if c.rc = rawConnOf(nc); c.rc != nil {
		c.rawFn = c.rawRead
	}
	c.w = nil
	c.state.Store(int32(StateOpen))
	if c.app.track(c) {
		go c.closeHandshake(CloseGoingAway, "server shutting down")
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

func (c *Conn) releaseHandoff() {
	c.handoffOnce.Do(func() {
		close(c.handoff)
		c.handoff = nil // ServeHTTP took its own reference: free the channel
	})
}

// Close closes the connection with code and reason (cut to 123 bytes of
// UTF-8) and waits, up to a few seconds, for the client's close frame, as RFC
// 6455 asks. It is safe from any goroutine and returns nil if the connection
// is already closing. Before Accept there is nothing to close: it returns an
// error, and the handler refuses the connection by returning Reject(...).
func (c *Conn) Close(code CloseCode, reason string) error {
	switch c.State() {
	case StateConnecting:
		return errors.New("wsapi: Close before Accept: return wsapi.Reject(code, reason) from the handler to refuse a connection")
	case StateClosing, StateClosed:
		return nil
	}
	if !code.sendable() {
		return fmt.Errorf("wsapi: Close: code %d may not be sent in a close frame (RFC 6455, section 7.4)", int(code))
	}
	c.closeHandshake(code, truncateReason(reason))
	return nil
}

// closed returns the *DisconnectError that ended the connection, or nil.
func (c *Conn) closed() *DisconnectError { return c.closeErr.Load() }

// finish ends the connection with d: it closes the socket, cancels the
// context and unregisters the connection. Only the first call counts.
func (c *Conn) finish(d *DisconnectError) {
	c.closeOnce.Do(func() {
		c.closeErr.Store(d)
		c.state.Store(int32(StateClosed))
		if c.nc != nil {
			c.nc.Close()
		}
		c.cancel(d)
		close(c.done)
		c.app.untrack(c)
		c.fmu.Lock()
		fs := c.finishers
		c.finishers = nil
		c.fmu.Unlock()
		for _, f := range fs {
			f()
		}
	})
}

// onFinish registers f to run when the connection is over. It reports false,
// without registering, when it is over already.
func (c *Conn) onFinish(f func()) bool {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.closed() != nil {
		return false
	}
	c.finishers = append(c.finishers, f)
	return true
}

// ctxErr returns why a call gave up on its done ctx: the *DisconnectError once
// the connection has ended (ctx may be the connection's own, which the end
// cancels, or derived from it), ctx.Err() otherwise.
func (c *Conn) ctxErr(ctx context.Context) error {
	if d := c.closed(); d != nil {
		return d
	}
	return ctx.Err()
}

// errClosed returns the error every operation returns once the connection
// is ending or over.
func (c *Conn) errClosed() error {
	if d := c.closed(); d != nil {
		return d
	}
	if d := c.closing.Load(); d != nil {
		return d
	}
	if c.State() == StateConnecting {
		return errors.New("wsapi: connection not accepted yet: call Accept first")
	}
	return &DisconnectError{Code: CloseAbnormalClosure}
}
