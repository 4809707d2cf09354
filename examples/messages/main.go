// Command messages shows the three kinds of WebSocket messages of the
// tutorial (section D): /text answers text with text, /bytes answers binary
// with binary, /orders decodes, validates and answers JSON, and /any takes
// either kind. GET / serves a page to try them.
//
//	go run ./examples/messages            # then open http://localhost:8000/
package main

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wsapi-go/wsapi"
)

//go:embed index.html
var page []byte

// docs:start types
// Order is what a client sends to /orders. ReceiveJSON checks the
// validate tags after decoding.
type Order struct {
	Item     string `json:"item" validate:"required"`
	Quantity int    `json:"quantity" validate:"min=1,max=10"`
}

// Receipt is what /orders answers.
type Receipt struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
	Status   string `json:"status"`
}

// docs:end types

func newApp() *wsapi.App {
	app := wsapi.New(nil)

	// docs:start text
	app.WS("/text", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			text, err := ws.ReceiveText(ctx)
			if err != nil {
				return err
			}
			if err := ws.SendText(ctx, strings.ToUpper(text)); err != nil {
				return err
			}
		}
	})
	// docs:end text

	// docs:start bytes
	app.WS("/bytes", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			data, err := ws.ReceiveBytes(ctx) // a text message closes with 1003
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			if err := ws.SendBytes(ctx, sum[:]); err != nil {
				return err
			}
		}
	})
	// docs:end bytes

	// docs:start json
	app.WS("/orders", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			var order Order
			err := ws.ReceiveJSON(ctx, &order)
			var invalid *wsapi.ValidationError
			switch {
			case errors.As(err, &invalid):
				// Bad JSON, a wrong type or a failed validate tag: answer
				// with {"detail": [...]} and keep the connection open.
				err = ws.SendJSON(ctx, invalid)
			case err != nil:
				return err // a *wsapi.DisconnectError ends the handler quietly
			default:
				err = ws.SendJSON(ctx, Receipt{Item: order.Item, Quantity: order.Quantity, Status: "accepted"})
			}
			if err != nil {
				return err
			}
		}
	})
	// docs:end json

	// docs:start any
	app.WS("/any", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			t, data, err := ws.Receive(ctx)
			if err != nil {
				return err
			}
			reply := fmt.Sprintf("%s message, %d bytes", t, len(data))
			if err := ws.SendText(ctx, reply); err != nil {
				return err
			}
		}
	})
	// docs:end any

	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return app
}

// docs:start main
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx is done, then closes every connection with 1001.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("messages", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wsapi messages: open http://localhost:%d/ in a browser (Ctrl-C to stop)\n", ln.Addr().(*net.TCPAddr).Port)
	return newApp().Serve(ctx, ln)
}

// docs:end main
