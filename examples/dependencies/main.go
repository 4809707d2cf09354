// Command dependencies goes beyond the tutorial's section E: typed values
// with defaults, optional and repeated values and validate tags; a bearer
// token carried in Sec-WebSocket-Protocol; a dependency tree resolved once
// per connection, with a Close method run after the handler; and a guard
// added to a whole group with wsapi.Depends.
//
// The route /feed/{room} needs a token: browsers send it with
// new WebSocket(url, ["bearer", token]). Tokens "alice-token" (an admin)
// and "bob-token" are known, as app state (wsapi.Provide). GET /online lists
// who is connected; GET /feed/{room}/settings shares the feed's Filters
// dependency with the WebSocket route.
//
//	go run ./examples/dependencies    # then open http://localhost:8000/
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/wsapi-go/wsapi"
)

//go:embed index.html
var page []byte

// docs:start state
// Accounts is what each token stands for: app state, provided to the app
// with wsapi.Provide and read by dependencies with wsapi.State. A real app
// would provide a database pool instead.
type Accounts map[string]Account

// Account is one user's account.
type Account struct {
	Name  string
	Admin bool
}

// ErrUnknownToken is what Lookup returns for a token it does not know, as
// a database driver returns its own "no rows" error.
var ErrUnknownToken = errors.New("unknown token")

// Lookup returns the account of a token.
func (a Accounts) Lookup(token string) (Account, error) {
	acct, ok := a[token]
	if !ok {
		return Account{}, ErrUnknownToken
	}
	return acct, nil
}

// docs:end state

// docs:start filters
// Filters binds typed values from the query string and the headers.
type Filters struct {
	Limit int        `query:"limit" default:"10" validate:"min=1,max=100"`
	Since *time.Time `query:"since"` // optional: nil when absent (RFC 3339)
	Tags  []string   `query:"tag"`   // repeated: ?tag=go&tag=ws
	Lang  string     `header:"Accept-Language" default:"en"`
}

// docs:end filters

// docs:start user
// User authenticates the connection with the token that follows "bearer"
// in Sec-WebSocket-Protocol. Accept then agrees on "bearer", so the token
// is never echoed back.
type User struct {
	Token string `protocol:"bearer"` // required: no pointer, no default
	Name  string // not bound: set by Resolve
	Admin bool
}

func (u *User) Resolve(ctx context.Context) error {
	acct, err := wsapi.State[Accounts](ctx).Lookup(u.Token) // the app's Accounts
	if err != nil {
		return err // ErrUnknownToken: the app's error handler answers it
	}
	u.Name, u.Admin = acct.Name, acct.Admin
	return nil
}

// docs:end user

// docs:start session
// Session marks the user online for as long as the connection lasts. Its
// User is the same instance the route's other dependencies get: each
// dependency type is resolved once per connection.
type Session struct {
	User *User         // a sub-dependency, resolved first
	Req  *http.Request // injected: the handshake request
	From string
}

func (s *Session) Resolve(ctx context.Context) error {
	s.From = s.Req.RemoteAddr
	wsapi.State[*Online](ctx).add(s.User.Name)
	return nil
}

// Close runs after the handler returns, in reverse order of resolution. Its
// ctx carries the app's state, and the connection's end does not cancel it.
func (s *Session) Close(ctx context.Context) error {
	wsapi.State[*Online](ctx).remove(s.User.Name)
	return nil
}

// docs:end session

// docs:start guard
// AdminOnly refuses everyone but admins. Added to a group with
// wsapi.Depends, it guards every route of the group.
type AdminOnly struct {
	User *User
}

func (a *AdminOnly) Resolve(ctx context.Context) error {
	if !a.User.Admin {
		return &wsapi.RejectError{Code: 4003, Reason: "admins only", Status: http.StatusForbidden}
	}
	return nil
}

// docs:end guard

// docs:start params
// FeedParams is what /feed/{room} needs: a path value and two dependencies.
type FeedParams struct {
	Room    string `path:"room" validate:"alphanum,max=20"`
	Filters Filters
	Session Session
}

// docs:end params

// Feed is the first message of /feed/{room}: what the handshake bound.
type Feed struct {
	Room  string     `json:"room"`
	User  string     `json:"user"`
	Limit int        `json:"limit"`
	Since *time.Time `json:"since"`
	Tags  []string   `json:"tags"`
	Lang  string     `json:"lang"`
}

func newApp(opts *wsapi.Options) *wsapi.App {
	app := wsapi.New(opts)
	// docs:start provide
	wsapi.Provide(app, Accounts{
		"alice-token": {Name: "alice", Admin: true},
		"bob-token":   {Name: "bob"},
	})
	wsapi.Provide(app, &Online{users: map[string]int{}})
	// docs:end provide
	// docs:start handle-error
	// An unknown token, wherever it comes from, is refused with a 401
	// challenge: FastAPI's exception_handlers.
	wsapi.HandleErrorIs(app, ErrUnknownToken, func(ctx context.Context, ws *wsapi.Conn, err error) error {
		return &wsapi.RejectError{
			Code:   wsapi.ClosePolicyViolation,
			Reason: "unknown token",
			Status: http.StatusUnauthorized,
			Header: http.Header{"WWW-Authenticate": {`Bearer realm="feed"`}},
		}
	})
	// docs:end handle-error
	// docs:start routes
	wsapi.Route(app, "/feed/{room}", func(ctx context.Context, ws *wsapi.Conn, p *FeedParams) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		f := p.Filters
		err := ws.SendJSON(ctx, Feed{Room: p.Room, User: p.Session.User.Name,
			Limit: f.Limit, Since: f.Since, Tags: f.Tags, Lang: f.Lang})
		if err != nil {
			return err
		}
		for { // wait for the client to leave
			if _, err := ws.ReceiveText(ctx); err != nil {
				return err
			}
		}
	})

	admin := app.Group("/admin")
	wsapi.Depends[AdminOnly](admin) // runs before every route of the group
	admin.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.SendText(ctx, "welcome, admin")
	})
	// docs:end routes

	// docs:start http
	// A plain HTTP route shares the state, and with HTTPRoute the
	// dependency types: Filters binds and validates here as on /feed/{room}.
	app.HandleFunc("GET /online", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(wsapi.State[*Online](r.Context()).list())
	})
	wsapi.HTTPRoute(app, "GET /feed/{room}/settings", func(w http.ResponseWriter, r *http.Request, p *SettingsParams) error {
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(Feed{Room: p.Room, Limit: p.Filters.Limit, Since: p.Filters.Since,
			Tags: p.Filters.Tags, Lang: p.Filters.Lang})
	})
	// docs:end http
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return app
}

// SettingsParams is what GET /feed/{room}/settings needs: the feed's room
// and Filters, the same dependency type as the WebSocket route's.
type SettingsParams struct {
	Room    string `path:"room" validate:"alphanum,max=20"`
	Filters Filters
}

// Online counts the open connections of each user: app state.
type Online struct {
	mu    sync.Mutex
	users map[string]int
}

func (p *Online) add(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[name]++
}

func (p *Online) remove(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.users[name]--; p.users[name] <= 0 {
		delete(p.users, name)
	}
}

func (p *Online) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := []string{}
	for name := range p.users {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx is done, then closes every connection with 1001.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dependencies", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wsapi dependencies: open http://localhost:%d/ in a browser (Ctrl-C to stop)\n", ln.Addr().(*net.TCPAddr).Port)
	return newApp(nil).Serve(ctx, ln)
}
