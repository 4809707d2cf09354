// Command disconnects shows how WebSocket connections end (section F of the
// tutorial). /ws echoes text and logs how each client left; sending "quit"
// makes the server close with code 4000, and "fail" makes the handler fail
// (close code 1011, logged). /clock sends the time every second and never
// reads: its context tells it when the client is gone.
//
//	go run ./examples/disconnects    # then open http://localhost:8000/
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsapi-go/wsapi"
)

//go:embed index.html
var page []byte

func newApp(logger *slog.Logger, tick time.Duration) *wsapi.App {
	app := wsapi.New(&wsapi.Options{Logger: logger})

	// docs:start echo
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			text, err := ws.ReceiveText(ctx)
			var d *wsapi.DisconnectError
			if errors.As(err, &d) { // FastAPI's except WebSocketDisconnect
				logger.Info("client left", "code", int(d.Code), "reason", d.Reason)
				return nil
			} else if err != nil {
				return err
			}
			switch text {
			case "quit":
				return ws.Close(4000, "bye") // an application-defined code
			case "fail":
				return errors.New("something broke") // logged; the client sees 1011
			}
			if err := ws.SendText(ctx, "echo: "+text); err != nil {
				return err
			}
		}
	})
	// docs:end echo

	// docs:start clock
	app.WS("/clock", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		ticker := time.NewTicker(tick)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done(): // the client left, or the server is shutting down
				logger.Info("clock stopped", "cause", context.Cause(ctx))
				return nil
			case now := <-ticker.C:
				if err := ws.SendText(ctx, now.Format(time.TimeOnly)); err != nil {
					return err
				}
			}
		}
	})
	// docs:end clock

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

// run serves until ctx is done, then closes every connection with 1001.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("disconnects", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wsapi disconnects: open http://localhost:%d/ in a browser (Ctrl-C to stop)\n", ln.Addr().(*net.TCPAddr).Port)
	logger := slog.New(slog.NewTextHandler(out, nil))
	return newApp(logger, time.Second).Serve(ctx, ln)
}
