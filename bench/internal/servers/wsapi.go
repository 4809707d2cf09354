package servers

import (
	"context"
	"net"

	"github.com/wsapi-go/wsapi"
)

// Auth is the handshake scenario's dependency: a token from the query.
type Auth struct {
	Token string `query:"token"`
	User  string
}

// Resolve refuses a handshake without a token.
func (a *Auth) Resolve(ctx context.Context) error {
	if a.Token == "" {
		return wsapi.Reject(wsapi.ClosePolicyViolation, "token")
	}
	a.User = "u"
	return nil
}

// Params is the handshake scenario's params struct: five bound fields and
// one dependency.
type Params struct {
	Room    string `path:"room"`
	Page    int    `query:"page"`
	Limit   int    `query:"limit" default:"10"`
	Agent   string `header:"User-Agent"`
	Session string `cookie:"session"`
	Auth    Auth
}

func startWSAPI() (*Instance, error) {
	app := wsapi.New(&wsapi.Options{ReadLimit: 32 << 20, InsecureSkipOriginCheck: true})
	// /echo is the idiomatic path the tutorial teaches: Receive, then Send.
	app.WS("/echo", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			t, data, err := ws.Receive(ctx)
			if err != nil {
				return err
			}
			if err := ws.Send(ctx, t, data); err != nil {
				return err
			}
		}
	})
	// /echo-func lends each message to the echo: ReceiveFunc, no copy.
	app.WS("/echo-func", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		echo := func(t wsapi.MessageType, data []byte) error { return ws.Send(ctx, t, data) }
		for {
			if err := ws.ReceiveFunc(ctx, echo); err != nil {
				return err
			}
		}
	})

	m := wsapi.NewManager(nil) // the defaults: queues bounded at 1 MiB
	app.WS("/sub", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := m.Connect(ctx, ws); err != nil {
			return err
		}
		for {
			if _, _, err := ws.Receive(ctx); err != nil {
				return err
			}
		}
	})

	wsapi.Route(app, "/hs/{room}", func(ctx context.Context, ws *wsapi.Conn, p *Params) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		_, err := ws.ReceiveText(ctx)
		return err
	})
	app.WS("/hsbare", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		_, err := ws.ReceiveText(ctx)
		return err
	})

	// The typed scenario: wsapi's typed messages. MessageRate -1 turns off
	// Serve's per-connection rate limit (100 a second by default), which
	// the load exceeds by design and which the hand-written gws side lacks.
	typed := app.WS("/typed", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.Dispatch(ctx)
	}).With(&wsapi.EndpointOptions{MessageRate: -1})
	wsapi.On(typed, "echo", func(ctx context.Context, ws *wsapi.Conn, m TypedEcho) error {
		return ws.SendJSON(ctx, wsapi.Typed("echoed", TypedReply(m)))
	})

	// The burst scenario: a chat with the Manager's defaults, on purpose
	// (the /sub manager above has a larger queue for the bcast scenario).
	chat := wsapi.NewManager(nil)
	app.WS("/chat", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := chat.Connect(ctx, ws); err != nil {
			return err
		}
		defer chat.Disconnect(ws)
		for {
			data, err := ws.ReceiveText(ctx)
			if wsapi.IsDisconnect(err) {
				return nil
			} else if err != nil {
				return err
			}
			if err := chat.Broadcast(ctx, data); err != nil {
				return err
			}
		}
	})

	// App.Serve, as the docs teach: it owns the listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		app.Serve(sctx, ln)
	}()
	addr, stop := ln.Addr().String(), func() { cancel(); <-served }
	return &Instance{
		Addr: addr,
		broadcast: func(ctx context.Context, payloads [][]byte) error {
			for _, p := range payloads {
				if err := m.Broadcast(ctx, string(p)); err != nil {
					return err
				}
			}
			return nil
		},
		count: m.Len,
		chat:  chat.Len,
		stop:  stop,
	}, nil
}
