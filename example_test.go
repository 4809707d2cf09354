package wsapi_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// exampleT lets Example functions use wsapitest, which wants a testing.TB:
// failures print and abort the example, cleanups run at its end.
type exampleT struct {
	testing.TB // never called: it only satisfies testing.TB's unexported method
	cleanups   []func()
}

func (t *exampleT) Helper()                   {}
func (t *exampleT) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Logf(string, ...any)       {}
func (t *exampleT) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (t *exampleT) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

func Example() {
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

	// In a program: app.ListenAndServe(ctx, ":8000"). Here, the
	// test client serves the app on a loopback port and talks to it.
	t := &exampleT{}
	defer t.done()
	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	ws.SendText("hello")
	fmt.Println(ws.ReceiveText())
	ws.Close()
	// Output: Message text was: hello
}

// CookieOrToken is the tutorial's get_cookie_or_token dependency.
type CookieOrToken struct {
	Session *string `cookie:"session"`
	Token   *string `query:"token"`
	Value   string  // set by Resolve
}

func (d *CookieOrToken) Resolve(ctx context.Context) error {
	if d.Session == nil && d.Token == nil {
		return wsapi.Reject(wsapi.ClosePolicyViolation, "session cookie or token required")
	}
	d.Value = *cmp.Or(d.Session, d.Token)
	return nil
}

type ItemParams struct {
	ItemID string `path:"item_id"`
	Q      *int   `query:"q" validate:"omitempty,min=1"`
	Auth   CookieOrToken
}

func ExampleRoute() {
	app := wsapi.New(nil)
	wsapi.Route(app, "/items/{item_id}/ws", func(ctx context.Context, ws *wsapi.Conn, p *ItemParams) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.SendText(ctx, fmt.Sprintf("item %s, session or token %s", p.ItemID, p.Auth.Value))
	})

	t := &exampleT{}
	defer t.done()
	c := wsapitest.New(t, app, nil)
	fmt.Println(c.Connect("/items/foo/ws?token=some-token", nil).ReceiveText())

	_, err := c.Dial("/items/foo/ws", nil) // neither cookie nor token: refused before accept
	var he *wsapitest.HandshakeError
	if errors.As(err, &he) {
		fmt.Println(he.StatusCode, string(he.Body))
	}
	_, err = c.Dial("/items/foo/ws?token=t&q=0", nil) // q fails validation
	if errors.As(err, &he) {
		fmt.Println(he.StatusCode, string(he.Body))
	}
	// Output:
	// item foo, session or token some-token
	// 403 {"code":1008,"detail":"session cookie or token required"}
	// 422 {"detail":[{"loc":["query","q"],"msg":"q must be 1 or greater","type":"min"}],"endpoint":"WS /items/{item_id}/ws"}
}

func ExampleApp_WS() {
	app := wsapi.New(nil)
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			t, data, err := ws.Receive(ctx)
			if err != nil {
				return err // a *wsapi.DisconnectError ends the handler quietly
			}
			if err := ws.Send(ctx, t, data); err != nil { // text as text, binary as binary
				return err
			}
		}
	})
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!DOCTYPE html><title>client</title>")
	})

	t := &exampleT{}
	defer t.done()
	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	ws.SendBytes([]byte{1, 2, 3})
	fmt.Println(ws.ReceiveBytes())
	// Output: [1 2 3]
}

func ExampleConn_ReceiveJSON() {
	type Order struct {
		Item     string `json:"item" validate:"required"`
		Quantity int    `json:"quantity" validate:"min=1,max=10"`
	}
	app := wsapi.New(nil)
	app.WS("/orders", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			var o Order
			err := ws.ReceiveJSON(ctx, &o)
			var invalid *wsapi.ValidationError
			switch {
			case errors.As(err, &invalid):
				err = ws.SendJSON(ctx, invalid) // answer, and keep the connection
			case err != nil:
				return err
			default:
				err = ws.SendJSON(ctx, map[string]any{"ok": o.Item})
			}
			if err != nil {
				return err
			}
		}
	})

	t := &exampleT{}
	defer t.done()
	ws := wsapitest.New(t, app, nil).Connect("/orders", nil)
	ws.SendText(`{"item": "tea", "quantity": 20}`)
	fmt.Println(ws.ReceiveText())
	ws.SendText(`{"item": "tea", "quantity": 2}`)
	fmt.Println(ws.ReceiveText())
	// Output:
	// {"detail":[{"loc":["message","quantity"],"msg":"quantity must be 10 or less","type":"max"}]}
	// {"ok":"tea"}
}

func ExampleManager_Broadcast() {
	type ChatParams struct {
		ClientID int `path:"client_id"`
	}
	manager := wsapi.NewManager(nil)
	app := wsapi.New(nil)
	wsapi.Route(app, "/ws/{client_id}", func(ctx context.Context, ws *wsapi.Conn, p *ChatParams) error {
		if err := manager.Connect(ctx, ws); err != nil {
			return err
		}
		defer manager.Disconnect(ws)
		err := func() error { // try: ... except WebSocketDisconnect
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

	t := &exampleT{}
	defer t.done()
	c := wsapitest.New(t, app, nil)
	a, b := c.Connect("/ws/1", nil), c.Connect("/ws/2", nil)
	a.SendText("hi")
	fmt.Println(a.ReceiveText())
	fmt.Println(a.ReceiveText())
	fmt.Println(b.ReceiveText())
	a.Close()
	fmt.Println(b.ReceiveText())
	// Output:
	// You wrote: hi
	// Client #1 says: hi
	// Client #1 says: hi
	// Client #1 left the chat
}

func ExampleOverride() {
	app := wsapi.New(nil)
	type P struct{ Auth CookieOrToken }
	wsapi.Route(app, "/me", func(ctx context.Context, ws *wsapi.Conn, p *P) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.SendText(ctx, "hello "+p.Auth.Value)
	})
	restore := wsapi.Override(app, func(ctx context.Context, r *http.Request) (CookieOrToken, error) {
		return CookieOrToken{Value: "test-user"}, nil
	})
	defer restore()

	t := &exampleT{}
	defer t.done()
	fmt.Println(wsapitest.New(t, app, nil).Connect("/me", nil).ReceiveText())
	// Output: hello test-user
}

// QuotaError is an error type of the app's own, for ExampleHandleError.
type QuotaError struct{ Limit int }

func (e *QuotaError) Error() string { return fmt.Sprintf("quota of %d exceeded", e.Limit) }

func ExampleHandleError() {
	app := wsapi.New(nil)
	// FastAPI's exception_handlers: an error type becomes a close code.
	wsapi.HandleError(app, func(ctx context.Context, ws *wsapi.Conn, err *QuotaError) error {
		return wsapi.Reject(wsapi.CloseTryAgainLater, err.Error())
	})
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return fmt.Errorf("sending: %w", &QuotaError{Limit: 3})
	})

	t := &exampleT{}
	defer t.done()
	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	_, _, err := ws.Receive()
	fmt.Println(err)
	// Output:
	// wsapi: connection closed: 1013 (try again later) "quota of 3 exceeded"
}

// Greeting is app state for ExampleProvide.
type Greeting string

func ExampleProvide() {
	app := wsapi.New(nil)
	wsapi.Provide(app, Greeting("hello")) // FastAPI's app.state, typed
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.SendText(ctx, string(wsapi.State[Greeting](ctx)))
	})

	t := &exampleT{}
	defer t.done()
	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	fmt.Println(ws.ReceiveText())
	// Output:
	// hello
}

func ExampleHTTPRoute() {
	type Params struct {
		ID   int    `path:"id" validate:"min=1"`
		Lang string `query:"lang" default:"en"`
	}
	app := wsapi.New(nil)
	wsapi.HTTPRoute(app, "GET /items/{id}", func(w http.ResponseWriter, r *http.Request, p *Params) error {
		_, err := fmt.Fprintf(w, "item %d in %s", p.ID, p.Lang)
		return err
	})

	t := &exampleT{}
	defer t.done()
	c := wsapitest.New(t, app, nil)
	for _, path := range []string{"/items/7?lang=es", "/items/0"} {
		resp := c.Get(path)
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 200 item 7 in es
	// 422 {"detail":[{"loc":["path","id"],"msg":"id must be 1 or greater","type":"min"}],"endpoint":"GET /items/{id}"}
}
