// Command dependencies goes beyond the tutorial's section E: typed values
// with defaults, optional and repeated values and validate tags; a bearer
// token carried in Sec-WebSocket-Protocol; a dependency tree resolved once
// per connection, with a Close method run after the handler; and a guard
// added to a whole group with wsapi.Depends.
//
// The route /feed/{room} needs a token: browsers send it with
// new WebSocket(url, ["bearer", token]). Tokens "alice-token" (an admin)
// and "bob-token" are known. GET /online lists who is connected.
//
//	go run ./examples/dependencies    # then open http://localhost:8000/
package main

import (
	"context"
	_ "embed"
	"encoding/json"
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

// account is what a token stands for. A real app would look it up in a
// database or verify a signed token.
type account struct {
	name  string
	admin bool
}

var accounts = map[string]account{
	"alice-token": {name: "alice", admin: true},
	"bob-token":   {name: "bob"},
}

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
	acct, ok := accounts[u.Token]
	if !ok {
		return wsapi.Reject(wsapi.ClosePolicyViolation, "unknown token")
	}
	u.Name, u.Admin = acct.name, acct.admin
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
	online.add(s.User.Name)
	return nil
}

// Close runs after the handler returns, in reverse order of resolution.
func (s *Session) Close() {
	online.remove(s.User.Name)
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
		for _, err := range ws.Texts(ctx) { // wait for the client to leave
			if err != nil {
				return err
			}
		}
		return nil
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

	app.HandleFunc("GET /online", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(online.list())
	})
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return app
}

// presence counts the open connections of each user.
type presence struct {
	mu    sync.Mutex
	users map[string]int
}

var online = &presence{users: map[string]int{}}

func (p *presence) add(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[name]++
}

func (p *presence) remove(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.users[name]--; p.users[name] <= 0 {
		delete(p.users, name)
	}
}

func (p *presence) list() []string {
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
