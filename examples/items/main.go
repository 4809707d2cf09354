// Command items is the dependencies app of the tutorial (section E): the
// route /items/{item_id}/ws needs a "session" cookie or a "token" query
// parameter, resolved before the handshake is accepted; without either the
// handshake is refused with 403 and close code 1008 (policy violation).
// Each message is answered with "Session or token: <value>", the cookie
// winning when both are sent. GET / serves an HTML client.
//
//	go run ./examples/items           # then open http://localhost:8000/
package main

import (
	"cmp"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/wsapi-go/wsapi"
)

//go:embed index.html
var page []byte

// docs:start dependency
// CookieOrToken is FastAPI's get_cookie_or_token dependency: its fields are
// bound from the handshake request, then Resolve checks them.
type CookieOrToken struct {
	Session *string `cookie:"session"`
	Token   *string `query:"token"`
	Value   string  // not bound: set by Resolve
}

// Resolve refuses the connection unless a session cookie or a token came.
func (d *CookieOrToken) Resolve(ctx context.Context) error {
	if d.Session == nil && d.Token == nil {
		return wsapi.Reject(wsapi.ClosePolicyViolation, "session cookie or token required")
	}
	d.Value = *cmp.Or(d.Session, d.Token)
	return nil
}

// docs:end dependency
// docs:start params
// ItemParams is what the route needs: a path value and the dependency.
type ItemParams struct {
	ItemID        string `path:"item_id"`
	CookieOrToken CookieOrToken
}

// docs:end params
func newApp() *wsapi.App {
	app := wsapi.New(nil)
	// docs:start route
	wsapi.Route(app, "/items/{item_id}/ws", func(ctx context.Context, ws *wsapi.Conn, p *ItemParams) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			if _, err := ws.ReceiveText(ctx); err != nil {
				return err
			}
			if err := ws.SendText(ctx, "Session or token: "+p.CookieOrToken.Value); err != nil {
				return err
			}
		}
	})
	// docs:end route
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return app
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("items", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wsapi items: open http://localhost:%d/ in a browser (Ctrl-C to stop)\n", ln.Addr().(*net.TCPAddr).Port)
	return newApp().Serve(ctx, ln)
}
