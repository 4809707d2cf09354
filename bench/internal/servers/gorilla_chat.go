package servers

import (
	"net/http"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// The burst scenario's chat for gorilla, after gorilla's examples/chat: a
// hub goroutine owns the client set and hands each message to every
// client's buffered send channel; a client whose channel is full is
// dropped (its channel closed, so its writer sends a close frame). One
// difference: the example joins the messages queued for a client into one
// frame, separated by newlines; here each message is its own frame, as
// with the other contenders.

const gorillaChatQueue = 256 // the example's send channel size

type gorillaHub struct {
	clients    map[*gorillaClient]struct{}
	broadcast  chan []byte
	register   chan *gorillaClient
	unregister chan *gorillaClient
	done       chan struct{}
	n          atomic.Int64 // len(clients), for the debug endpoint
}

type gorillaClient struct {
	hub  *gorillaHub
	conn *websocket.Conn
	send chan []byte
}

func newGorillaHub() *gorillaHub {
	return &gorillaHub{
		clients:    map[*gorillaClient]struct{}{},
		broadcast:  make(chan []byte),
		register:   make(chan *gorillaClient),
		unregister: make(chan *gorillaClient),
		done:       make(chan struct{}),
	}
}

func (h *gorillaHub) drop(c *gorillaClient) {
	delete(h.clients, c)
	close(c.send)
	h.n.Store(int64(len(h.clients)))
}

func (h *gorillaHub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = struct{}{}
			h.n.Store(int64(len(h.clients)))
		case c := <-h.unregister:
			if _, ok := h.clients[c]; ok {
				h.drop(c)
			}
		case msg := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- msg:
				default:
					h.drop(c)
				}
			}
		case <-h.done:
			return
		}
	}
}

// serve upgrades a /chat request and starts the client's two pumps.
func (h *gorillaHub) serve(upgrader *websocket.Upgrader, w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gorillaClient{hub: h, conn: conn, send: make(chan []byte, gorillaChatQueue)}
	select {
	case h.register <- c:
	case <-h.done:
		conn.Close()
		return
	}
	go c.writePump()
	go c.readPump()
}

func (c *gorillaClient) readPump() {
	defer func() {
		select {
		case c.hub.unregister <- c:
		case <-c.hub.done:
		}
		c.conn.Close()
	}()
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		select {
		case c.hub.broadcast <- msg:
		case <-c.hub.done:
			return
		}
	}
}

func (c *gorillaClient) writePump() {
	defer c.conn.Close()
	for msg := range c.send {
		if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			return
		}
	}
	// The hub closed the channel: dropped, or gone.
	c.conn.WriteMessage(websocket.CloseMessage, []byte{})
}
