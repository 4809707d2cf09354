package wsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// reportParams accepts and sends the bound params as JSON, then waits for
// the client to leave.
func reportParams[P any](app *wsapi.App, pattern string) {
	wsapi.Route(app, pattern, func(ctx context.Context, ws *wsapi.Conn, p *P) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		if err := ws.SendJSON(ctx, p); err != nil {
			return err
		}
		_, err := ws.ReceiveText(ctx)
		return err
	})
}

type Level int

func (l Level) MarshalText() ([]byte, error) { return []byte([]string{"", "low", "high"}[l]), nil }

func (l *Level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*l = 1
	case "high":
		*l = 2
	default:
		return fmt.Errorf("unknown level %q", b)
	}
	return nil
}

type AllTypes struct {
	S    string        `path:"s"`
	I    int           `query:"i"`
	I8   int8          `query:"i8" default:"-8"`
	U16  uint16        `query:"u16" default:"16"`
	U64  uint64        `query:"u64" default:"18446744073709551615"`
	F32  float32       `query:"f32" default:"1.5"`
	F64  float64       `query:"f64" default:"2.25"`
	B    bool          `query:"b" default:"off"`
	D    time.Duration `query:"d" default:"1m30s"`
	T    time.Time     `query:"t" default:"2026-11-25T18:00:00Z"`
	L    Level         `header:"X-Level" default:"low"`
	Opt  *int          `query:"opt"`
	Tags []string      `query:"tag"`
	Hdrs []string      `header:"X-Multi"`
	Ck   string        `cookie:"ck" default:"none"`
}

func TestBindAllTypes(t *testing.T) {
	app := wsapi.New(nil)
	reportParams[AllTypes](app, "/types/{s}")
	c := wsapitest.New(t, app, nil)

	ws := c.Connect("/types/hello?i=-42&b=yes&tag=a&tag=b&d=2s&opt=7&t=2020-01-02T03:04:05Z", &wsapitest.DialOptions{Header: http.Header{"X-Level": {"high"}, "X-Multi": {"m1", "m2"}}, Cookies: []*http.Cookie{{Name: "ck", Value: "cookie!"}}})
	var got AllTypes
	ws.ReceiveJSON(&got)
	seven := 7
	want := AllTypes{S: "hello", I: -42, I8: -8, U16: 16, U64: 18446744073709551615, F32: 1.5, F64: 2.25, B: true,
		D: 2 * time.Second, T: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), L: 2, Opt: &seven,
		Tags: []string{"a", "b"}, Hdrs: []string{"m1", "m2"}, Ck: "cookie!"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bound\n%+v\nwant\n%+v", got, want)
	}
	ws.Close()

	ws = c.Connect("/types/x?i=1", nil)
	got = AllTypes{}
	ws.ReceiveJSON(&got)
	if got.Opt != nil || got.Tags != nil || got.L != 1 || got.B || got.Ck != "none" || got.D != 90*time.Second {
		t.Fatalf("defaults and optionals: %+v", got)
	}
	ws.Close()
}

func TestBindErrorsListEveryField(t *testing.T) {
	app := wsapi.New(nil)
	reportParams[AllTypes](app, "/types/{s}")
	c := wsapitest.New(t, app, nil)
	status, body := handshakeStatus(t, c, "/types/x?i=abc&i8=300&b=maybe&d=soon&opt=1.5", &wsapitest.DialOptions{Header: http.Header{"X-Level": {"mid"}}})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", status, body)
	}
	var resp struct{ Detail []wsapi.FieldError }
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fe := range resp.Detail {
		got[strings.Join(fe.Loc, ".")] = fe.Type
		if fe.Msg == "" {
			t.Errorf("%v has no message", fe.Loc)
		}
	}
	want := map[string]string{
		"query.i": "int_parsing", "query.i8": "int_range", "query.b": "bool_parsing",
		"query.d": "duration_parsing", "query.opt": "int_parsing", "header.X-Level": "value_error",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors %v\nwant %v\nbody %s", got, want, body)
	}

	status, body = handshakeStatus(t, c, "/types/x", nil)
	if status != 422 || !strings.Contains(body, `"loc":["query","i"]`) || !strings.Contains(body, `"type":"missing"`) {
		t.Fatalf("missing required query: %d %s", status, body)
	}
}

type Validated struct {
	Name  string `query:"name" validate:"required,min=3"`
	Email string `query:"email" default:"" validate:"omitempty,email"`
	Color string `query:"color" default:"red" validate:"oneof=red green"`
	Limit int    `query:"limit" default:"10" validate:"min=1,max=100"`
}

func TestValidation(t *testing.T) {
	app := wsapi.New(nil)
	reportParams[Validated](app, "/v")
	c := wsapitest.New(t, app, nil)
	status, body := handshakeStatus(t, c, "/v?name=ab&email=nope&color=blue&limit=0", nil)
	if status != 422 {
		t.Fatalf("status %d: %s", status, body)
	}
	for _, want := range []string{`["query","name"]`, `"type":"min"`, `["query","email"]`, `"type":"email"`,
		`["query","color"]`, `"type":"oneof"`, `["query","limit"]`} {
		if !strings.Contains(body, want) {
			t.Errorf("422 body lacks %s: %s", want, body)
		}
	}
	ws := c.Connect("/v?name=abc", nil)
	var got Validated
	ws.ReceiveJSON(&got)
	if got != (Validated{Name: "abc", Color: "red", Limit: 10}) {
		t.Fatalf("got %+v", got)
	}
	ws.Close()
}

// recorder notes events of dependencies, in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

var rec = &recorder{} // package-level: dependencies have no other way to reach a test

type DB struct {
	ID int
}

var dbCount atomic.Int32

func (d *DB) Resolve(ctx context.Context) error {
	d.ID = int(dbCount.Add(1))
	rec.add("resolve DB")
	return nil
}

func (d *DB) Close() error {
	rec.add("close DB")
	return nil
}

type User struct {
	DB    *DB
	Token string `query:"token"`
	Name  string
}

func (u *User) Resolve(ctx context.Context) error {
	rec.add("resolve User")
	if u.Token != "secret" {
		return wsapi.Reject(wsapi.ClosePolicyViolation, "bad token")
	}
	u.Name = fmt.Sprintf("alice@db%d", u.DB.ID)
	return nil
}

func (u *User) Close() { rec.add("close User") }

type Session struct {
	DB   *DB
	User *User
}

func (s *Session) Resolve(ctx context.Context) error {
	rec.add("resolve Session")
	return nil
}

func (s *Session) Close(ctx context.Context) error {
	rec.add("close Session")
	return errors.New("session close failed (logged, not fatal)")
}

type DepParams struct {
	Session Session
	DB      *DB
	Req     *http.Request
	Conn    *wsapi.Conn
}

func TestDependencyTree(t *testing.T) {
	rec = &recorder{}
	app := wsapi.New(nil)
	var seen atomic.Pointer[string]
	wsapi.Route(app, "/deps", func(ctx context.Context, ws *wsapi.Conn, p *DepParams) error {
		rec.add("handler")
		if p.Session.DB != p.DB || p.Session.User.DB != p.DB {
			return errors.New("the same dependency type was resolved more than once")
		}
		if p.Req == nil || p.Conn != ws {
			return errors.New("request or conn not injected")
		}
		s := p.Session.User.Name
		seen.Store(&s)
		return ws.Accept(ctx, nil)
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/deps?token=secret", nil)
	ws.ExpectClose(wsapi.CloseNormalClosure)
	ws.Close()
	want := []string{"resolve DB", "resolve User", "resolve Session", "handler", "close Session", "close User", "close DB"}
	if got := rec.get(); !slices.Equal(got, want) {
		t.Fatalf("events %v\nwant   %v", got, want)
	}
	if s := seen.Load(); s == nil || !strings.HasPrefix(*s, "alice@db") {
		t.Fatalf("user name %v", s)
	}

	// A refused dependency: the handler never runs, what was resolved is closed.
	rec = &recorder{}
	status, body := handshakeStatus(t, c, "/deps?token=wrong", nil)
	if status != http.StatusForbidden || !strings.Contains(body, "bad token") || !strings.Contains(body, `"code":1008`) {
		t.Fatalf("refusal: %d %s", status, body)
	}
	want = []string{"resolve DB", "resolve User", "close DB"}
	if got := waitEvents(rec, len(want)); !slices.Equal(got, want) {
		t.Fatalf("events %v\nwant   %v", got, want)
	}
}

func waitEvents(r *recorder, n int) []string {
	for range 200 {
		if ev := r.get(); len(ev) >= n {
			return ev
		}
		time.Sleep(5 * time.Millisecond)
	}
	return rec.get()
}

type AppGuard struct {
	Key string `header:"X-Key"`
}

func (g *AppGuard) Resolve(ctx context.Context) error {
	rec.add("app guard")
	if g.Key != "k" {
		return &wsapi.RejectError{Code: 4001, Reason: "bad key", Status: http.StatusUnauthorized}
	}
	return nil
}

type GroupGuard struct{}

func (GroupGuard) Resolve(ctx context.Context) error { rec.add("group guard"); return nil }

type GuardedParams struct {
	Guard AppGuard // the same type as the app dependency: resolved once
}

func (p *GuardedParams) Resolve(ctx context.Context) error { rec.add("route params"); return nil }

func TestAppAndGroupDependenciesRunFirst(t *testing.T) {
	rec = &recorder{}
	app := wsapi.New(nil)
	wsapi.Depends[AppGuard](app)
	g := app.Group("/g")
	wsapi.Depends[GroupGuard](g)
	wsapi.Route(g, "/ws", func(ctx context.Context, ws *wsapi.Conn, p *GuardedParams) error {
		if p.Guard.Key != "k" {
			return errors.New("params did not share the app dependency's value")
		}
		return ws.Accept(ctx, nil)
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/g/ws", &wsapitest.DialOptions{Header: http.Header{"X-Key": {"k"}}})
	ws.ExpectClose(wsapi.CloseNormalClosure)
	ws.Close()
	if got, want := rec.get(), []string{"app guard", "group guard", "route params"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	status, body := handshakeStatus(t, c, "/g/ws", &wsapitest.DialOptions{Header: http.Header{"X-Key": {"nope"}}})
	if status != http.StatusUnauthorized || !strings.Contains(body, `"code":4001`) {
		t.Fatalf("custom status: %d %s", status, body)
	}
}

func TestOverrideDependency(t *testing.T) {
	rec = &recorder{}
	app := wsapi.New(nil)
	var user atomic.Pointer[User]
	type P struct{ User *User }
	wsapi.Route(app, "/o", func(ctx context.Context, ws *wsapi.Conn, p *P) error {
		user.Store(p.User)
		return ws.Accept(ctx, nil)
	})
	fake := &User{Name: "fake"}
	restore := wsapi.Override(app, func(ctx context.Context, r *http.Request) (*User, error) { return fake, nil })
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/o", nil) // no token: only the override lets this through
	ws.ExpectClose(wsapi.CloseNormalClosure)
	ws.Close()
	if user.Load() != fake {
		t.Fatalf("handler got %+v, want the override's own pointer", user.Load())
	}
	if got := rec.get(); !slices.Equal(got, []string{"close User"}) {
		t.Fatalf("events %v: an override replaces binding and Resolve, and keeps Close", got)
	}
	restore()
	if status, _ := handshakeStatus(t, c, "/o", nil); status != http.StatusUnprocessableEntity {
		t.Fatalf("after restore: status %d, want 422 (token missing)", status)
	}
}

func TestRejectAfterAccept(t *testing.T) {
	app := wsapi.New(&wsapi.Options{RejectAfterAccept: true})
	reportParams[Validated](app, "/v")
	type P struct{ User User }
	wsapi.Route(app, "/u", func(ctx context.Context, ws *wsapi.Conn, p *P) error { return ws.Accept(ctx, nil) })
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/v?name=a", nil)
	if reason := ws.ExpectClose(wsapi.ClosePolicyViolation); !strings.Contains(reason, "query.name") {
		t.Fatalf("reason %q should name the field", reason)
	}
	ws = c.Connect("/u?token=wrong", nil)
	if reason := ws.ExpectClose(wsapi.ClosePolicyViolation); reason != "bad token" {
		t.Fatalf("reason %q", reason)
	}
}

type badUnsupported struct {
	M map[string]string `query:"m"`
}
type badMissingPath struct {
	ID string `path:"id"`
}
type badTypo struct {
	Q string `querry:"q"`
}
type badTwoSources struct {
	Q string `query:"q" header:"Q"`
}
type badDefaultNoSource struct {
	Q string `default:"x"`
}
type badUnexported struct {
	q string `query:"q"` //lint:ignore U1000 the declaration under test: a source tag on an unexported field
}
type cycleA struct{ B *cycleB }
type cycleB struct{ A *cycleA }
type badNested struct{ Inner badUnsupported }

func TestRegistrationPanicsNameTheField(t *testing.T) {
	h := func(ctx context.Context, ws *wsapi.Conn, p *badUnsupported) error { return nil }
	tests := []struct {
		name string
		reg  func(app *wsapi.App)
		want []string
	}{
		{"unsupported type", func(app *wsapi.App) { wsapi.Route(app, "/x", h) }, []string{"badUnsupported.M", "unsupported type map[string]string", "deps_test.go"}},
		{"missing wildcard", func(app *wsapi.App) {
			wsapi.Route(app, "/items/{item_id}", func(ctx context.Context, ws *wsapi.Conn, p *badMissingPath) error { return nil })
		}, []string{"badMissingPath.ID", `path:"id"`, "{id}", "deps_test.go"}},
		{"typo", func(app *wsapi.App) {
			wsapi.Route(app, "/x", func(ctx context.Context, ws *wsapi.Conn, p *badTypo) error { return nil })
		}, []string{"badTypo.Q", `unknown tag "querry"`, `"query"`}},
		{"two sources", func(app *wsapi.App) {
			wsapi.Route(app, "/x", func(ctx context.Context, ws *wsapi.Conn, p *badTwoSources) error { return nil })
		}, []string{"badTwoSources.Q", "one source"}},
		{"default without source", func(app *wsapi.App) {
			wsapi.Route(app, "/x", func(ctx context.Context, ws *wsapi.Conn, p *badDefaultNoSource) error { return nil })
		}, []string{"badDefaultNoSource.Q", "source tag"}},
		{"unexported", func(app *wsapi.App) {
			wsapi.Route(app, "/x", func(ctx context.Context, ws *wsapi.Conn, p *badUnexported) error { return nil })
		}, []string{"badUnexported.q", "unexported"}},
		{"cycle", func(app *wsapi.App) {
			wsapi.Route(app, "/x", func(ctx context.Context, ws *wsapi.Conn, p *cycleA) error { return nil })
		}, []string{"cycle"}},
		{"nested", func(app *wsapi.App) {
			wsapi.Route(app, "/x", func(ctx context.Context, ws *wsapi.Conn, p *badNested) error { return nil })
		}, []string{"badUnsupported.M"}},
		{"bad default", func(app *wsapi.App) {
			type P struct {
				N int `query:"n" default:"many"`
			}
			wsapi.Route(app, "/x", func(ctx context.Context, ws *wsapi.Conn, p *P) error { return nil })
		}, []string{"P.N", `bad default "many"`}},
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
