package wsapi

import (
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// Helpers for the package's internal tests, fuzz targets and benchmarks:
// connections that skip the HTTP handshake.

func quietOptions(o Options) *Options {
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return &o
}

// newOpenConn returns an accepted connection over nc, as Accept leaves it,
// without the HTTP handshake.
func newOpenConn(app *App, nc net.Conn) *Conn {
	rt := &route{app: app, pattern: "/test"}
	c := newConn(app, rt, nil, httptest.NewRequest("GET", "/test", nil), 1, time.Now())
	c.nc = nc
	if c.rc = rawConnOf(nc); c.rc != nil {
		c.rawFn = c.rawRead
	}
	c.state.Store(int32(StateOpen))
	return c
}

// discardConn is a net.Conn that takes every write at once and whose reads
// block until it is closed: a client that reads infinitely fast and says
// nothing.
type discardConn struct {
	closeOnce sync.Once
	closed    chan struct{}
}

func newDiscardConn() *discardConn { return &discardConn{closed: make(chan struct{})} }

func (d *discardConn) Read(p []byte) (int, error) { <-d.closed; return 0, io.EOF }
func (d *discardConn) Write(p []byte) (int, error) {
	select {
	case <-d.closed:
		return 0, net.ErrClosed
	default:
		return len(p), nil
	}
}
func (d *discardConn) Close() error                       { d.closeOnce.Do(func() { close(d.closed) }); return nil }
func (d *discardConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (d *discardConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (d *discardConn) SetDeadline(t time.Time) error      { return nil }
func (d *discardConn) SetReadDeadline(t time.Time) error  { return nil }
func (d *discardConn) SetWriteDeadline(t time.Time) error { return nil }

// loopConn is a net.Conn whose reads return frames from a buffer, over and
// over, and whose writes are discarded: for benchmarking the read path.
type loopConn struct {
	discardConn
	data []byte
	off  int
}

func (l *loopConn) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

// TestFrameOverhead keeps frameOverhead, a constant so that no unsafe is
// needed outside tests, equal to an outFrame's size.
func TestFrameOverhead(t *testing.T) {
	if got := int(unsafe.Sizeof(outFrame{})); got != frameOverhead {
		t.Fatalf("an outFrame takes %d bytes, frameOverhead says %d", got, frameOverhead)
	}
}

// TestHousekeeperClock: a connection tracked after the housekeeper read its
// clock (a tick that waited under load) is not silent for 49 days, and is
// not closed for idleness; a silent one is pinged, then closed.
func TestHousekeeperClock(t *testing.T) {
	app := New(&Options{PingInterval: time.Second, IdleTimeout: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	c := &Conn{app: app}
	tracked := app.millis(time.Now())
	c.hk.lastRx, c.hk.lastPing = tracked, tracked
	if do := app.inspect(c, tracked-50); do != 0 {
		t.Fatalf("50 ms before it was tracked: %b, want nothing", do)
	}
	if do := app.inspect(c, tracked+1500); do&hkPing == 0 || do&hkIdle != 0 {
		t.Fatalf("silent 1.5 s: %b, want a ping", do)
	}
	if do := app.inspect(c, tracked+3500); do&hkIdle == 0 {
		t.Fatalf("silent 3.5 s: %b, want an idle close", do)
	}
	// 30 days after the app started, a connection never pinged is pinged.
	d := &Conn{app: app}
	now := uint32(30 * 24 * time.Hour / time.Millisecond)
	d.hk.lastRx = now - 1500
	if do := app.inspect(d, now); do&hkPing == 0 {
		t.Fatalf("30 days in, silent 1.5 s, never pinged: %b, want a ping", do)
	}
}
