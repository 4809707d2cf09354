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

// hkAction is what the housekeeper does for a connection on a tick: a set
// of these flags.
type hkAction uint8

const (
	hkPing   hkAction = 1 << iota // silent for PingInterval: send a ping
	hkIdle                        // silent for IdleTimeout: close it
	hkUnread                      // its handler stopped reading: start a background reader
)

// elapsed is the time from then to now on the housekeeper's clock, which
// wraps every 49 days. A then slightly after now (a connection tracked after
// the clock was read) counts as no time at all, instead of as 49 days.
func elapsed(now, then uint32) time.Duration {
	d := now - then
	if back := int32(d); back < 0 && back > -int32(time.Hour/time.Millisecond) {
		return 0
	}
	return time.Duration(d) * time.Millisecond
}

// inspect updates the housekeeper's notes on c at nowMs and says what to
// do. The caller holds the registry's lock.
func (a *App) inspect(c *Conn, nowMs uint32) hkAction {
	hk := &c.hk
	if hk.idled {
		return 0 // closing for idleness: once is enough
	}
	role := c.owner.current()
	if rx := c.rx.Load(); rx != hk.rx || role == readLent {
		// A lent message's callback holds the socket: what the peer sent
		// meanwhile waits unread, so silence proves nothing.
		hk.rx, hk.lastRx = rx, nowMs
	}
	silent := elapsed(nowMs, hk.lastRx)
	if t := a.opts.IdleTimeout; t > 0 && silent >= t {
		hk.idled = true
		return hkIdle
	}
	var do hkAction
	if t := a.opts.PingInterval; t > 0 && silent >= t && elapsed(nowMs, hk.lastPing) >= t {
		hk.lastPing = nowMs
		do |= hkPing
	}
	if r := c.reads.Load(); r != hk.reads || role != readIdle {
		hk.reads, hk.quiet = r, 0
	} else if hk.quiet++; hk.quiet == 2 {
		do |= hkUnread
	}
	return do
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
		select {
		case <-tick.C:
		case <-stop:
		}
		ping, idle, unread = ping[:0], idle[:0], unread[:0]
		a.reg.mu.Lock()
		if len(a.reg.conns) == 0 {
			a.reg.running = false
			a.reg.mu.Unlock()
			return
		}
		// Read the clock under the lock, not from the tick: a tick that
		// waited in the channel is older than a connection tracked since,
		// whose silence would then be negative (see elapsed).
		nowMs := a.millis(time.Now())
		for c := range a.reg.conns {
			do := a.inspect(c, nowMs)
			if do&hkPing != 0 {
				ping = append(ping, c)
			}
			if do&hkIdle != 0 {
				idle = append(idle, c)
			}
			if do&hkUnread != 0 {
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
