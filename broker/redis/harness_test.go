package redisbroker_test

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

// quietTimeout is the receive timeout of the clients that check that no
// further message arrives: long enough for a message on its way over
// loopback to arrive, short enough to wait for once per check.
const quietTimeout = 750 * time.Millisecond

// newApp serves one route: the handler connects the client to m, joins the
// rooms named by the room query parameters, says "ready" (so the test knows
// the client is registered), then reads until the client leaves.
func newApp(m *wsapi.Manager) *wsapi.App {
	app := wsapi.New(nil)
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := m.Connect(ctx, ws); err != nil {
			return err
		}
		for _, room := range ws.Request().URL.Query()["room"] {
			if err := m.Join(ws, room); err != nil {
				return err
			}
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

// process is what one server process of a deployment holds: a broker
// connection, a manager using it, and an app serving the manager's clients.
type process struct {
	name   string
	broker wsapi.Broker
	m      *wsapi.Manager
	client *wsapitest.Client // default timeouts
	quiet  *wsapitest.Client // short timeouts, for silence checks
}

func newProcess(t *testing.T, name string, b wsapi.Broker) *process {
	t.Helper()
	p := &process{name: name, broker: b, m: wsapi.NewManager(nil)}
	if err := p.m.UseBroker(context.Background(), b); err != nil {
		t.Fatalf("%s: UseBroker: %v", name, err)
	}
	t.Cleanup(func() {
		p.m.Close()
		b.Close()
	})
	app := newApp(p.m)
	p.client = wsapitest.New(t, app)
	p.quiet = wsapitest.New(t, app, wsapitest.Timeout(quietTimeout))
	return p
}

// join connects a client to the process and waits until it is registered.
func (p *process) join(t *testing.T, c *wsapitest.Client, rooms ...string) *wsapitest.Conn {
	t.Helper()
	path := "/ws"
	if len(rooms) > 0 {
		path += "?" + url.Values{"room": rooms}.Encode()
	}
	ws := c.Connect(path)
	expect(t, ws, "ready")
	return ws
}

func expect(t *testing.T, ws *wsapitest.Conn, want string) {
	t.Helper()
	if got := ws.ReceiveText(); got != want {
		t.Fatalf("received %q, want %q", got, want)
	}
}

// expectSilence fails unless nothing arrives on ws within its client's
// timeout (use a connection of a quiet client).
func expectSilence(t *testing.T, ws *wsapitest.Conn) {
	t.Helper()
	typ, b, err := ws.Receive()
	if !errors.Is(err, wsapitest.ErrTimeout) {
		t.Fatalf("expected no further message, got %v %q (err %v)", typ, b, err)
	}
}

// collectUntil receives until every sentinel has arrived and returns the
// other messages, sorted. A sentinel arriving twice fails the test.
func collectUntil(t *testing.T, ws *wsapitest.Conn, sentinels ...string) []string {
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

func broadcast(t *testing.T, p *process, text string) {
	t.Helper()
	if err := p.m.Broadcast(context.Background(), text); err != nil {
		t.Fatalf("%s: Broadcast(%q): %v", p.name, text, err)
	}
}

// burst has every process broadcast n numbered messages at once, then
// checks that every connection receives each of them exactly once, in each
// sender's order.
func burst(t *testing.T, procs []*process, conns []*wsapitest.Conn, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(procs))
	for _, p := range procs {
		wg.Go(func() {
			for i := range n {
				if err := p.m.Broadcast(context.Background(), fmt.Sprintf("%s %d", p.name, i)); err != nil {
					errs <- fmt.Errorf("%s: Broadcast %d: %w", p.name, i, err)
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

// logBuffer collects log output for assertions; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// count returns how many lines contain s.
func (l *logBuffer) count(s string) int {
	n := 0
	for line := range strings.Lines(l.String()) {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// newLogger returns a debug logger writing to a buffer, printed when the
// test fails.
func newLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", lb)
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
