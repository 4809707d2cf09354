package wsapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
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
	//     connection. Accept writes nc, rc, deflate and the request's record
	//     (which holds the subprotocol), then
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
	//   - Ending: finish runs once (closeOnce), closes the socket and
	//     cancels ctx, whose Done channel is what waiters select on;
	//     closeErr records why.
	app    *App
	route  *route
	req    atomic.Pointer[http.Request] // the handshake request; nil once compacted into record
	record atomic.Pointer[requestRecord]
	w      http.ResponseWriter // valid until the handshake is answered
	ctx    context.Context
	cancel context.CancelCauseFunc

	state     atomic.Int32 // a ConnState
	accepting atomic.Bool  // Accept was called
	nc        net.Conn     // set by Accept
	rc        syscall.RawConn
	rawFn     func(fd uintptr) bool // c.rawRead, made once: a method value allocates
	drainFn   func()                // c.drain, made once, so that starting a writer does not allocate
	deflate   *deflate              // permessage-deflate state, when negotiated; set by Accept, before StateOpen
	deps      *depState
	handoff   chan *upgradeTask // to the goroutine serving the handshake: upgrade, or (closed) return

	// Read side.
	owner     readOwner   // who reads the socket now
	receiving atomic.Bool // a Receive call is running (misuse check)
	held      bool        // the running Receive call holds owner; touched only under receiving

	// Write side, with the read side's fields between them packed in.
	writing   bool // a goroutine is writing to nc; others queue behind it; guarded by wmu
	closeSent bool // a close frame was written or queued: nothing may follow it; guarded by wmu

	rd    reader        // touched only by the owner
	reads atomic.Uint32 // Receive calls so far, watched by the housekeeper
	rx    atomic.Uint32 // frames received so far, watched by the housekeeper
	bg    atomic.Pointer[bgReader]
	intr  atomic.Pointer[interrupter] // made by the first Receive with a context of its own

	// Write side.
	wmu       sync.Mutex // guards writing, closeSent, queue, spare, queued and finishers
	queue     []outFrame
	spare     []outFrame
	queued    int   // bytes waiting in queue, with frameOverhead per frame
	wdeadline int64 // the write deadline now set on the socket, in Unix nanoseconds; touched by the writing goroutine

	finishers []func() // run once the connection is over; nil after that; guarded by wmu

	closing    atomic.Pointer[DisconnectError] // the record sent with our close frame
	localClose atomic.Bool                     // this side sent the first close frame
	closeOnce  sync.Once
	closeErr   atomic.Pointer[DisconnectError] // why the connection ended; set once

	hk          housekeeping // the housekeeper's notes; touched only by it
	handoffOnce sync.Once
	id          uint64 // the connection's number in the app, for logs and observers
	started     int64  // when its handshake request arrived, in Unix nanoseconds
	opened      int64  // when Accept opened it, in Unix nanoseconds; 0 before
}

func newConn(a *App, rt *route, w http.ResponseWriter, r *http.Request, id uint64, started time.Time) *Conn {
	ctx, cancel := context.WithCancelCause(a.withApp(a.connParent(rt, r)))
	c := &Conn{
		app:     a,
		route:   rt,
		w:       w,
		ctx:     ctx,
		cancel:  cancel,
		handoff: make(chan *upgradeTask),
	}
	c.req.Store(r)
	c.id, c.started = id, started.UnixNano()
	c.drainFn = c.drain
	return c
}

// Context returns the connection's context: it carries the values of the
// handshake request's context and is cancelled, with a *DisconnectError as its
// cause, when the connection ends, even if the handler never reads, and when
// the app shuts down. It is the ctx the handler receives.
func (c *Conn) Context() context.Context { return c.ctx }

// Request returns the handshake request, its headers, URL and path values
// included. Its Body is not readable. Once the connection is accepted, the
// request wsapi keeps is compact, and Request rebuilds an equivalent one on
// its first call, whose context is the connection's (Context): it has the
// handshake request's values and ends with the connection.
func (c *Conn) Request() *http.Request { return c.request() }

// State returns the connection's current state.
func (c *Conn) State() ConnState { return ConnState(c.state.Load()) }

// RemoteAddr returns the client's network address, as net/http reports it
// (behind a proxy, the proxy's address: read X-Forwarded-For yourself if you
// trust the proxy).
func (c *Conn) RemoteAddr() string { return c.remoteAddr() }

// Subprotocol returns the subprotocol agreed by Accept, or "" (before
// Accept too).
func (c *Conn) Subprotocol() string {
	if c.State() == StateConnecting {
		return ""
	}
	if rec := c.record.Load(); rec != nil {
		return rec.subprotocol
	}
	return ""
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
	if p := offeredProtocols(c.request()); p != nil {
		return p
	}
	return []string{}
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
		c.observeEnd(d)
		if c.nc != nil {
			c.nc.Close()
		}
		// The connection is over when its context is done: waiters use the
		// context's Done channel, which is made only if somebody waits.
		c.cancel(d)
		c.app.untrack(c)
		c.wmu.Lock()
		fs := c.finishers
		c.finishers = nil
		c.wmu.Unlock()
		for _, f := range fs {
			f()
		}
	})
}

// onFinish registers f to run when the connection is over. It reports false,
// without registering, when it is over already.
func (c *Conn) onFinish(f func()) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
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
