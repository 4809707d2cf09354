// Package servers holds one echo/broadcast server per contender, all behind
// the same contract:
//
//   - /echo echoes every data message with its type (text or binary);
//   - /sub registers the connection for broadcasts and reads until it ends;
//   - Broadcast sends n text messages of a given size to every subscriber,
//     through the library's own broadcast path;
//   - wsapi adds the handshake routes /hs/{room} (a 5-field params struct
//     and one dependency) and /hsbare, and both gobwas forms add /hsbare:
//     accept, read one message, end.
//
// Every server listens on 127.0.0.1 only.
package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Names lists the contenders, wsapi first.
var Names = []string{"wsapi", "gorilla", "coder", "gws", "gobwas-http", "gobwas-zc", "epoll"}

// Instance is a running server.
type Instance struct {
	// Addr is the host:port of its WebSocket listener.
	Addr string

	broadcast func(ctx context.Context, payloads [][]byte) error
	count     func() int
	chat      func() int // clients on /chat; nil without that route
	stop      func()
}

// Broadcast sends n text messages of size bytes each to every subscriber
// connected on /sub. It returns when the library has taken them (queued or
// written, as the library does).
func (in *Instance) Broadcast(ctx context.Context, n, size int) error {
	return in.broadcast(ctx, Payloads(n, size))
}

// Subscribers returns how many /sub connections are registered.
func (in *Instance) Subscribers() int { return in.count() }

// ChatClients returns how many /chat clients are registered, and false when
// the contender has no /chat route (see BurstNames).
func (in *Instance) ChatClients() (int, bool) {
	if in.chat == nil {
		return 0, false
	}
	return in.chat(), true
}

// Close stops the server.
func (in *Instance) Close() { in.stop() }

// Payloads returns n distinct ASCII payloads of size bytes.
func Payloads(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		p := make([]byte, size)
		for j := range p {
			p[j] = 'a' + byte((i+j)%26)
		}
		out[i] = p
	}
	return out
}

// Start starts the named contender's server on 127.0.0.1 and a free port.
func Start(name string) (*Instance, error) {
	switch name {
	case "wsapi":
		return startWSAPI()
	case "gorilla":
		return startGorilla()
	case "coder":
		return startCoder()
	case "gws":
		return startGWS()
	case "gobwas-http":
		return startGobwasHTTP()
	case "gobwas-zc":
		return startGobwasZC()
	case "epoll":
		return startEpoll()
	}
	return nil, fmt.Errorf("unknown contender %q (have %v)", name, Names)
}

// serveHTTP serves h with a plain http.Server on 127.0.0.1.
func serveHTTP(h http.Handler) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// registry is the connection set that users of the libraries without a
// broadcast helper keep: a map under a mutex.
type registry[T comparable] struct {
	mu sync.Mutex
	m  map[T]struct{}
}

func newRegistry[T comparable]() *registry[T] { return &registry[T]{m: map[T]struct{}{}} }

func (r *registry[T]) add(c T) {
	r.mu.Lock()
	r.m[c] = struct{}{}
	r.mu.Unlock()
}

func (r *registry[T]) remove(c T) {
	r.mu.Lock()
	delete(r.m, c)
	r.mu.Unlock()
}

func (r *registry[T]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// snapshot copies the set, so that writes happen outside the lock.
func (r *registry[T]) snapshot() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]T, 0, len(r.m))
	for c := range r.m {
		out = append(out, c)
	}
	return out
}
