package wsapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Serve serves the app on ln until ctx is done, then shuts down gracefully:
// it stops accepting, closes every WebSocket connection with CloseGoingAway
// (1001), lets HTTP requests finish, and drops what remains after
// Options.ShutdownTimeout. Its http.Server reads handshake headers within
// Options.HandshakeTimeout, against slow clients (slowloris). It returns nil
// after a graceful shutdown.
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	if err := app.ListenAndServe(ctx, ":8000"); err != nil {
//		log.Fatal(err)
//	}
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	var active atomic.Int64 // connections with a request in flight
	srv := new(http.Server)
	// Every request's context carries base, so a connection with no
	// middleware on its way can drop net/http's own contexts (servedContext).
	base := &serveBase{app: a, vals: context.WithValue(context.WithoutCancel(ctx), http.ServerContextKey, srv)}
	*srv = http.Server{
		Handler:           a,
		ReadHeaderTimeout: max(a.opts.HandshakeTimeout, 0),
		IdleTimeout:       2 * time.Minute,
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.WithoutCancel(ctx), servedKey{}, base)
		},
		ConnState: func(nc net.Conn, s http.ConnState) {
			switch s {
			case http.StateActive:
				active.Add(1)
			case http.StateIdle, http.StateHijacked:
				active.Add(-1)
			}
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.opts.ShutdownTimeout)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Shutdown(sctx) }()
	err := a.Shutdown(sctx)
	// net/http gives a connection that has not sent a request yet (browsers
	// open spares) five seconds before closing it. Once the WebSockets are
	// closed and no request is in flight, nothing remains worth waiting for.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case herr := <-httpDone:
			err = errors.Join(err, herr)
			waiting = false
		case <-tick.C:
			if active.Load() <= 0 {
				srv.Close()
				<-httpDone
				waiting = false
			}
		}
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (a *App) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}

// Shutdown closes every connection with CloseGoingAway (1001) and waits for
// their handlers to return; new handshakes are refused with 503 from the
// start. When ctx ends first, the remaining connections are dropped and
// Shutdown returns ctx.Err(). Call it beside http.Server.Shutdown, which does
// not know about WebSocket connections.
func (a *App) Shutdown(ctx context.Context) error {
	a.reg.mu.Lock()
	a.reg.shutdown = true
	conns := make([]*Conn, 0, len(a.reg.conns))
	for c := range a.reg.conns {
		conns = append(conns, c)
	}
	var idle chan struct{}
	if a.reg.active > 0 {
		if a.reg.idle == nil {
			a.reg.idle = make(chan struct{})
		}
		idle = a.reg.idle
	}
	a.reg.mu.Unlock()
	for _, c := range conns {
		go c.closeHandshake(CloseGoingAway, "server shutting down")
	}
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		a.reg.mu.Lock()
		for c := range a.reg.conns {
			go c.finish(&DisconnectError{Code: CloseGoingAway, Reason: "server shutting down"})
		}
		a.reg.mu.Unlock()
		return ctx.Err()
	}
}
