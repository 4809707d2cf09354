package wsapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout is how long Serve and ListenAndServe give connections and
// requests to finish once their context is done.
const ShutdownTimeout = 10 * time.Second

// Serve serves the app on ln until ctx is done, then shuts down gracefully:
// it stops accepting, closes every WebSocket connection with CloseGoingAway
// (1001), lets HTTP requests finish, and drops what remains after
// ShutdownTimeout. Its http.Server reads handshake headers within
// Options.HandshakeTimeout, against slow clients (slowloris). It returns nil
// after a graceful shutdown.
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	log.Fatal(app.ListenAndServe(ctx, ":8000"))
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: max(a.opts.HandshakeTimeout, 0),
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	wsDone := make(chan error, 1)
	go func() { wsDone <- a.Shutdown(sctx) }()
	err := srv.Shutdown(sctx)
	err = errors.Join(err, <-wsDone)
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
