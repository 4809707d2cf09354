package servers

import (
	"context"
	"net/http"

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
		stop:  stop,
	}, nil
}
