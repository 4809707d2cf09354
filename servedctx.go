package wsapi

import (
	"context"
	"net/http"
	"time"
)

// servedKey marks the contexts of requests that App.Serve's own server
// reads; its value is the *serveBase of that Serve call.
type servedKey struct{}

// serveBase is what one Serve call shares with every connection it serves.
type serveBase struct {
	app  *App
	vals context.Context // Serve's ctx, never done, with http.ServerContextKey
}

// servedContext is the parent of a connection's context when nothing but
// App.Serve's server stands between the network and the route (no
// middleware anywhere on the way). It answers every value net/http puts in
// a request's context (the server, the connection's local address) and the
// values of Serve's ctx, but does not keep net/http's per-connection
// contexts (two cancelable contexts and a channel, about 400 bytes) alive as
// long as the WebSocket: that request context is done with once the
// connection is hijacked. With middleware, which may add values, the
// connection's context keeps the request's whole context instead.
type servedContext struct {
	base  *serveBase
	laddr any // the request context's http.LocalAddrContextKey value
}

func (s *servedContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (s *servedContext) Done() <-chan struct{}       { return nil }
func (s *servedContext) Err() error                  { return nil }

func (s *servedContext) Value(key any) any {
	switch key {
	case http.LocalAddrContextKey:
		return s.laddr
	case servedKey{}:
		return s.base
	}
	return s.base.vals.Value(key)
}

// connParent returns the parent of the context of a connection to rt whose
// handshake is r: r's context without its cancellation, or a lighter
// equivalent when r came straight from App.Serve's server.
func (a *App) connParent(rt *route, r *http.Request) context.Context {
	rctx := r.Context()
	if rt.bare.Load() && a.bare.Load() {
		if b, ok := rctx.Value(servedKey{}).(*serveBase); ok && b.app == a {
			return &servedContext{base: b, laddr: rctx.Value(http.LocalAddrContextKey)}
		}
	}
	return context.WithoutCancel(rctx)
}
