// Command autobahn is the echo server that protocol conformance checkers,
// such as the Autobahn|Testsuite fuzzing client, run against: every text or
// binary message is sent back with its type on /echo. It offers
// permessage-deflate (with context takeover when the client agrees),
// validates UTF-8 and reads messages of up to 32 MiB.
//
//	go run ./examples/autobahn -addr :9001
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/wsapi-go/wsapi"
)

func newApp() *wsapi.App {
	app := wsapi.New(&wsapi.Options{
		ReadLimit:               32 << 20,
		Compression:             wsapi.CompressionContextTakeover,
		InsecureSkipOriginCheck: true, // test clients send any Origin
	})
	app.WS("/echo", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		// ReceiveFunc lends each message from a reused buffer: the echo
		// costs no allocation, whatever the message's size.
		echo := func(t wsapi.MessageType, data []byte) error { return ws.Send(ctx, t, data) }
		for {
			if err := ws.ReceiveFunc(ctx, echo); err != nil {
				return err
			}
		}
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
	fs := flag.NewFlagSet("autobahn", flag.ContinueOnError)
	addr := fs.String("addr", ":9001", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wsapi autobahn echo server on ws://localhost:%d/echo\n", ln.Addr().(*net.TCPAddr).Port)
	return newApp().Serve(ctx, ln)
}
