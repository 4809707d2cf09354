package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// docs:start first
func TestGreetsAndEchoes(t *testing.T) {
	app, _ := newApp()
	c := wsapitest.New(t, app, nil) // serves app on a loopback port until the test ends
	ws := c.Connect("/ws", &wsapitest.DialOptions{Cookies: []*http.Cookie{{Name: "session", Value: "s-alice"}}})

	if got := ws.ReceiveText(); got != "hello alice, welcome to lobby" {
		t.Fatalf("got %q", got)
	}
	ws.SendText("ping")
	if got := ws.ReceiveText(); got != "ping" {
		t.Fatalf("got %q", got)
	}
	ws.Close() // the close handshake, then waits for the handler to return
}

// docs:end first

// docs:start options
func TestHandshakeOptions(t *testing.T) {
	app, _ := newApp()
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/ws", &wsapitest.DialOptions{
		Cookies:      []*http.Cookie{{Name: "session", Value: "s-bob"}},
		Header:       http.Header{"Accept-Language": {"es"}},
		Query:        url.Values{"room": {"garden"}}, // or c.Connect("/ws?room=garden", ...)
		Subprotocols: []string{"chat.v1"},
	})
	if got := ws.ReceiveText(); got != "hola bob, bienvenido a garden" {
		t.Fatalf("got %q", got)
	}
	if ws.Subprotocol() != "chat.v1" {
		t.Fatalf("subprotocol %q", ws.Subprotocol())
	}
	ws.Close()
}

// docs:end options

// docs:start refused
func TestRefusedHandshakes(t *testing.T) {
	app, _ := newApp()
	c := wsapitest.New(t, app, nil)

	_, err := c.Dial("/ws", &wsapitest.DialOptions{Cookies: []*http.Cookie{{Name: "session", Value: "stolen"}}})
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Fatalf("want a 403, got %v", err)
	}
	if got := string(he.Body); got != `{"code":1008,"detail":"invalid session"}` {
		t.Fatalf("body %s", got)
	}

	_, err = c.Dial("/ws", nil) // no session cookie at all
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("want a 422, got %v", err)
	}
	if got := string(he.Body); got != `{"detail":[{"loc":["cookie","session"],"msg":"field required","type":"missing"}],"endpoint":"WS /ws"}` {
		t.Fatalf("body %s", got)
	}

	// A failure on the server before Accept: the client sees a 500, and the
	// test gets the server's error. Without collecting it, the test would
	// fail with it, as with Wait after Accept.
	_, err = c.Dial("/ws", &wsapitest.DialOptions{Cookies: []*http.Cookie{{Name: "session", Value: "s-down"}}})
	if !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError {
		t.Fatalf("want a 500, got %v", err)
	}
	if !errors.Is(he.ServerError(), ErrStoreDown) {
		t.Fatalf("server error %v", he.ServerError())
	}
}

// docs:end refused

// docs:start endings
func TestEndings(t *testing.T) {
	app, manager := newApp()
	c := wsapitest.New(t, app, nil)

	// The server closes: ExpectClose checks the code and returns the reason.
	ws := c.Connect("/ws", &wsapitest.DialOptions{Cookies: []*http.Cookie{{Name: "session", Value: "s-alice"}}})
	ws.ReceiveText()
	ws.SendText("bye")
	if reason := ws.ExpectClose(wsapi.CloseNormalClosure); reason != "bye alice" {
		t.Fatalf("reason %q", reason)
	}
	ws.Close() // waits for the handler: its cleanup is done when Close returns

	// The handler fails: the client sees 1011, and Wait returns the error.
	// Without Wait, the test would fail with the handler's error.
	ws = c.Connect("/ws", &wsapitest.DialOptions{Cookies: []*http.Cookie{{Name: "session", Value: "s-alice"}}})
	ws.ReceiveText()
	ws.SendText("boom")
	ws.ExpectClose(wsapi.CloseInternalServerError)
	if err := ws.Wait(); err == nil || err.Error() != "boom" {
		t.Fatalf("Wait = %v", err)
	}

	// The network vanishes: Drop closes the socket without a close frame
	// and waits for the handler, so its cleanup is done when Drop returns.
	ws = c.Connect("/ws", &wsapitest.DialOptions{Cookies: []*http.Cookie{{Name: "session", Value: "s-alice"}}})
	ws.ReceiveText()
	if manager.Len() != 1 {
		t.Fatalf("manager holds %d connections", manager.Len())
	}
	ws.Drop()
	if manager.Len() != 0 {
		t.Fatalf("manager holds %d connections after the drop", manager.Len())
	}
}

// docs:end endings

// docs:start timeout
func TestNothingArrives(t *testing.T) {
	app, _ := newApp()
	c := wsapitest.New(t, app, &wsapitest.Options{Timeout: 200 * time.Millisecond})
	ws := c.Connect("/ws", &wsapitest.DialOptions{Cookies: []*http.Cookie{{Name: "session", Value: "s-alice"}}})
	ws.ReceiveText()
	ws.SendText("wait") // the server answers nothing
	if _, _, err := ws.Receive(); !errors.Is(err, wsapitest.ErrTimeout) {
		t.Fatalf("Receive = %v, want ErrTimeout", err)
	}
	ws.Close()
}

// docs:end timeout

// docs:start override
func TestWithoutALogin(t *testing.T) {
	app, _ := newApp()
	restore := wsapi.Override(app, func(ctx context.Context, r *http.Request) (Auth, error) {
		return Auth{User: "test-user"}, nil // no cookie read, no Resolve
	})
	defer restore()

	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	if got := ws.ReceiveText(); got != "hello test-user, welcome to lobby" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
}

// docs:end override

// docs:start run
// TestRun starts the program as main does, talks to it over the network
// with DialURL, and stops it as Ctrl-C would.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n') // the line with the URL
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := regexp.MustCompile(`ws://\S+`).FindString(line)

	ws, err := wsapitest.DialURL(t, url, &wsapitest.DialOptions{Cookies: []*http.Cookie{{Name: "session", Value: "s-alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ws.ReceiveText(); !strings.HasPrefix(got, "hello alice") {
		t.Fatalf("got %q", got)
	}
	cancel()
	if reason := ws.ExpectClose(wsapi.CloseGoingAway); reason != "server shutting down" {
		t.Fatalf("reason %q", reason)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// docs:end run
