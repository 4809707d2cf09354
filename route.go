package wsapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/wsapi-go/wsapi/internal/testhook"
)

// route is one registration of a WebSocket endpoint under its full pattern.
type route struct {
	app      *App
	group    *Group
	endpoint *Endpoint
	pattern  string
	deps     []*depPlan // app and group dependencies, outer first
	plan     *depPlan   // the params struct; nil for WS handlers
	markers  []string   // protocol-tag names, agreed on by Accept by default
	alloc    func() unsafe.Pointer
	invoke   func(context.Context, *Conn, unsafe.Pointer) error
	chain    atomic.Pointer[http.Handler] // serveWS wrapped in the group middleware; set before the route is reachable
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*rt.chain.Load()).ServeHTTP(w, r)
}

// buildChain wraps serveWS in the route's group middleware. The caller
// holds the app's registration lock.
func (rt *route) buildChain() {
	h := chain(rt.group, http.HandlerFunc(rt.serveWS))
	rt.chain.Store(&h)
}

// checkPath panics unless every path tag in the route's dependency tree names
// a wildcard of its pattern.
func (rt *route) checkPath(site string) {
	keys := map[string]string{}
	seen := map[*depPlan]bool{}
	for _, p := range append(slices.Clone(rt.deps), rt.plan) {
		if p != nil {
			p.pathKeys(seen, keys)
		}
	}
	wild := patternWildcards(rt.pattern)
	for key, field := range keys {
		if !slices.Contains(wild, key) {
			panic(fmt.Sprintf("wsapi: %s: route %q: field %s has path:%q but the pattern has no {%s} wildcard (it has %q)",
				site, rt.pattern, field, key, key, wild))
		}
	}
}

// protocolMarkers lists the names of protocol tags in the plans' trees.
func protocolMarkers(plans []*depPlan) []string {
	var out []string
	seen := map[*depPlan]bool{}
	var walk func(p *depPlan)
	walk = func(p *depPlan) {
		if p == nil || seen[p] {
			return
		}
		seen[p] = true
		for _, d := range p.deps {
			walk(d.plan)
		}
		for _, b := range p.binds {
			if b.src == srcProtocol && !slices.Contains(out, b.key) {
				out = append(out, b.key)
			}
		}
	}
	for _, p := range plans {
		walk(p)
	}
	return out
}

// protocolMarker returns the first protocol-tag name the client offered.
func (rt *route) protocolMarker(offered []string) string {
	for _, m := range rt.markers {
		if slices.Contains(offered, m) {
			return m
		}
	}
	return ""
}

// serveWS serves one handshake: it checks the request, resolves the
// dependencies, and runs the handler on a goroutine of its own. ServeHTTP
// returns once the handler has accepted or refused the connection, so that
// net/http's per-request memory is freed while the connection lives on.
func (rt *route) serveWS(w http.ResponseWriter, r *http.Request) {
	a := rt.app
	if status, msg := checkHandshake(r); status != 0 {
		a.count.refused.Add(1)
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", "GET")
		}
		if status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		writeJSONError(w, status, msg, nil)
		return
	}
	if !a.originAllowed(r) {
		a.count.refused.Add(1)
		writeJSONError(w, http.StatusForbidden, "origin not allowed", nil)
		return
	}
	if status, msg := a.admit(); status != 0 {
		a.count.refused.Add(1)
		writeJSONError(w, status, msg, nil)
		return
	}
	c := newConn(a, rt, w, r)
	panicked, err := rt.resolveSafely(a.withApp(r.Context()), c)
	if err != nil {
		failure := c.refuse(err, panicked)
		c.deps.cleanup()
		c.cancel(context.Canceled)
		a.release()
		testhook.Report(r.Context(), testhook.Result{Err: failure, Panic: panicked, Refused: true})
		return
	}
	var params unsafe.Pointer
	if rt.plan != nil {
		params = c.deps.lookup(rt.plan)
	}
	handoff := c.handoff
	go c.run(params)
	<-handoff
}

// resolveSafely resolves the dependencies, turning a panic in a Resolve
// method into a logged refusal of this one connection.
func (rt *route) resolveSafely(ctx context.Context, c *Conn) (panicked any, err error) {
	defer func() {
		if v := recover(); v != nil {
			panicked, err = v, errPanicked
			rt.app.count.panics.Add(1)
			rt.app.logger.Error("wsapi: dependency panicked", "route", rt.pattern, "path", c.req.URL.Path,
				"remote", c.req.RemoteAddr, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	return nil, rt.resolve(ctx, c)
}

// resolve runs the route's dependency plans for c.
func (rt *route) resolve(ctx context.Context, c *Conn) error {
	if len(rt.deps) == 0 && rt.plan == nil {
		return nil
	}
	st := &depState{app: rt.app, pattern: rt.pattern, c: c, r: c.req, base: c.ctx}
	c.deps = st
	return st.run(ctx, rt.deps, rt.plan, rt.alloc)
}

// checkHandshake applies RFC 6455, section 4.2.1, to a request already known
// to ask for an upgrade. It returns 0 when the request is a valid handshake.
func checkHandshake(r *http.Request) (int, string) {
	switch {
	case r.Method != http.MethodGet:
		return http.StatusMethodNotAllowed, "a WebSocket handshake must use GET"
	case !r.ProtoAtLeast(1, 1):
		return http.StatusHTTPVersionNotSupported, "a WebSocket handshake needs HTTP/1.1"
	case !connectionUpgrade(r):
		return http.StatusBadRequest, `missing "Connection: Upgrade" header`
	}
	switch v := r.Header.Get("Sec-WebSocket-Version"); v {
	case "13":
	case "":
		return http.StatusBadRequest, "missing Sec-WebSocket-Version header"
	default:
		return http.StatusUpgradeRequired, "unsupported WebSocket version " + v + ": this server speaks version 13"
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 16 {
		return http.StatusBadRequest, "missing or malformed Sec-WebSocket-Key header"
	}
	return 0, ""
}

func connectionUpgrade(r *http.Request) bool {
	for _, v := range r.Header["Connection"] {
		if headerHasToken(v, "upgrade") {
			return true
		}
	}
	return false
}

// originAllowed applies the same-origin policy of Options.OriginPatterns.
func (a *App) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || a.opts.InsecureSkipOriginCheck {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	host := strings.ToLower(u.Host)
	for _, p := range a.opts.OriginPatterns {
		if ok, _ := path.Match(strings.ToLower(p), host); ok {
			return true
		}
	}
	return false
}

// run calls the handler on the connection's own goroutine, then ends the
// connection according to what the handler returned, closes the
// dependencies in reverse order, and reports to a waiting test client.
func (c *Conn) run(params unsafe.Pointer) {
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
		a.logger.Error("wsapi: handler panicked", "route", c.route.pattern, "path", c.req.URL.Path,
			"remote", c.req.RemoteAddr, "panic", panicked, "stack", string(stack))
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
	testhook.Report(c.req.Context(), result)
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
		a.logger.Error("wsapi: handler failed", "route", c.route.pattern, "path", c.req.URL.Path,
			"remote", c.req.RemoteAddr, "err", err)
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
			a.logger.Debug("wsapi: refusing connection: invalid values", "route", c.route.pattern,
				"remote", c.req.RemoteAddr, "loc", ve.locations())
		}
	default:
		a.logger.Error("wsapi: refusing connection", "route", c.route.pattern, "path", c.req.URL.Path,
			"remote", c.req.RemoteAddr, "err", err)
		status, code, detail = http.StatusInternalServerError, CloseInternalServerError, "internal server error"
		failure = err
	}
	if a.opts.RejectAfterAccept && c.Accept(context.Background(), nil) == nil {
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
	c.state.Store(int32(StateClosed))
	c.closeOnce.Do(func() {
		c.closeErr.Store(&DisconnectError{Code: code})
		close(c.done)
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
