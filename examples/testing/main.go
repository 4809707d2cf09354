// Command testing is the app of the testing guide: main_test.go tests it
// with package wsapitest. The route /ws needs a session cookie; it greets
// the user in the language of Accept-Language, then echoes text. "bye"
// makes it close the connection, "boom" makes the handler fail.
//
//	go run ./examples/testing        # a client: websocat, or the tests
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/wsapi-go/wsapi"
)

// Sessions maps session ids to users: app state (wsapi.Provide). The id
// "s-down" stands for a session store that is down.
type Sessions map[string]string

// ErrStoreDown is the session store's failure.
var ErrStoreDown = errors.New("session store unavailable")

// Lookup returns the user of a session, "" for an unknown one.
func (s Sessions) Lookup(id string) (string, error) {
	if id == "s-down" {
		return "", ErrStoreDown
	}
	return s[id], nil
}

// Auth resolves the user from the session cookie.
type Auth struct {
	Session string `cookie:"session"`
	User    string
}

func (a *Auth) Resolve(ctx context.Context) error {
	user, err := wsapi.State[Sessions](ctx).Lookup(a.Session)
	if err != nil {
		return fmt.Errorf("looking up the session: %w", err) // 500, logged
	}
	if user == "" {
		return wsapi.Reject(wsapi.ClosePolicyViolation, "invalid session")
	}
	a.User = user
	return nil
}

// Params is what /ws needs.
type Params struct {
	Auth Auth
	Lang string `header:"Accept-Language" default:"en" validate:"oneof=en es"`
	Room string `query:"room" default:"lobby"`
}

var greetings = map[string]string{"en": "hello %s, welcome to %s", "es": "hola %s, bienvenido a %s"}

// newApp returns the app and the manager that tracks its connections.
func newApp() (*wsapi.App, *wsapi.Manager) {
	app := wsapi.New(&wsapi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	wsapi.Provide(app, Sessions{"s-alice": "alice", "s-bob": "bob"})
	manager := wsapi.NewManager(nil)
	wsapi.Route(app, "/ws", func(ctx context.Context, ws *wsapi.Conn, p *Params) error {
		opts := &wsapi.AcceptOptions{}
		if slices.Contains(ws.Subprotocols(), "chat.v1") {
			opts.Subprotocol = "chat.v1"
		}
		if err := ws.Accept(ctx, opts); err != nil {
			return err
		}
		if err := manager.Connect(ctx, ws, p.Room); err != nil {
			return err
		}
		if err := ws.SendText(ctx, fmt.Sprintf(greetings[p.Lang], p.Auth.User, p.Room)); err != nil {
			return err
		}
		for {
			text, err := ws.ReceiveText(ctx)
			if err != nil {
				return err
			}
			switch text {
			case "bye":
				return ws.Close(wsapi.CloseNormalClosure, "bye "+p.Auth.User)
			case "boom":
				return errors.New("boom")
			case "wait":
				continue // answers nothing
			}
			if err := ws.SendText(ctx, text); err != nil {
				return err
			}
		}
	})
	return app, manager
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
	fs := flag.NewFlagSet("testing", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wsapi testing: listening on ws://localhost:%d/ws (Ctrl-C to stop)\n", ln.Addr().(*net.TCPAddr).Port)
	app, _ := newApp()
	return app.Serve(ctx, ln)
}
