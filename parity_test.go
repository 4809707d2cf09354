package wsapi_test

// FastAPI's and Starlette's WebSocket tests that need more than the
// tutorial, ported: exception handlers, custom denial responses, middleware
// headers on the 101, server errors surfaced by the test client, app state
// shared with HTTP routes, and validation errors that name their route.
// Each checks the exact status, headers, body, close code and reason.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// CustomError is the error type of FastAPI's exception-handler tests.
type CustomError struct{ where string }

func (e *CustomError) Error() string { return "custom error " + e.where }

// errNoRows stands for a driver's sentinel error, such as sql.ErrNoRows.
var errNoRows = errors.New("sql: no rows in result set")

func customErrorApp(opts *wsapi.Options) *wsapi.App {
	app, _ := quietApp(opts)
	wsapi.HandleError(app, func(ctx context.Context, ws *wsapi.Conn, err *CustomError) error {
		if ws.State() == wsapi.StateConnecting {
			return wsapi.Reject(1002, "foo") // FastAPI's test: close(1002, "foo") before accept
		}
		return wsapi.Reject(wsapi.CloseTryAgainLater, "custom error after accept")
	})
	wsapi.HandleErrorIs(app, errNoRows, func(ctx context.Context, ws *wsapi.Conn, err error) error {
		return &wsapi.RejectError{Code: 4004, Reason: "not found", Status: http.StatusNotFound}
	})
	app.WS("/custom_error/", func(ctx context.Context, ws *wsapi.Conn) error {
		return &CustomError{"before accept"}
	})
	app.WS("/custom_error_after/", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return fmt.Errorf("handling a message: %w", &CustomError{"after accept"})
	})
	app.WS("/no_rows/", func(ctx context.Context, ws *wsapi.Conn) error {
		return fmt.Errorf("loading the user: %w", errNoRows)
	})
	type Lookup struct {
		User failingLookup
	}
	wsapi.Route(app, "/dep_error/", func(ctx context.Context, ws *wsapi.Conn, p *Lookup) error {
		return ws.Accept(ctx, nil)
	})
	return app
}

// failingLookup is a dependency whose Resolve fails with a driver's error.
type failingLookup struct{}

func (failingLookup) Resolve(ctx context.Context) error { return errNoRows }

func TestParityExceptionHandlers(t *testing.T) {
	c := wsapitest.New(t, customErrorApp(nil), nil)
	// Before accept: the handler's refusal, with its close code and reason.
	status, body := handshakeStatus(t, c, "/custom_error/", nil)
	if status != http.StatusForbidden || body != `{"code":1002,"detail":"foo"}` {
		t.Errorf("custom error before accept: %d %s", status, body)
	}
	// After accept: the close code of the handler's choice.
	ws := c.Connect("/custom_error_after/", nil)
	if reason := ws.ExpectClose(wsapi.CloseTryAgainLater); reason != "custom error after accept" {
		t.Errorf("reason %q", reason)
	}
	if err := ws.Wait(); err != nil {
		t.Errorf("a handled error reached the test client: %v", err)
	}
	// A sentinel error, wrapped, from a handler and from a dependency.
	for _, path := range []string{"/no_rows/", "/dep_error/"} {
		status, body := handshakeStatus(t, c, path, nil)
		if status != http.StatusNotFound || body != `{"code":4004,"detail":"not found"}` {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
	// With RejectAfterAccept, as browsers need: the close code and reason.
	c2 := wsapitest.New(t, customErrorApp(&wsapi.Options{RejectAfterAccept: true}), nil)
	ws = c2.Connect("/custom_error/", nil)
	if reason := ws.ExpectClose(1002); reason != "foo" {
		t.Errorf("reason %q", reason)
	}
}

func TestParityExceptionHandlerReturningNil(t *testing.T) {
	app, logs := quietApp(nil)
	wsapi.HandleError(app, func(ctx context.Context, ws *wsapi.Conn, err *CustomError) error {
		if ws.State() == wsapi.StateOpen {
			ws.SendText(ctx, "sorry: "+err.where)
		}
		return nil // handled
	})
	app.WS("/before", func(ctx context.Context, ws *wsapi.Conn) error { return &CustomError{"before"} })
	app.WS("/after", func(ctx context.Context, ws *wsapi.Conn) error {
		ws.Accept(ctx, nil)
		return &CustomError{"after"}
	})
	c := wsapitest.New(t, app, nil)
	if status, body := handshakeStatus(t, c, "/before", nil); status != http.StatusForbidden || body != `{"code":1008,"detail":"connection not accepted"}` {
		t.Errorf("%d %s", status, body)
	}
	ws := c.Connect("/after", nil)
	if got := ws.ReceiveText(); got != "sorry: after" {
		t.Errorf("got %q", got)
	}
	ws.ExpectClose(wsapi.CloseNormalClosure)
	if err := ws.Wait(); err != nil {
		t.Errorf("handled error reached the test: %v", err)
	}
	if strings.Contains(logs.String(), "custom error") {
		t.Errorf("a handled error was logged:\n%s", logs)
	}
}

// TestParityDenialResponse: Starlette's send_denial_response, with any
// status, headers and body, and a 401 challenge from a dependency.
func TestParityDenialResponse(t *testing.T) {
	app, _ := quietApp(nil)
	app.WS("/", func(ctx context.Context, ws *wsapi.Conn) error {
		return &wsapi.RejectError{Status: http.StatusNotFound, Header: http.Header{"Foo": {"bar"}}, Body: []byte("hardbody")}
	})
	type P struct {
		Auth bearerAuth
	}
	wsapi.Route(app, "/auth", func(ctx context.Context, ws *wsapi.Conn, p *P) error { return ws.Accept(ctx, nil) })
	c := wsapitest.New(t, app, nil)

	_, err := c.Dial("/", nil)
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) {
		t.Fatal(err)
	}
	if he.StatusCode != http.StatusNotFound || he.Header.Get("Foo") != "bar" || string(he.Body) != "hardbody" ||
		he.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("got %d %v %q", he.StatusCode, he.Header, he.Body)
	}

	_, err = c.Dial("/auth", nil)
	if !errors.As(err, &he) {
		t.Fatal(err)
	}
	if he.StatusCode != http.StatusUnauthorized || he.Header.Get("WWW-Authenticate") != `Bearer realm="chat"` ||
		string(he.Body) != `{"code":1008,"detail":"token required"}` {
		t.Errorf("got %d %v %s", he.StatusCode, he.Header, he.Body)
	}
	c.Connect("/auth", &wsapitest.DialOptions{Header: http.Header{"Authorization": {"Bearer t0k"}}}).Close()
}

type bearerAuth struct {
	Authorization *string `header:"Authorization"`
}

func (a *bearerAuth) Resolve(ctx context.Context) error {
	if a.Authorization == nil || !strings.HasPrefix(*a.Authorization, "Bearer ") {
		return &wsapi.RejectError{Code: wsapi.ClosePolicyViolation, Reason: "token required",
			Status: http.StatusUnauthorized, Header: http.Header{"WWW-Authenticate": {`Bearer realm="chat"`}}}
	}
	return nil
}

// TestParityMiddlewareHeadersOn101: headers that standard middleware sets on
// the ResponseWriter reach the 101 response, as on refusals.
func TestParityMiddlewareHeadersOn101(t *testing.T) {
	app, _ := quietApp(nil)
	app.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Test", "Set by middleware")
			http.SetCookie(w, &http.Cookie{Name: "mw", Value: "1"})
			w.Header().Set("Content-Length", "99") // would break the 101: dropped
			next.ServeHTTP(w, r)
		})
	})
	g := app.Group("/g")
	g.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Frame-Options", "DENY")
			next.ServeHTTP(w, r)
		})
	})
	g.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		return ws.Accept(ctx, &wsapi.AcceptOptions{Header: http.Header{"Set-Cookie": {"own=2"}}})
	})
	g.WS("/refuse", func(ctx context.Context, ws *wsapi.Conn) error { return wsapi.Reject(wsapi.ClosePolicyViolation, "no") })
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/g/ws", nil)
	h := ws.Header()
	if h.Get("X-Test") != "Set by middleware" || h.Get("X-Frame-Options") != "DENY" ||
		!slices.Equal(h["Set-Cookie"], []string{"mw=1", "own=2"}) || h.Get("Content-Length") != "" {
		t.Errorf("101 headers: %v", h)
	}
	ws.Close()
	_, err := c.Dial("/g/refuse", nil)
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) || he.Header.Get("X-Test") != "Set by middleware" {
		t.Errorf("refusal headers: %v", err)
	}
}

// recordingT is a testing.TB that records failures instead of failing, to
// check what the test client reports.
type recordingT struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (t *recordingT) Helper()          {}
func (t *recordingT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *recordingT) Logf(string, ...any) {
}
func (t *recordingT) Errorf(f string, a ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errors = append(t.errors, fmt.Sprintf(f, a...))
}
func (t *recordingT) Fatalf(f string, a ...any) { t.Errorf(f, a...); panic("Fatalf") }
func (t *recordingT) end() []string {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	return t.errors
}

// TestParityTestClientSurfacesServerErrors: an error or a panic before
// Accept comes back from Dial next to the refusal, as FastAPI's TestClient
// re-raises; one the test does not collect fails it, as after Accept.
func TestParityTestClientSurfacesServerErrors(t *testing.T) {
	errBoom := errors.New("boom")
	newApp := func() *wsapi.App {
		app, _ := quietApp(nil)
		app.WS("/error", func(ctx context.Context, ws *wsapi.Conn) error { return fmt.Errorf("opening: %w", errBoom) })
		app.WS("/panic", func(ctx context.Context, ws *wsapi.Conn) error { panic("kaboom") })
		app.WS("/reject", func(ctx context.Context, ws *wsapi.Conn) error { return wsapi.Reject(wsapi.ClosePolicyViolation, "no") })
		return app
	}
	c := wsapitest.New(t, newApp(), nil)
	_, err := c.Dial("/error", nil)
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError || !errors.Is(err, errBoom) {
		t.Errorf("Dial /error: %v, want a 500 HandshakeError carrying the handler's error", err)
	}
	_, err = c.Dial("/panic", nil)
	if !errors.As(err, &he) || he.ServerError() == nil || !strings.Contains(he.ServerError().Error(), "kaboom") {
		t.Errorf("Dial /panic: %v, want the panic", err)
	}
	if _, err := c.Dial("/reject", nil); !errors.As(err, &he) || he.ServerError() != nil {
		t.Errorf("a deliberate refusal carries a server error: %v", err)
	}

	// Not collected: the test fails when it ends, naming the failure.
	rt := &recordingT{}
	rc := wsapitest.New(rt, newApp(), nil)
	rc.Dial("/error", nil)
	rc.Dial("/reject", nil)
	errs := rt.end()
	if len(errs) != 1 || !strings.Contains(errs[0], "/error") || !strings.Contains(errs[0], "boom") {
		t.Errorf("uncollected server failure reported as %q", errs)
	}
}

// Answer is the app state of FastAPI's test, 42.
type Answer int

// AnswerDep is one dependency shared by an HTTP route and a WebSocket route.
type AnswerDep struct {
	Value Answer
}

func (d *AnswerDep) Resolve(ctx context.Context) error {
	d.Value = wsapi.State[Answer](ctx)
	return nil
}

// TestParityAppStateSharedWithHTTP: a dependency reads app state, and one
// dependency type serves GET /http and WS /ws alike.
func TestParityAppStateSharedWithHTTP(t *testing.T) {
	app, _ := quietApp(nil)
	wsapi.Provide(app, Answer(42))
	type P struct {
		Dep AnswerDep
	}
	wsapi.HTTPRoute(app, "GET /http", func(w http.ResponseWriter, r *http.Request, p *P) error {
		return json.NewEncoder(w).Encode(p.Dep.Value)
	})
	wsapi.Route(app, "/ws", func(ctx context.Context, ws *wsapi.Conn, p *P) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.SendJSON(ctx, p.Dep.Value)
	})
	app.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, wsapi.State[Answer](r.Context()))
	})
	c := wsapitest.New(t, app, nil)
	for _, path := range []string{"/http", "/plain"} {
		resp := c.Get(path)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "42" {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, body)
		}
	}
	ws := c.Connect("/ws", nil)
	if got := ws.ReceiveText(); got != "42" {
		t.Errorf("WS /ws: %q", got)
	}
	ws.Close()
}

// TestParityHTTPRouteRefusals: an HTTP route's dependencies refuse as a
// handshake's do, with the route in a validation failure.
func TestParityHTTPRouteRefusals(t *testing.T) {
	app, _ := quietApp(nil)
	type P struct {
		ID   int `path:"id"`
		Auth bearerAuth
	}
	g := app.Group("/sub")
	wsapi.HTTPRoute(g, "GET /items/{id}", func(w http.ResponseWriter, r *http.Request, p *P) error {
		if p.ID == 0 {
			return errors.New("id zero")
		}
		fmt.Fprintf(w, "item %d", p.ID)
		return nil
	})
	c := wsapitest.New(t, app, nil)
	get := func(path, auth string) (int, http.Header, string) {
		req, _ := http.NewRequest("GET", c.URL()+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	if s, _, b := get("/sub/items/7", "Bearer x"); s != 200 || b != "item 7" {
		t.Errorf("%d %q", s, b)
	}
	if s, h, b := get("/sub/items/7", ""); s != 401 || h.Get("WWW-Authenticate") == "" || b != `{"detail":"token required"}` {
		t.Errorf("%d %v %q", s, h, b)
	}
	want := `{"detail":[{"loc":["path","id"],"msg":"value is not a valid integer","type":"int_parsing"}],"endpoint":"GET /sub/items/{id}"}`
	if s, _, b := get("/sub/items/x", "Bearer x"); s != 422 || b != want {
		t.Errorf("%d %s", s, b)
	}
	if s, _, b := get("/sub/items/0", "Bearer x"); s != 500 || b != `{"detail":"internal server error"}` {
		t.Errorf("%d %q", s, b)
	}
}

// TestParityValidationNamesTheRoute: a validation refusal carries the route,
// FastAPI's "WS /ws/{item_id}", under a prefix too, in the 422 body, in the
// close reason for browsers, and in a debug log line that holds no value.
func TestParityValidationNamesTheRoute(t *testing.T) {
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, after := range []bool{false, true} {
		app := wsapi.New(&wsapi.Options{Logger: logger, RejectAfterAccept: after})
		type P struct {
			ItemID int `path:"item_id"`
		}
		h := func(ctx context.Context, ws *wsapi.Conn, p *P) error { return ws.Accept(ctx, nil) }
		wsapi.Route(app, "/ws/{item_id}", h)
		wsapi.Route(app.Group("/sub"), "/ws/{item_id}", h)
		c := wsapitest.New(t, app, nil)
		for _, prefix := range []string{"", "/sub"} {
			endpoint := "WS " + prefix + "/ws/{item_id}"
			if !after {
				status, body := handshakeStatus(t, c, prefix+"/ws/SECRET-VALUE", nil)
				want := `{"detail":[{"loc":["path","item_id"],"msg":"value is not a valid integer","type":"int_parsing"}],"endpoint":"` + endpoint + `"}`
				if status != 422 || body != want {
					t.Errorf("%d %s", status, body)
				}
				continue
			}
			ws := c.Connect(prefix+"/ws/SECRET-VALUE", nil)
			want := "wsapi: invalid value for " + endpoint + ": path.item_id: value is not a valid integer"
			if reason := ws.ExpectClose(wsapi.ClosePolicyViolation); reason != want {
				t.Errorf("reason %q, want %q", reason, want)
			}
		}
	}
	out := logs.String()
	if !strings.Contains(out, `route=/sub/ws/{item_id}`) || !strings.Contains(out, "loc=[path.item_id]") {
		t.Errorf("no debug line naming the route and the value's place:\n%s", out)
	}
	if strings.Contains(out, "SECRET-VALUE") {
		t.Errorf("the log echoes the value:\n%s", out)
	}
}
