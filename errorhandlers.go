package wsapi

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// An ErrorHandlerFunc turns an error that a handler or a dependency
// returned into what the client gets: FastAPI's exception handlers. ws is
// the connection, nil on a route registered with HTTPRoute. Before Accept,
// the handler may return a *RejectError to refuse the handshake with its
// status, headers, body, close code and reason; after Accept, a
// *RejectError closes the connection with its code and reason, and the
// handler may send on ws first. Returning nil means the error is handled:
// the handshake is refused with 403, or the connection closed with 1000,
// and nothing is logged. Any other error is handled as if no handler had
// matched: logged, and answered with 500 or 1011.
type ErrorHandlerFunc[E error] func(ctx context.Context, ws *Conn, err E) error

// errorHandler is one registration of HandleError or HandleErrorIs.
type errorHandler struct {
	match  func(err error) bool
	handle func(ctx context.Context, ws *Conn, err error) error
}

// HandleError registers h for the errors of type E, matched with errors.As,
// that handlers, dependencies' Resolve methods and HTTPRoute handlers
// return on app's routes: FastAPI's exception_handlers={CustomError:
// handler}. Handlers are tried in the order they were registered; the first
// that matches is used. A *DisconnectError is a normal end and never reaches a
// handler; a panic neither. Register handlers before serving.
//
//	wsapi.HandleError(app, func(ctx context.Context, ws *wsapi.Conn, err *QuotaError) error {
//		return wsapi.Reject(wsapi.CloseTryAgainLater, "quota exceeded, retry later")
//	})
func HandleError[E error](app *App, h ErrorHandlerFunc[E]) {
	if h == nil {
		panic(fmt.Sprintf("wsapi: %s: HandleError: nil handler", callerSite()))
	}
	app.addErrorHandler(errorHandler{
		match: func(err error) bool {
			var e E
			return errors.As(err, &e)
		},
		handle: func(ctx context.Context, ws *Conn, err error) error {
			var e E
			errors.As(err, &e)
			return h(ctx, ws, e)
		},
	})
}

// HandleErrorIs registers h for the errors that are target, matched with
// errors.Is, such as sql.ErrNoRows: HandleError for sentinel values.
func HandleErrorIs(app *App, target error, h ErrorHandlerFunc[error]) {
	if h == nil || target == nil {
		panic(fmt.Sprintf("wsapi: %s: HandleErrorIs: nil target or handler", callerSite()))
	}
	app.addErrorHandler(errorHandler{
		match:  func(err error) bool { return errors.Is(err, target) },
		handle: func(ctx context.Context, ws *Conn, err error) error { return h(ctx, ws, err) },
	})
}

func (a *App) addErrorHandler(h errorHandler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	hs := append(a.errHandlers.Load().list(), h)
	a.errHandlers.Store(&hs)
}

type errorHandlers []errorHandler

func (p *errorHandlers) list() errorHandlers {
	if p == nil {
		return nil
	}
	return append(errorHandlers(nil), (*p)...)
}

// errHandled stands for an error an error handler handled by returning nil.
var errHandled = errors.New("wsapi: error handled by an error handler")

// handleError passes err through the app's error handlers: it returns what
// the first matching handler returned (errHandled for nil), or err itself
// when none matches. A handler that panics is logged, and err stands.
func (a *App) handleError(ctx context.Context, ws *Conn, route string, err error) error {
	if err == nil || IsDisconnect(err) || err == errPanicked {
		return err
	}
	hs := a.errHandlers.Load()
	if hs == nil {
		return err
	}
	for _, h := range *hs {
		if h.match(err) {
			return a.callErrorHandler(ctx, ws, route, h, err)
		}
	}
	return err
}

// callErrorHandler runs the matching handler h for err, recovering a panic
// in it (logged, counted, and err kept). It is its own function so that its
// deferred recover is open-coded: a defer inside handleError's loop would
// make every handler end pay for the runtime's deferred-call machinery.
func (a *App) callErrorHandler(ctx context.Context, ws *Conn, route string, h errorHandler, err error) (out error) {
	defer func() {
		if v := recover(); v != nil {
			a.count.panics.Add(1)
			a.logger.Error("wsapi: error handler panicked", "route", route, "panic", v, "stack", string(debug.Stack()))
			out = err
		}
	}()
	if out = h.handle(ctx, ws, err); out == nil {
		return errHandled
	}
	return out
}
