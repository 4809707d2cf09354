package wsapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// dialServed serves app with App.Serve on a loopback listener until the test
// ends (Serve must then return nil), and dials it.
func dialServed(t *testing.T, app *wsapi.App, ctx context.Context) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// TestHandshakeTimeoutDropsSlowClients starts App.Serve on a real listener
// and opens a connection that never finishes its request headers.
func TestHandshakeTimeoutDropsSlowClients(t *testing.T) {
	app, _ := quietApp(&wsapi.Options{HandshakeTimeout: 200 * time.Millisecond})
	app.WS("/ws", echo(""))
	nc := dialServed(t, app, context.Background())
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n") // ...and never the rest
	start := time.Now()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(nc)
	if elapsed := time.Since(start); err != nil || elapsed > 3*time.Second {
		t.Fatalf("the slow client was still connected after %v (err %v)", elapsed, err)
	}
}

func TestMaxConnections(t *testing.T) {
	app, _ := quietApp(&wsapi.Options{MaxConnections: 2})
	app.WS("/ws", echo(""))
	c := wsapitest.New(t, app, nil)
	a, b := c.Connect("/ws", nil), c.Connect("/ws", nil)
	if status, body := handshakeStatus(t, c, "/ws", nil); status != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %d %s, want 503", status, body)
	}
	a.Close()
	roundTrip(t, c.Connect("/ws", nil), "x", "x") // a slot is free again
	b.Close()
}

type panicky struct{}

func (panicky) Resolve(ctx context.Context) error { panic("resolver bug") }

func TestDependencyPanicRefusesOnlyThatConnection(t *testing.T) {
	app, logs := quietApp(&wsapi.Options{MaxConnections: 1})
	type P struct{ X panicky }
	wsapi.Route(app, "/bad", func(ctx context.Context, ws *wsapi.Conn, p *P) error { return ws.Accept(ctx, nil) })
	app.WS("/ws", echo(""))
	c := wsapitest.New(t, app, nil)
	for range 3 { // the connection slot is given back each time
		if status, body := handshakeStatus(t, c, "/bad", nil); status != http.StatusInternalServerError || strings.Contains(body, "resolver bug") {
			t.Fatalf("panicking dependency: %d %s, want 500 without the panic's text", status, body)
		}
	}
	roundTrip(t, c.Connect("/ws", nil), "still", "still")
	if !strings.Contains(logs.String(), "resolver bug") {
		t.Fatalf("the panic was not logged:\n%s", logs)
	}
}

// TestLogsCarryNoSecrets runs every path that logs with secrets in the
// query string, a cookie and a header, and checks none reaches the log.
func TestLogsCarryNoSecrets(t *testing.T) {
	secrets := []string{"SECRET-QUERY-7f3a", "SECRET-COOKIE-91bc", "SECRET-HEADER-c0de", "SECRET-REASON-5e11"}
	// At debug level, so that every line wsapi writes is checked: the
	// connections' accepted and closed lines too.
	logs := &logBuffer{}
	app := wsapi.New(&wsapi.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	type Auth struct {
		Token  string `query:"token"`
		Cookie string `cookie:"session"`
		Header string `header:"Authorization"`
	}
	type P struct {
		Auth Auth
		N    int `query:"n"`
	}
	wsapi.Route(app, "/ws", func(ctx context.Context, ws *wsapi.Conn, p *P) error {
		switch p.N {
		case 1:
			ws.Accept(ctx, nil)
			return errors.New("handler failed")
		case 2:
			ws.Accept(ctx, nil)
			panic("handler panicked")
		case 3:
			return errors.New("failed before accept")
		case 4: // waits for the client's close, whose reason is the client's text
			if err := ws.Accept(ctx, nil); err != nil {
				return err
			}
			_, err := ws.ReceiveText(ctx)
			return err
		}
		return ws.Accept(ctx, nil)
	})
	c := wsapitest.New(t, app, nil)
	opts := &wsapitest.DialOptions{
		Cookies: []*http.Cookie{{Name: "session", Value: secrets[1]}},
		Header:  http.Header{"Authorization": {"Bearer " + secrets[2]}},
	}
	for n := range 4 {
		path := fmt.Sprintf("/ws?token=%s&n=%d", secrets[0], n)
		ws, err := c.Dial(path, opts)
		if err == nil {
			ws.Receive()
			ws.Wait()
			ws.Close()
			continue
		}
		var he *wsapitest.HandshakeError
		if errors.As(err, &he) && he.ServerError() == nil {
			t.Errorf("%v: the failure before accept did not reach the test", err)
		}
	}
	handshakeStatus(t, c, "/ws?token="+secrets[0]+"&n=bad", opts) // 422
	ws := c.Connect("/ws?token="+secrets[0]+"&n=4", opts)
	ws.CloseWith(wsapi.CloseNormalClosure, secrets[3])
	ws.Wait()
	out := logs.String()
	if !strings.Contains(out, "handler failed") || !strings.Contains(out, "handler panicked") ||
		!strings.Contains(out, "connection accepted") || !strings.Contains(out, "connection closed") {
		t.Fatalf("the failures were not logged at all:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Fatalf("the log holds the secret %s:\n%s", s, out)
		}
	}
}
