package wsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/wsapi-go/wsapi/internal/testhook"
)

// run calls the handler on the connection's own goroutine, then ends the
// connection according to what the handler returned, closes the
// dependencies in reverse order, and reports to a waiting test client.
func (c *Conn) run(params any) {
	defer c.recoverHandler()
	err := c.route.invoke(c.ctx, c, params)
	c.ended(err, nil, nil)
}

// recoverHandler ends the connection of a handler that panicked.
func (c *Conn) recoverHandler() {
	if v := recover(); v != nil {
		c.ended(errPanicked, v, debug.Stack())
	}
}

// ended does what run does after the handler returns.
func (c *Conn) ended(err error, panicked any, stack []byte) {
	a := c.app
	if panicked != nil {
		a.count.panics.Add(1)
		a.logger.Error("wsapi: handler panicked", "route", c.route.pattern, "conn", c.id, "path", c.requestPath(),
			"remote", c.remoteAddr(), "panic", panicked, "stack", string(stack))
		c.observeError(fmt.Errorf("panic: %v", panicked), true)
	}
	result := testhook.Result{Panic: panicked}
	if c.State() == StateConnecting {
		result.Err, result.Refused = c.refuse(err, panicked), true
	} else {
		c.releaseHandoff() // Accept may have failed after taking the connection
		result.Err = c.end(err, panicked != nil)
	}
	c.deps.cleanup()
	c.cancel(context.Canceled)
	a.release()
	testhook.Report(c.requestContext(), result)
}

var errPanicked = errors.New("wsapi: handler or dependency panicked")

// end closes an accepted connection after its handler returned err. It
// returns err when it is a failure (logged, closed with 1011), nil for
// every quiet end.
func (c *Conn) end(err error, panicked bool) (failure error) {
	a := c.app
	if !panicked {
		err = a.handleError(c.ctx, c, c.route.pattern, err)
	}
	var rej *RejectError
	var ve *ValidationError
	switch {
	case panicked:
		a.count.failed.Add(1)
		c.closeHandshake(CloseInternalServerError, "internal server error")
	case err == nil, err == errHandled, IsDisconnect(err):
		c.closeHandshake(CloseNormalClosure, "")
	case errors.As(err, &rej):
		c.closeHandshake(rej.code(), truncateReason(rej.Reason))
	case errors.As(err, &ve):
		c.closeHandshake(CloseInvalidFramePayloadData, truncateReason(ve.Error()))
		failure = err // not logged, but a test learns that data went unanswered
	case (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && c.ctx.Err() != nil:
		c.closeHandshake(CloseGoingAway, "")
	default:
		a.count.failed.Add(1)
		a.logger.Error("wsapi: handler failed", "route", c.route.pattern, "conn", c.id, "path", c.requestPath(),
			"remote", c.remoteAddr(), "err", err)
		c.observeError(err, false)
		c.closeHandshake(CloseInternalServerError, "internal server error")
		failure = err
	}
	c.finish(&DisconnectError{Code: CloseAbnormalClosure}) // no-op unless the close handshake failed
	return failure
}

// refuse answers a handshake that will not be accepted: with an HTTP error
// and a body, or, with Options.RejectAfterAccept, by accepting and closing
// with a close code. err is what the handler or a dependency returned,
// after the app's error handlers. It returns err when the refusal is a
// failure (logged, answered with 500), nil for a deliberate refusal.
func (c *Conn) refuse(err error, panicked any) (failure error) {
	defer c.releaseHandoff()
	a := c.app
	a.count.refused.Add(1)
	if panicked == nil {
		err = a.handleError(c.ctx, c, c.route.pattern, err)
	}
	endpoint := "WS " + c.route.pattern
	status, code, detail := http.StatusForbidden, ClosePolicyViolation, any("connection not accepted")
	var header http.Header
	var body []byte
	var rej *RejectError
	var ve *ValidationError
	switch {
	case panicked != nil:
		status, code, detail = http.StatusInternalServerError, CloseInternalServerError, "internal server error"
	case err == nil, err == errHandled:
	case errors.As(err, &rej):
		status, code, detail, header, body = rej.status(), rej.code(), rej.Reason, rej.Header, rej.Body
	case errors.As(err, &ve):
		status, code, detail = http.StatusUnprocessableEntity, ClosePolicyViolation, ve.Errors
		ve.Endpoint = endpoint
		if a.logger.Enabled(context.Background(), slog.LevelDebug) {
			// The route and the values' places, never the path or the
			// values themselves, which may hold secrets.
			a.logger.Debug("wsapi: refusing connection: invalid values", "route", c.route.pattern, "conn", c.id,
				"remote", c.remoteAddr(), "loc", ve.locations())
		}
	default:
		a.logger.Error("wsapi: refusing connection", "route", c.route.pattern, "conn", c.id, "path", c.requestPath(),
			"remote", c.remoteAddr(), "err", err)
		c.observeError(err, false)
		status, code, detail = http.StatusInternalServerError, CloseInternalServerError, "internal server error"
		failure = err
	}
	ev := HandshakeEvent{Route: c.route.pattern, ConnID: c.id, Start: time.Unix(0, c.started), Status: status, Refusal: code, Err: err}
	if ev.Err == errHandled {
		ev.Err = nil
	}
	if a.opts.RejectAfterAccept && c.accept(context.Background(), nil, true) == nil {
		ev.Status = http.StatusSwitchingProtocols
		a.observeHandshake(c.requestContext(), ev)
		reason := ""
		switch d := detail.(type) {
		case string:
			reason = d
		case []FieldError:
			reason = (&ValidationError{Errors: d, Endpoint: endpoint}).Error()
		}
		c.closeHandshake(code, truncateReason(reason))
		return failure
	}
	if c.w != nil {
		for k, v := range header {
			c.w.Header()[k] = v
		}
		switch {
		case body != nil:
			writeBody(c.w, status, body)
		case status == http.StatusUnprocessableEntity:
			writeJSONError(c.w, status, detail, map[string]any{"endpoint": endpoint})
		default:
			writeJSONError(c.w, status, detail, map[string]any{"code": int(code)})
		}
	}
	a.observeHandshake(c.requestContext(), ev)
	c.state.Store(int32(StateClosed))
	c.closeOnce.Do(func() {
		c.closeErr.Store(&DisconnectError{Code: code})
		c.cancel(context.Canceled)
	})
	return failure
}

// writeBody writes a refusal's own body, as text unless its headers say otherwise.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}

// writeJSONError writes an HTTP error with a FastAPI-style JSON body:
// {"detail": ...} plus any extra members.
func writeJSONError(w http.ResponseWriter, status int, detail any, extra map[string]any) {
	body := map[string]any{"detail": detail}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}
