package wsapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// echo is a handler that answers each text message with "<prefix><msg>".
func echo(prefix string) wsapi.HandlerFunc {
	return func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			msg, err := ws.ReceiveText(ctx)
			if err != nil {
				return err
			}
			if err := ws.SendText(ctx, prefix+msg); err != nil {
				return err
			}
		}
	}
}

func roundTrip(t *testing.T, ws *wsapitest.Conn, send, want string) {
	t.Helper()
	ws.SendText(send)
	if got := ws.ReceiveText(); got != want {
		t.Fatalf("sent %q, got %q, want %q", send, got, want)
	}
}

func handshakeStatus(t *testing.T, c *wsapitest.Client, path string, opts *wsapitest.DialOptions) (int, string) {
	t.Helper()
	ws, err := c.Dial(path, opts)
	if err == nil {
		ws.Close()
		return http.StatusSwitchingProtocols, ""
	}
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("dial %s: %v", path, err)
	}
	// A 500 comes from a failure on the server, which the test client hands
	// over; a deliberate refusal has none.
	if failed := he.ServerError() != nil; failed != (he.StatusCode == http.StatusInternalServerError) {
		t.Errorf("dial %s: status %d with server error %v", path, he.StatusCode, he.ServerError())
	}
	return he.StatusCode, string(he.Body)
}

func TestUpgradeGoesToWebSocketRouteBeforeCatchAllPage(t *testing.T) {
	app := wsapi.New(nil)
	app.WS("/", echo("ws:"))
	app.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	c := wsapitest.New(t, app, nil)
	roundTrip(t, c.Connect("/", nil), "x", "ws:x")
	resp := c.Get("/")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "page" {
		t.Fatalf("GET / = %d %q, want the page", resp.StatusCode, body)
	}
}

func TestRoutingStatuses(t *testing.T) {
	app := wsapi.New(nil)
	app.WS("/ws", echo(""))
	app.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	c := wsapitest.New(t, app, nil)

	if status, body := handshakeStatus(t, c, "/nowhere", nil); status != http.StatusNotFound || !strings.Contains(body, "no WebSocket route") {
		t.Errorf("upgrade to a path without a WebSocket route = %d %s, want 404", status, body)
	}
	resp := c.Get("/ws")
	if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Upgrade") != "websocket" {
		t.Errorf("plain GET of a WebSocket route = %d (Upgrade %q), want 426 despite the GET / catch-all",
			resp.StatusCode, resp.Header.Get("Upgrade"))
	}
	req, _ := http.NewRequest(http.MethodPost, c.URL()+"/ws", nil)
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST of a WebSocket route = %d, want 405", resp.StatusCode)
	}
}

func TestGroupsKeepTheMeaningOfPatterns(t *testing.T) {
	app := wsapi.New(nil)
	items := app.Group("/items")
	items.WS("", echo("exact:"))     // exactly /items
	items.WS("/{$}", echo("slash:")) // exactly /items/
	items.WS("/sub/", echo("tree:")) // the subtree /items/sub/
	items.Group("/deep").WS("/ws", echo("deep:"))
	c := wsapitest.New(t, app, nil)
	roundTrip(t, c.Connect("/items", nil), "a", "exact:a")
	roundTrip(t, c.Connect("/items/", nil), "b", "slash:b")
	roundTrip(t, c.Connect("/items/sub/x/y", nil), "c", "tree:c")
	roundTrip(t, c.Connect("/items/deep/ws", nil), "d", "deep:d")
	if status, _ := handshakeStatus(t, c, "/items/other", nil); status != http.StatusNotFound {
		t.Errorf("/items/other = %d, want 404: /{$} must not match the subtree", status)
	}
}

func TestIncludeRouterTwice(t *testing.T) {
	r := wsapi.NewRouter()
	r.WS("/ws", echo("r:"))
	r.HandleFunc("GET /info", func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, req.URL.Path) })
	app := wsapi.New(nil)
	app.Include("/v1", r)
	app.Include("/v2", r)
	c := wsapitest.New(t, app, nil)
	roundTrip(t, c.Connect("/v1/ws", nil), "a", "r:a")
	roundTrip(t, c.Connect("/v2/ws", nil), "b", "r:b")
	body, _ := io.ReadAll(c.Get("/v2/info").Body)
	if string(body) != "/v2/info" {
		t.Fatalf("GET /v2/info = %q", body)
	}
}

func TestMiddlewareOrderAndHandshake(t *testing.T) {
	var mu sync.Mutex
	var trace []string
	mark := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				trace = append(trace, name)
				mu.Unlock()
				next.ServeHTTP(&wrappedWriter{w}, r) // wrapped writers must still allow the upgrade
			})
		}
	}
	app := wsapi.New(nil)
	app.Use(mark("app"))
	g := app.Group("/g")
	g.Use(mark("group"))
	g.WS("/ws", echo(""))
	c := wsapitest.New(t, app, nil)
	roundTrip(t, c.Connect("/g/ws", nil), "x", "x")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(trace, ",") != "app,group" {
		t.Fatalf("middleware ran as %v, want app then group", trace)
	}
}

type wrappedWriter struct{ http.ResponseWriter }

func (w *wrappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestMountInServeMux(t *testing.T) {
	app := wsapi.New(nil)
	app.WS("/ws", echo("app:"))
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", app))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	c := wsapitest.New(t, mux, nil)
	roundTrip(t, c.Connect("/api/ws", nil), "x", "app:x")
	body, _ := io.ReadAll(c.Get("/health").Body)
	if string(body) != "ok" {
		t.Fatalf("GET /health = %q", body)
	}
}

func TestRegistrationPanicsNameTheCallSite(t *testing.T) {
	tests := []struct {
		name string
		reg  func(app *wsapi.App)
		want []string
	}{
		{"duplicate", func(app *wsapi.App) { app.WS("/ws", echo("")); app.WS("/ws", echo("")) }, []string{"router_test.go", "conflicts"}},
		{"method", func(app *wsapi.App) { app.WS("GET /ws", echo("")) }, []string{"router_test.go", "method"}},
		{"relative in group", func(app *wsapi.App) { app.Group("/g").WS("ws", echo("")) }, []string{"router_test.go", "must start with /"}},
		{"nil handler", func(app *wsapi.App) { app.WS("/ws", nil) }, []string{"nil handler"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := panicMessage(func() { tt.reg(wsapi.New(nil)) })
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("panic %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func panicMessage(f func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = strings.TrimSpace(strings.ReplaceAll(toString(v), "\n", " "))
		}
	}()
	f()
	return "<no panic>"
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case error:
		return v.Error()
	}
	return "<non-string panic>"
}
