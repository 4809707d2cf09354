// Command quickstart is the README's 15-line echo app.
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
	log.Fatal(newApp().ListenAndServe(ctx, ":8000"))
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
				return err // a *wsapi.Disconnect ends the handler quietly
			}
			if err := ws.SendText(ctx, "Message text was: "+data); err != nil {
				return err
			}
		}
	})
	// docs:end quickstart
	return app
}
