package servers

import (
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

type gobwasConn struct {
	mu sync.Mutex
	c  net.Conn
}

// startGobwasHTTP is gobwas/ws as its README's first example shows it:
// net/http serves the handshake, ws.UpgradeHTTP hijacks the connection, and
// a goroutine per connection uses wsutil's helpers, no framework on top.
func startGobwasHTTP() (*Instance, error) {
	subs := newRegistry[*gobwasConn]()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			for {
				msg, op, err := wsutil.ReadClientData(conn)
				if err != nil {
					return
				}
				if err := wsutil.WriteServerMessage(conn, op, msg); err != nil {
					return
				}
			}
		}()
	})
	mux.HandleFunc("/sub", func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		gc := &gobwasConn{c: conn}
		subs.add(gc)
		go func() {
			defer func() {
				subs.remove(gc)
				conn.Close()
			}()
			for {
				// The write lock keeps the control replies of the read
				// path from interleaving with broadcasts.
				if _, _, err := wsutil.ReadClientData(&lockedWriter{gc}); err != nil {
					return
				}
			}
		}()
	})
	// The handshake scenario's bare upgrade: ws.UpgradeHTTP in a handler,
	// then read one message (the client's close) and end.
	mux.HandleFunc("/hsbare", func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		wsutil.ReadClientData(conn)
	})
	addr, stop, err := serveHTTP(mux)
	if err != nil {
		return nil, err
	}
	return &Instance{
		Addr: addr,
		broadcast: func(ctx context.Context, payloads [][]byte) error {
			for _, p := range payloads {
				for _, gc := range subs.snapshot() {
					gc.mu.Lock()
					wsutil.WriteServerMessage(gc.c, ws.OpText, p)
					gc.mu.Unlock()
				}
			}
			return nil
		},
		count: subs.len,
		stop:  stop,
	}, nil
}

// lockedWriter reads from the connection freely and writes under its lock.
type lockedWriter struct{ gc *gobwasConn }

func (l *lockedWriter) Read(p []byte) (int, error) { return l.gc.c.Read(p) }

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.gc.mu.Lock()
	defer l.gc.mu.Unlock()
	return l.gc.c.Write(p)
}
