package servers

import (
	"context"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// gorillaConn pairs a connection with the write lock its users must hold:
// gorilla allows one concurrent writer.
type gorillaConn struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func startGorilla() (*Instance, error) {
	// As in gorilla's examples/echo: a zero Upgrader (its default origin
	// check passes requests without an Origin header, as the load sends).
	upgrader := websocket.Upgrader{}
	subs := newRegistry[*gorillaConn]()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, message, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, message); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/sub", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		gc := &gorillaConn{c: c}
		subs.add(gc)
		defer func() {
			subs.remove(gc)
			c.Close()
		}()
		for {
			if _, _, err := c.NextReader(); err != nil {
				return
			}
		}
	})
	hub := newGorillaHub()
	go hub.run()
	mux.HandleFunc("/chat", func(w http.ResponseWriter, r *http.Request) { hub.serve(&upgrader, w, r) })
	addr, stop, err := serveHTTP(mux)
	if err != nil {
		close(hub.done)
		return nil, err
	}
	return &Instance{
		Addr: addr,
		broadcast: func(ctx context.Context, payloads [][]byte) error {
			for _, p := range payloads {
				for _, gc := range subs.snapshot() {
					gc.mu.Lock()
					gc.c.WriteMessage(websocket.TextMessage, p)
					gc.mu.Unlock()
				}
			}
			return nil
		},
		count: subs.len,
		chat:  func() int { return int(hub.n.Load()) },
		stop:  func() { stop(); close(hub.done) },
	}, nil
}
