package main

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi/examples/internal/runtest"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// logs is a log sink the tests read.
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

func testApp() (*wsapi.App, *logs) {
	out := &logs{}
	return newApp(slog.New(slog.NewTextHandler(out, nil)), 10*time.Millisecond), out
}

func TestClientLeaves(t *testing.T) {
	app, out := testApp()
	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	ws.SendText("hi")
	if got := ws.ReceiveText(); got != "echo: hi" {
		t.Fatalf("got %q", got)
	}
	ws.CloseWith(wsapi.CloseGoingAway, "tab closed") // waits for the handler
	if !strings.Contains(out.String(), `msg="client left" code=1001 reason="tab closed"`) {
		t.Fatalf("logs:\n%s", out)
	}
}

func TestClientDropsTheNetwork(t *testing.T) {
	app, out := testApp()
	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	ws.Drop() // no close frame: the handler sees 1006
	if !strings.Contains(out.String(), `msg="client left" code=1006 reason=""`) {
		t.Fatalf("logs:\n%s", out)
	}
}

func TestServerClosesWithItsOwnCode(t *testing.T) {
	app, _ := testApp()
	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	ws.SendText("quit")
	if reason := ws.ExpectClose(4000); reason != "bye" {
		t.Fatalf("reason %q", reason)
	}
}

func TestHandlerErrorCloses1011AndIsLogged(t *testing.T) {
	app, out := testApp()
	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	ws.SendText("fail")
	if reason := ws.ExpectClose(wsapi.CloseInternalServerError); reason != "internal server error" {
		t.Fatalf("reason %q: the error itself must not reach the client", reason)
	}
	if err := ws.Wait(); err == nil || err.Error() != "something broke" {
		t.Fatalf("Wait = %v", err)
	}
	// The line names the route, the connection's id and the path.
	if !regexp.MustCompile(`level=ERROR msg="wsapi: handler failed" route=/ws conn=\d+ path=/ws `).MatchString(out.String()) ||
		!strings.Contains(out.String(), `err="something broke"`) {
		t.Fatalf("logs:\n%s", out)
	}
}

func TestClockTicks(t *testing.T) {
	app, _ := testApp()
	ws := wsapitest.New(t, app, nil).Connect("/clock", nil)
	for range 3 {
		if got := ws.ReceiveText(); !regexp.MustCompile(`^\d\d:\d\d:\d\d$`).MatchString(got) {
			t.Fatalf("got %q", got)
		}
	}
	ws.Close() // fails the test unless the handler ends quietly
}

func TestClockStopsWhenTheClientLeaves(t *testing.T) {
	out := &logs{}
	app := newApp(slog.New(slog.NewTextHandler(out, nil)), time.Hour) // no tick: never sends, never reads
	ws := wsapitest.New(t, app, nil).Connect("/clock", nil)
	ws.CloseWith(wsapi.CloseNormalClosure, "enough") // waits for the handler
	if !strings.Contains(out.String(), `msg="clock stopped" cause="wsapi: connection closed: 1000 (normal closure) \"enough\""`) {
		t.Fatalf("logs:\n%s", out)
	}
}

func TestShutdownCloses1001(t *testing.T) {
	prog := runtest.Start(t, run)
	ws, err := wsapitest.DialURL(t, prog.WS+"clock", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.ReceiveText()
	prog.Stop() // as Ctrl-C would
	for {
		_, _, err := ws.Receive() // clock ticks may arrive before the close
		if err != nil {
			if wsapi.CloseStatus(err) != wsapi.CloseGoingAway {
				t.Fatalf("got %v, want a close with 1001", err)
			}
			break
		}
	}
	if err := prog.Wait(); err != nil {
		t.Fatalf("run: %v", err)
	}
}
