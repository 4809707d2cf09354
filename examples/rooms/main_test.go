package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// clients serves n nodes sharing broker and returns a test client for each.
func clients(t *testing.T, n int, broker wsapi.Broker) ([]*wsapitest.Client, *logs) {
	out := &logs{}
	apps, err := newNodes(context.Background(), n, broker, slog.New(slog.NewTextHandler(out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]*wsapitest.Client, n)
	for i, app := range apps {
		cs[i] = wsapitest.New(t, app, nil)
	}
	return cs, out
}

func want(t *testing.T, ws *wsapitest.Conn, msg string) {
	t.Helper()
	if got := ws.ReceiveText(); got != msg {
		t.Fatalf("got %q, want %q", got, msg)
	}
}

func TestRoom(t *testing.T) {
	cs, _ := clients(t, 1, nil)
	c := cs[0]
	a := c.Connect("/rooms/lobby?name=a", nil)
	b := c.Connect("/rooms/lobby?name=b", nil)
	d := c.Connect("/rooms/garden?name=d", nil)

	a.SendText("hi")
	want(t, b, "a: hi") // a's message goes to the others of the room only

	a.SendText("/who")
	want(t, a, "2 in lobby on this server")
	d.SendText("/who") // d, in another room, got nothing before this answer
	want(t, d, "1 in garden on this server")

	d.SendText("/join lobby")
	d.SendText("/to lobby hello lobby")
	want(t, a, "d to lobby: hello lobby")
	want(t, b, "d to lobby: hello lobby")
	want(t, d, "d to lobby: hello lobby") // d is in lobby too now

	d.SendText("/leave lobby")
	b.SendText("/all everyone")
	want(t, a, "b to all: everyone")
	want(t, d, "b to all: everyone")

	b.Close()
	want(t, a, "b left")
	a.Close()
	d.Close()
}

func TestTwoNodesShareABroker(t *testing.T) {
	broker := wsapi.NewMemoryBroker()
	cs, out := clients(t, 2, broker)
	a := cs[0].Connect("/rooms/lobby?name=a", nil) // node 1
	b := cs[1].Connect("/rooms/lobby?name=b", nil) // node 2
	c := cs[0].Connect("/rooms/lobby?name=c", nil) // node 1

	b.SendText("hi from node 2")
	want(t, a, "b: hi from node 2")
	want(t, c, "b: hi from node 2")

	// Rooms are per server: /who counts this server's members.
	a.SendText("/who")
	want(t, a, "2 in lobby on this server")
	b.SendText("/who")
	want(t, b, "1 in lobby on this server")

	// The broker fails: node 1's clients still get node 1's broadcasts,
	// node 2's do not, and the failure is logged.
	broker.Close()
	a.SendText("only here")
	want(t, c, "a: only here")
	b.SendText("/who") // b's next message is this answer: nothing came through
	want(t, b, "1 in lobby on this server")
	a.SendText("/who") // once answered, a's handler has logged the failure
	want(t, a, "2 in lobby on this server")
	if !strings.Contains(out.String(), `msg="broadcast reached this server only" node=1`) {
		t.Fatalf("logs:\n%s", out)
	}
}

func TestBadParamsAreRefused(t *testing.T) {
	cs, _ := clients(t, 1, nil)
	for _, path := range []string{"/rooms/lob-by?name=a", "/rooms/lobby"} {
		_, err := cs[0].Dial(path, nil)
		var he *wsapitest.HandshakeError
		if !errors.As(err, &he) || he.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("%s: want 422, got %v", path, err)
		}
	}
}

// start runs the program as main does and returns the ws:// base URLs it
// serves, and a function that stops it as Ctrl-C would. The test waits for
// the program to return when it ends.
func start(t *testing.T, n int, args ...string) ([]string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw); pw.Close() }()
	r := bufio.NewReader(pr)
	var urls []string
	for len(urls) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if u := regexp.MustCompile(`http://\S+/`).FindString(line); u != "" {
			urls = append(urls, strings.Replace(u, "http", "ws", 1))
		}
	}
	go io.Copy(io.Discard, r)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return")
		}
	})
	return urls, cancel
}

// expectGoingAway reads until the server closes, and fails unless with 1001.
func expectGoingAway(t *testing.T, ws *wsapitest.Conn) {
	t.Helper()
	for {
		_, _, err := ws.Receive() // "x left" may come first
		if err != nil {
			if wsapi.CloseStatus(err) != wsapi.CloseGoingAway {
				t.Fatalf("got %v, want a close with 1001", err)
			}
			return
		}
	}
}

func TestRunTwoNodes(t *testing.T) {
	urls, stop := start(t, 2, "-nodes", "2")
	a, err := wsapitest.DialURL(t, urls[0]+"rooms/lobby?name=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wsapitest.DialURL(t, urls[1]+"rooms/lobby?name=b", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SendText("hi")
	want(t, b, "a: hi")
	stop()
	expectGoingAway(t, a)
	expectGoingAway(t, b)
}

// TestTwoProcessesOnNATS runs two copies of the program on one NATS server,
// as two processes would.
func TestTwoProcessesOnNATS(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	defer ns.Shutdown()

	one, stopOne := start(t, 1, "-broker", ns.ClientURL())
	two, stopTwo := start(t, 1, "-broker", ns.ClientURL())
	a, err := wsapitest.DialURL(t, one[0]+"rooms/lobby?name=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wsapitest.DialURL(t, two[0]+"rooms/lobby?name=b", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := wsapitest.DialURL(t, two[0]+"rooms/garden?name=d", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SendText("across")
	want(t, b, "a: across")
	d.SendText("/who") // d, in another room, got nothing before this answer
	want(t, d, "1 in garden on this server")
	stopOne()
	expectGoingAway(t, a)
	want(t, b, "a left")
	stopTwo()
	expectGoingAway(t, b)
	expectGoingAway(t, d)
}

func TestUnknownBroker(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-broker", "amqp://127.0.0.1:1"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "use redis://host:port or nats://host:port") {
		t.Fatalf("run = %v", err)
	}
}
