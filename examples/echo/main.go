// Command echo is the first WebSocket app of the tutorial (sections A, C and
// D): the route /ws answers every text message with "Message text was:
// <message>", and GET / serves the HTML client that talks to it.
//
//	go run ./examples/echo            # then open http://localhost:8000/
//	go run ./examples/echo -addr :9000
package main

import (
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

// newApp builds the app; main and the tests share it.
func newApp() *wsapi.App {
	app := wsapi.New(nil)
	// docs:start handler
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			data, err := ws.ReceiveText(ctx)
			if err != nil {
				return err // a *wsapi.DisconnectError ends the handler quietly
			}
			if err := ws.SendText(ctx, "Message text was: "+data); err != nil {
				return err
			}
		}
	})
	// docs:end handler
	// docs:start page
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	// docs:end page
	return app
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
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wsapi echo: open http://localhost:%d/ in a browser (Ctrl-C to stop)\n", ln.Addr().(*net.TCPAddr).Port)
	return newApp().Serve(ctx, ln)
}
