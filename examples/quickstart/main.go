// docs:start main

// Command quickstart is a first wsapi program: the echo route of the
// tutorial's section A, served on :8000 until Ctrl-C.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/wsapi-go/wsapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log.Println("listening on http://localhost:8000 (Ctrl-C to stop)")
	// Serves until ctx is done, then closes every connection with 1001.
	if err := newApp().ListenAndServe(ctx, ":8000"); err != nil {
		log.Fatal(err)
	}
}

func newApp() *wsapi.App {
	// docs:start quickstart
	app := wsapi.New(nil)
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
	// docs:end quickstart
	return app
}

// docs:end main
