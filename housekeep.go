package wsapi

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// registry tracks an app's connections for housekeeping and shutdown.
type registry struct {
	mu       sync.Mutex // guards everything below
	conns    map[*Conn]struct{}
	active   int           // handshakes and handlers in progress
	idle     chan struct{} // closed when active drops to zero during Shutdown
	shutdown bool
	running  bool          // the housekeeper goroutine is running
	stop     chan struct{} // tells a running housekeeper that the last connection left
}

// Stats are an app's counters since New, for export to a metrics system
// (expvar, Prometheus...).
type Stats struct {
	Open     int    // connections open now
	Accepted uint64 // handshakes accepted
	Refused  uint64 // handshakes refused: bad requests, origins, limits, dependencies, handlers
	Failed   uint64 // accepted connections whose handler returned an error or panicked
	Panics   uint64 // panics recovered in handlers and dependencies
}

type counters struct {
	accepted, refused, failed, panics atomic.Uint64
}

// Stats returns the app's counters.
func (a *App) Stats() Stats {
	a.reg.mu.Lock()
	open := len(a.reg.conns)
	a.reg.mu.Unlock()
	return Stats{
		Open:     open,
		Accepted: a.count.accepted.Load(),
		Refused:  a.count.refused.Load(),
		Failed:   a.count.failed.Load(),
		Panics:   a.count.panics.Load(),
	}
}

// housekeeping is what the housekeeper remembers about one connection.
type housekeeping struct {
	reads    uint32 // Conn.reads at the last tick
	rx       uint32 // Conn.rx at the last tick
	lastRx   int64  // when a frame last arrived, in Unix nanoseconds
	lastPing int64
	quiet    int  // ticks in a row the handler neither read nor was reading
	idled    bool // closed for idleness already
}

// pingFrame is the keepalive ping, shared by every connection.
var pingFrame = encodeFrame(ws.OpPing, nil)

// admit counts a new handshake in, or says why it is refused.
func (a *App) admit() (int, string) {
	a.reg.mu.Lock()
	defer a.reg.mu.Unlock()
	if a.reg.shutdown {
		return http.StatusServiceUnavailable, "server shutting down"
	}
	if m := a.opts.MaxConnections; m > 0 && a.reg.active >= m {
		return http.StatusServiceUnavailable, "too many connections"
	}
	a.reg.active++
	return 0, ""
}

// release counts a finished handler out.
func (a *App) release() {
	a.reg.mu.Lock()
	defer a.reg.mu.Unlock()
	a.reg.active--
	if a.reg.active == 0 && a.reg.idle != nil {
		close(a.reg.idle)
		a.reg.idle = nil
	}
}

// track registers an accepted connection and starts the housekeeper. It
// reports whether the app is shutting down: Shutdown took its list of
// connections under the same lock, so one accepted since must close itself.
func (a *App) track(c *Conn) (shuttingDown bool) {
	a.reg.mu.Lock()
	defer a.reg.mu.Unlock()
	c.hk.lastRx = time.Now().UnixNano()
	a.reg.conns[c] = struct{}{}
	a.count.accepted.Add(1)
	if !a.reg.running {
		a.reg.running = true
		a.reg.stop = make(chan struct{}, 1)
		go a.housekeep(a.reg.stop)
	}
	return a.reg.shutdown
}

func (a *App) untrack(c *Conn) {
	a.reg.mu.Lock()
	delete(a.reg.conns, c)
	if len(a.reg.conns) == 0 && a.reg.running {
		select {
		case a.reg.stop <- struct{}{}: // the housekeeper leaves now rather than at its next tick
		default:
		}
	}
	a.reg.mu.Unlock()
}

// housekeepTick is how often the housekeeper looks at every connection.
func (a *App) housekeepTick() time.Duration {
	t := 500 * time.Millisecond
	for _, d := range []time.Duration{a.opts.PingInterval, a.opts.IdleTimeout} {
		if d > 0 && d/4 < t {
			t = d / 4
		}
	}
	return max(t, 10*time.Millisecond)
}

// housekeep runs while the app has connections. Each tick it pings
// connections that have been silent for PingInterval, closes those silent
// for IdleTimeout, and starts a background reader for a connection whose
// handler has stopped reading, so that its pings are answered and its
// context is cancelled when the peer goes away.
func (a *App) housekeep(stop chan struct{}) {
	tick := time.NewTicker(a.housekeepTick())
	defer tick.Stop()
	var ping, idle, unread []*Conn
	for {
		var now time.Time
		select {
		case now = <-tick.C:
		case <-stop:
			now = time.Now()
		}
		ping, idle, unread = ping[:0], idle[:0], unread[:0]
		a.reg.mu.Lock()
		if len(a.reg.conns) == 0 {
			a.reg.running = false
			a.reg.mu.Unlock()
			return
		}
		nowN := now.UnixNano()
		for c := range a.reg.conns {
			hk := &c.hk
			if hk.idled {
				continue // closing for idleness: once is enough
			}
			role := c.owner.current()
			if rx := c.rx.Load(); rx != hk.rx || role == readLent {
				// A lent message's callback holds the socket: what the peer
				// sent meanwhile waits unread, so silence proves nothing.
				hk.rx, hk.lastRx = rx, nowN
			}
			silent := time.Duration(nowN - hk.lastRx)
			if t := a.opts.IdleTimeout; t > 0 && silent >= t {
				hk.idled = true
				idle = append(idle, c)
				continue
			}
			if t := a.opts.PingInterval; t > 0 && silent >= t && time.Duration(nowN-hk.lastPing) >= t {
				hk.lastPing = nowN
				ping = append(ping, c)
			}
			if r := c.reads.Load(); r != hk.reads || role != readIdle {
				hk.reads, hk.quiet = r, 0
			} else if hk.quiet++; hk.quiet == 2 {
				unread = append(unread, c)
			}
		}
		a.reg.mu.Unlock()
		for _, c := range ping {
			c.enqueue(pingFrame, 0)
		}
		for _, c := range idle {
			go c.closeHandshake(CloseGoingAway, "idle timeout")
		}
		for _, c := range unread {
			c.startBackgroundReader()
		}
	}
}

// Shutdown closes every connection with CloseGoingAway (1001) and waits for
// their handlers to return; new handshakes are refused with 503 from the
// start. When ctx ends first, the remaining connections are dropped and
// Shutdown returns ctx.Err(). Call it beside http.Server.Shutdown, which does
// not know about WebSocket connections.
func (a *App) Shutdown(ctx context.Context) error {
	a.reg.mu.Lock()
	a.reg.shutdown = true
	conns := make([]*Conn, 0, len(a.reg.conns))
	for c := range a.reg.conns {
		conns = append(conns, c)
	}
	var idle chan struct{}
	if a.reg.active > 0 {
		if a.reg.idle == nil {
			a.reg.idle = make(chan struct{})
		}
		idle = a.reg.idle
	}
	a.reg.mu.Unlock()
	for _, c := range conns {
		go c.closeHandshake(CloseGoingAway, "server shutting down")
	}
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		a.reg.mu.Lock()
		for c := range a.reg.conns {
			go c.finish(&DisconnectError{Code: CloseGoingAway, Reason: "server shutting down"})
		}
		a.reg.mu.Unlock()
		return ctx.Err()
	}
}
