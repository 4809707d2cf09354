package main

import (
	"context"
	"fmt"

	"github.com/wsapi-go/wsapi"
)

// docs:start params
// ChatParams binds the client's id from the path; a non-integer id is
// refused with 422 before the handshake is accepted.
type ChatParams struct {
	ClientID int `path:"client_id"`
}

// docs:end params
// newApp builds the chat of the tutorial (sections F and G) around manager.
func newApp(manager *wsapi.Manager) *wsapi.App {
	app := wsapi.New(nil)
	// docs:start route
	wsapi.Route(app, "/ws/{client_id}", func(ctx context.Context, ws *wsapi.Conn, p *ChatParams) error {
		if err := manager.Connect(ctx, ws); err != nil { // accepts and registers
			return err
		}
		defer manager.Disconnect(ws)
		err := func() error { // the tutorial's try: ... except WebSocketDisconnect
			for {
				data, err := ws.ReceiveText(ctx)
				if err != nil {
					return err
				}
				if err := manager.SendPersonal(ctx, ws, "You wrote: "+data); err != nil {
					return err
				}
				if err := manager.Broadcast(ctx, fmt.Sprintf("Client #%d says: %s", p.ClientID, data)); err != nil {
					return err
				}
			}
		}()
		if wsapi.IsDisconnect(err) {
			manager.Disconnect(ws)
			return manager.Broadcast(ctx, fmt.Sprintf("Client #%d left the chat", p.ClientID))
		}
		return err
	})
	// docs:end route
	app.Handle("GET /{$}", pageHandler())
	return app
}
