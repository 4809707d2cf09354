package servers

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/go-playground/validator/v10"
	"github.com/lxzan/gws"
)

// gwsEcho is gws's echo handler, as in its README and Autobahn server.
type gwsEcho struct{ gws.BuiltinEventHandler }

func (gwsEcho) OnPing(socket *gws.Conn, payload []byte) { _ = socket.WritePong(payload) }

func (gwsEcho) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close()
	_ = socket.WriteMessage(message.Opcode, message.Bytes())
}

// gwsSub keeps subscribers in gws's ConcurrentMap, as its push example does.
type gwsSub struct {
	gws.BuiltinEventHandler
	conns *gws.ConcurrentMap[*gws.Conn, struct{}]
}

func (h *gwsSub) OnClose(socket *gws.Conn, err error) { h.conns.Delete(socket) }

func (h *gwsSub) OnMessage(socket *gws.Conn, message *gws.Message) { message.Close() }

// gwsTyped is the typed scenario written by hand for gws: decode the
// discriminator, decode the message, validate it with the validator wsapi
// uses, encode the reply and write it.
type gwsTyped struct {
	gws.BuiltinEventHandler
	validate *validator.Validate
}

func (gwsTyped) OnPing(socket *gws.Conn, payload []byte) { _ = socket.WritePong(payload) }

// gwsEnvelope is the part of a message that names its type.
type gwsEnvelope struct {
	Type string `json:"type"`
}

type gwsTypedReply struct {
	Type string `json:"type"`
	TypedReply
}

type gwsTypedError struct {
	Type   string `json:"type"`
	Detail string `json:"detail"`
}

func (h *gwsTyped) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close()
	data := message.Bytes()
	var env gwsEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		h.reply(socket, gwsTypedError{"error", err.Error()})
		return
	}
	switch env.Type {
	case "echo":
		var m TypedEcho
		if err := json.Unmarshal(data, &m); err != nil {
			h.reply(socket, gwsTypedError{"error", err.Error()})
			return
		}
		if err := h.validate.Struct(&m); err != nil {
			h.reply(socket, gwsTypedError{"error", err.Error()})
			return
		}
		h.reply(socket, gwsTypedReply{"echoed", TypedReply(m)})
	default:
		h.reply(socket, gwsTypedError{"error", "unknown message type"})
	}
}

func (h *gwsTyped) reply(socket *gws.Conn, v any) {
	out, err := json.Marshal(v)
	if err != nil {
		return
	}
	_ = socket.WriteMessage(gws.OpcodeText, out)
}

// gwsChat is the burst scenario's chat: each message goes to every client
// through a gws.Broadcaster.
type gwsChat struct {
	gws.BuiltinEventHandler
	conns *gws.ConcurrentMap[*gws.Conn, struct{}]
}

func (h *gwsChat) OnClose(socket *gws.Conn, err error) { h.conns.Delete(socket) }

func (h *gwsChat) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close()
	b := gws.NewBroadcaster(message.Opcode, message.Bytes())
	h.conns.Range(func(c *gws.Conn, _ struct{}) bool {
		_ = b.Broadcast(c)
		return true
	})
	_ = b.Close()
}

func startGWS() (*Instance, error) {
	opt := &gws.ServerOption{ReadMaxPayloadSize: 32 << 20}
	echo := gws.NewUpgrader(gwsEcho{}, opt)
	sub := &gwsSub{conns: gws.NewConcurrentMap[*gws.Conn, struct{}]()}
	subUp := gws.NewUpgrader(sub, opt)
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		socket, err := echo.Upgrade(w, r)
		if err != nil {
			return
		}
		go socket.ReadLoop()
	})
	typedUp := gws.NewUpgrader(&gwsTyped{validate: validator.New(validator.WithRequiredStructEnabled())}, opt)
	mux.HandleFunc("/typed", func(w http.ResponseWriter, r *http.Request) {
		socket, err := typedUp.Upgrade(w, r)
		if err != nil {
			return
		}
		go socket.ReadLoop()
	})
	chat := &gwsChat{conns: gws.NewConcurrentMap[*gws.Conn, struct{}]()}
	chatUp := gws.NewUpgrader(chat, opt)
	mux.HandleFunc("/chat", func(w http.ResponseWriter, r *http.Request) {
		socket, err := chatUp.Upgrade(w, r)
		if err != nil {
			return
		}
		chat.conns.Store(socket, struct{}{})
		go socket.ReadLoop()
	})
	mux.HandleFunc("/sub", func(w http.ResponseWriter, r *http.Request) {
		socket, err := subUp.Upgrade(w, r)
		if err != nil {
			return
		}
		sub.conns.Store(socket, struct{}{})
		go socket.ReadLoop()
	})
	addr, stop, err := serveHTTP(mux)
	if err != nil {
		return nil, err
	}
	return &Instance{
		Addr: addr,
		broadcast: func(ctx context.Context, payloads [][]byte) error {
			for _, p := range payloads {
				b := gws.NewBroadcaster(gws.OpcodeText, p)
				sub.conns.Range(func(c *gws.Conn, _ struct{}) bool {
					_ = b.Broadcast(c)
					return true
				})
				_ = b.Close()
			}
			return nil
		},
		count: func() int { return sub.conns.Len() },
		chat:  func() int { return chat.conns.Len() },
		stop:  stop,
	}, nil
}
