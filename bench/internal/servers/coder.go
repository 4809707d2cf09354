package servers

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
)

func startCoder() (*Instance, error) {
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled}
	subs := newRegistry[*websocket.Conn]()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(32 << 20)
		ctx := r.Context()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, data); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/sub", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		subs.add(c)
		defer func() {
			subs.remove(c)
			c.CloseNow()
		}()
		ctx := r.Context()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	})
	addr, stop, err := serveHTTP(mux)
	if err != nil {
		return nil, err
	}
	return &Instance{
		Addr: addr,
		broadcast: func(ctx context.Context, payloads [][]byte) error {
			for _, p := range payloads {
				for _, c := range subs.snapshot() {
					c.Write(ctx, websocket.MessageText, p) // safe for concurrent use
				}
			}
			return nil
		},
		count: subs.len,
		stop:  stop,
	}, nil
}
