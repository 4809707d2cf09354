package wsapi

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
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
	c.hk.lastRx = a.millis(time.Now())
	a.reg.conns[c] = struct{}{}
	a.count.accepted.Add(1)
	if !a.reg.running {
		a.reg.running = true
		a.reg.stop = make(chan struct{}, 1)
		go a.housekeep(a.reg.stop)
	}
	return a.reg.shutdown
}

// millis is t in the housekeeper's clock: milliseconds since the app was
// made, wrapping every 49 days (only differences are used).
func (a *App) millis(t time.Time) uint32 { return uint32(t.Sub(a.epoch).Milliseconds()) }

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
