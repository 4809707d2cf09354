package wsapi

import (
	"time"

	"github.com/gobwas/ws"
)

// housekeeping is what the housekeeper remembers about one connection.
type housekeeping struct {
	reads    uint32 // Conn.reads at the last tick
	rx       uint32 // Conn.rx at the last tick
	lastRx   uint32 // when a frame last arrived, in milliseconds since the app started (wrapping)
	lastPing uint32
	quiet    uint8 // ticks in a row the handler neither read nor was reading
	idled    bool  // closed for idleness already
}

// pingFrame is the keepalive ping, shared by every connection.
var pingFrame = encodeFrame(ws.OpPing, nil)

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
		nowMs := a.millis(now)
		for c := range a.reg.conns {
			hk := &c.hk
			if hk.idled {
				continue // closing for idleness: once is enough
			}
			role := c.owner.current()
			if rx := c.rx.Load(); rx != hk.rx || role == readLent {
				// A lent message's callback holds the socket: what the peer
				// sent meanwhile waits unread, so silence proves nothing.
				hk.rx, hk.lastRx = rx, nowMs
			}
			silent := time.Duration(nowMs-hk.lastRx) * time.Millisecond // uint32 arithmetic: wraps
			if t := a.opts.IdleTimeout; t > 0 && silent >= t {
				hk.idled = true
				idle = append(idle, c)
				continue
			}
			if t := a.opts.PingInterval; t > 0 && silent >= t && time.Duration(nowMs-hk.lastPing)*time.Millisecond >= t {
				hk.lastPing = nowMs
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
