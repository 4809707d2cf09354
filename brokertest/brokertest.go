// Package brokertest checks that a wsapi.Broker carries broadcasts between
// Managers as they rely on: every client on every process receives every
// broadcast exactly once, in each sender's order; a room's broadcast
// reaches its members on every process and nobody else; a broadcast made
// right after UseBroker returns is not lost. Adapter modules run Run
// against a real server:
//
//	func TestBroker(t *testing.T) {
//		srv := startServer(t)
//		brokertest.Run(t, func(t *testing.T) wsapi.Broker { return dial(t, srv) })
//	}
//
// Its helpers (Process, Join, Expect, Burst...) serve the adapters' own
// tests, such as outages, which need control of the server.
package brokertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// QuietTimeout is the receive timeout of the clients that check that no
// further message arrives: long enough for a message on its way over
// loopback to arrive, short enough to wait for once per check.
const QuietTimeout = 750 * time.Millisecond

// NewApp serves one route, /ws: the handler connects the client to m, in
// the rooms named by the room query parameters, says "ready", then reads
// until the client leaves.
func NewApp(m *wsapi.Manager) *wsapi.App {
	app := wsapi.New(nil)
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := m.Connect(ctx, ws, ws.Request().URL.Query()["room"]...); err != nil {
			return err
		}
		if err := ws.SendText(ctx, "ready"); err != nil {
			return err
		}
		for {
			if _, err := ws.ReceiveText(ctx); err != nil {
				return err
			}
		}
	})
	return app
}

// Process is what one server process of a deployment holds: a broker
// connection, a manager using it, and an app serving the manager's clients.
type Process struct {
	Name    string
	Broker  wsapi.Broker
	Manager *wsapi.Manager
	Client  *wsapitest.Client // default timeouts
	Quiet   *wsapitest.Client // short timeouts, for ExpectSilence
}

// NewProcess gives the broker b a manager (using b through UseBroker) and
// an app serving it, as one server process of a deployment does; the
// manager and b are closed when the test ends.
func NewProcess(t testing.TB, name string, b wsapi.Broker) *Process {
	t.Helper()
	p := &Process{Name: name, Broker: b, Manager: wsapi.NewManager(nil)}
	if err := p.Manager.UseBroker(context.Background(), b); err != nil {
		t.Fatalf("%s: UseBroker: %v", name, err)
	}
	t.Cleanup(func() {
		p.Manager.Close()
		b.Close()
	})
	app := NewApp(p.Manager)
	p.Client = wsapitest.New(t, app, nil)
	p.Quiet = wsapitest.New(t, app, &wsapitest.Options{Timeout: QuietTimeout})
	return p
}

// Join connects a client to the process and waits until it is registered.
func (p *Process) Join(t testing.TB, c *wsapitest.Client, rooms ...string) *wsapitest.Conn {
	t.Helper()
	path := "/ws"
	if len(rooms) > 0 {
		path += "?" + url.Values{"room": rooms}.Encode()
	}
	ws := c.Connect(path, nil)
	Expect(t, ws, "ready")
	return ws
}

// Expect fails the test unless the next message on ws is want.
func Expect(t testing.TB, ws *wsapitest.Conn, want string) {
	t.Helper()
	if got := ws.ReceiveText(); got != want {
		t.Fatalf("received %q, want %q", got, want)
	}
}

// ExpectSilence fails unless nothing arrives on ws within its client's
// timeout (use a connection of a quiet client).
func ExpectSilence(t testing.TB, ws *wsapitest.Conn) {
	t.Helper()
	typ, b, err := ws.Receive()
	if !errors.Is(err, wsapitest.ErrTimeout) {
		t.Fatalf("expected no further message, got %v %q (err %v)", typ, b, err)
	}
}

// CollectUntil receives until every sentinel has arrived and returns the
// other messages, sorted. A sentinel arriving twice fails the test.
func CollectUntil(t testing.TB, ws *wsapitest.Conn, sentinels ...string) []string {
	t.Helper()
	pending := slices.Clone(sentinels)
	var got []string
	for len(pending) > 0 {
		msg := ws.ReceiveText()
		if i := slices.Index(pending, msg); i >= 0 {
			pending = slices.Delete(pending, i, i+1)
			continue
		}
		if slices.Contains(sentinels, msg) {
			t.Fatalf("sentinel %q arrived twice", msg)
		}
		got = append(got, msg)
	}
	slices.Sort(got)
	return got
}

// Broadcast has p's manager broadcast text, failing the test on error.
func Broadcast(t testing.TB, p *Process, text string) {
	t.Helper()
	if err := p.Manager.Broadcast(context.Background(), text); err != nil {
		t.Fatalf("%s: Broadcast(%q): %v", p.Name, text, err)
	}
}

// Burst has every process broadcast n numbered messages at once, then
// checks that every connection receives each of them exactly once, in each
// sender's order.
func Burst(t testing.TB, procs []*Process, conns []*wsapitest.Conn, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(procs))
	for _, p := range procs {
		wg.Go(func() {
			for i := range n {
				if err := p.Manager.Broadcast(context.Background(), fmt.Sprintf("%s %d", p.Name, i)); err != nil {
					errs <- fmt.Errorf("%s: Broadcast %d: %w", p.Name, i, err)
					return
				}
			}
		})
	}
	for ci, ws := range conns {
		next := map[string]int{}
		for range n * len(procs) {
			msg := ws.ReceiveText()
			var name string
			var i int
			if _, err := fmt.Sscanf(msg, "%s %d", &name, &i); err != nil {
				t.Fatalf("conn %d: unexpected message %q", ci, msg)
			}
			if i != next[name] {
				t.Fatalf("conn %d: received %q, want %q next from %s (a duplicate, a loss or a reordering)", ci, msg, fmt.Sprintf("%s %d", name, next[name]), name)
			}
			next[name]++
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// LogBuffer collects log output for assertions; it is safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// count returns how many lines contain s.
func (l *LogBuffer) Count(s string) int {
	n := 0
	for line := range strings.Lines(l.String()) {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// NewLogger returns a debug logger writing to a buffer, printed when the
// test fails.
func NewLogger(t *testing.T) (*slog.Logger, *LogBuffer) {
	lb := &LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", lb)
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Run checks the broker-carried behaviour managers rely on. newBroker
// returns a new connection to one shared broker server on each call; Run
// closes what it gets.
func Run(t *testing.T, newBroker func(t *testing.T) wsapi.Broker) {
	t.Run("FanOut", func(t *testing.T) { testFanOut(t, newBroker) })
	t.Run("Rooms", func(t *testing.T) { testRooms(t, newBroker) })
	t.Run("FirstBroadcastAfterUseBroker", func(t *testing.T) { testFirstBroadcast(t, newBroker) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, newBroker) })
}

// testFanOut: two processes, clients on both; broadcasts from either side
// reach every client once, in each sender's order, and nothing more.
func testFanOut(t *testing.T, newBroker func(t *testing.T) wsapi.Broker) {
	a := NewProcess(t, "A", newBroker(t))
	b := NewProcess(t, "B", newBroker(t))
	conns := []*wsapitest.Conn{
		a.Join(t, a.Client), a.Join(t, a.Client), a.Join(t, a.Quiet),
		b.Join(t, b.Client), b.Join(t, b.Quiet),
	}
	for round, p := range []*Process{a, b, b, a} {
		msg := fmt.Sprintf("round %d from %s", round, p.Name)
		Broadcast(t, p, msg)
		for i, ws := range conns {
			if got := ws.ReceiveText(); got != msg {
				t.Fatalf("conn %d received %q, want %q", i, got, msg)
			}
		}
	}
	Burst(t, []*Process{a, b}, conns, 100)
	ExpectSilence(t, conns[2]) // on A
	ExpectSilence(t, conns[4]) // on B
}

// testRooms: a room's broadcast reaches its members on both processes and
// nobody else.
func testRooms(t *testing.T, newBroker func(t *testing.T) wsapi.Broker) {
	a := NewProcess(t, "A", newBroker(t))
	b := NewProcess(t, "B", newBroker(t))
	type member struct {
		name string
		ws   *wsapitest.Conn
		want []string
	}
	blue := []string{"blue from A", "blue from B"}
	members := []member{
		{"A blue", a.Join(t, a.Client, "blue"), blue},
		{"A red", a.Join(t, a.Client, "red"), []string{"red from B"}},
		{"A blue+red", a.Join(t, a.Client, "blue", "red"), append(slices.Clone(blue), "red from B")},
		{"A none", a.Join(t, a.Client), nil},
		{"B blue", b.Join(t, b.Client, "blue"), blue},
		{"B none", b.Join(t, b.Client), nil},
	}
	ctx := context.Background()
	for _, err := range []error{
		a.Manager.Room("blue").Broadcast(ctx, "blue from A"),
		b.Manager.Room("blue").Broadcast(ctx, "blue from B"),
		b.Manager.Room("red").Broadcast(ctx, "red from B"),
		a.Manager.Room("green").Broadcast(ctx, "green from A"), // no members anywhere
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Each sender's messages arrive in order, so whatever a client was
	// wrongly sent arrives before that sender's sentinel.
	Broadcast(t, a, "end A")
	Broadcast(t, b, "end B")
	for _, m := range members {
		got := CollectUntil(t, m.ws, "end A", "end B")
		slices.Sort(m.want)
		if !slices.Equal(got, m.want) {
			t.Errorf("%s received %q, want %q", m.name, got, m.want)
		}
	}
}

// testFirstBroadcast: Subscribe returns once the subscription is live, so a
// broadcast sent right after UseBroker reaches the new manager's clients.
func testFirstBroadcast(t *testing.T, newBroker func(t *testing.T) wsapi.Broker) {
	a := NewProcess(t, "A", newBroker(t))
	shared := newBroker(t)
	t.Cleanup(func() { shared.Close() })
	for i := range 10 {
		m := wsapi.NewManager(nil)
		ws := (&Process{Manager: m}).Join(t, wsapitest.New(t, NewApp(m), nil))
		if err := m.UseBroker(context.Background(), shared); err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf("first broadcast %d", i)
		Broadcast(t, a, msg)
		Expect(t, ws, msg)
		if err := m.Close(); err != nil {
			t.Fatalf("Manager.Close: %v", err)
		}
		ws.Close()
	}
}

// testClosed: a closed broker refuses with wsapi.ErrBrokerClosed, and the
// manager using it still delivers to its own clients.
func testClosed(t *testing.T, newBroker func(t *testing.T) wsapi.Broker) {
	a := NewProcess(t, "A", newBroker(t))
	ws := a.Join(t, a.Client)
	if err := a.Broker.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := a.Manager.Broadcast(context.Background(), "after close")
	if !errors.Is(err, wsapi.ErrBrokerClosed) {
		t.Fatalf("Broadcast on a closed broker: %v, want wsapi.ErrBrokerClosed", err)
	}
	Expect(t, ws, "after close")
	if _, err := a.Broker.Subscribe(context.Background(), "x", func([]byte) {}); !errors.Is(err, wsapi.ErrBrokerClosed) {
		t.Fatalf("Subscribe on a closed broker: %v, want wsapi.ErrBrokerClosed", err)
	}
}
