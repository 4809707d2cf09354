package wsapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wsapi-go/wsapi/internal/testhook"
)

// route is one registration of a WebSocket endpoint under its full pattern.
type route struct {
	app      *App
	group    *Group
	endpoint *Endpoint
	pattern  string
	deps     []*depPlan                              // app and group dependencies, outer first
	plan     *depPlan                                // the params struct; nil for WS handlers
	markers  []string                                // protocol-tag names, agreed on by Accept by default
	alloc    func() any                              // a new params struct: a *P, for Route[P]
	invoke   func(context.Context, *Conn, any) error // calls the handler with the params alloc made
	chain    atomic.Pointer[http.Handler]            // serveWS wrapped in the group middleware; set before the route is reachable
	bare     atomic.Bool                             // no group middleware wraps serveWS (see servedContext)
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*rt.chain.Load()).ServeHTTP(w, r)
}

// buildChain wraps serveWS in the route's group middleware. The caller
// holds the app's registration lock.
func (rt *route) buildChain() {
	rt.bare.Store(!hasMiddleware(rt.group)) // before the chain: middleware is only ever added
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
	id, start := a.connIDs.Add(1), time.Now()
	if o := a.obs; o != nil && o.HandshakeStart != nil {
		r = r.WithContext(o.HandshakeStart(r.Context(), HandshakeEvent{Route: rt.pattern, ConnID: id, Start: start}))
	}
	refused := func(status int) {
		a.count.refused.Add(1)
		a.observeHandshake(r.Context(), HandshakeEvent{Route: rt.pattern, ConnID: id, Start: start, Status: status, Refusal: ClosePolicyViolation})
		testhook.Report(r.Context(), testhook.Result{Refused: true})
	}
	if status, msg := checkHandshake(r); status != 0 {
		refused(status)
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
		refused(http.StatusForbidden)
		writeJSONError(w, http.StatusForbidden, "origin not allowed", nil)
		return
	}
	if status, msg := a.admit(); status != 0 {
		refused(status)
		writeJSONError(w, status, msg, nil)
		return
	}
	c := newConn(a, rt, w, r, id, start)
	params, panicked, err := rt.resolveSafely(a.withApp(r.Context()), c)
	if err != nil {
		c.handoff = nil // no handler runs: an Accept by refuse upgrades here
		failure := c.refuse(err, panicked)
		c.deps.cleanup()
		c.cancel(context.Canceled)
		a.release()
		testhook.Report(r.Context(), testhook.Result{Err: failure, Panic: panicked, Refused: true})
		return
	}
	handoff := c.handoff
	go c.run(params)
	// Wait for the handler's decision: an upgrade, run here (see Accept),
	// or a refusal, answered by the handler's goroutine.
	if t := <-handoff; t != nil {
		err := c.upgrade(t)
		if err == nil && !t.refusing {
			a.accepted(c)
		}
		c.handoffOnce.Do(func() { c.handoff = nil })
		t.result <- err
	}
}

// resolveSafely resolves the dependencies, turning a panic in a Resolve
// method into a logged refusal of this one connection.
func (rt *route) resolveSafely(ctx context.Context, c *Conn) (params, panicked any, err error) {
	defer func() {
		if v := recover(); v != nil {
			panicked, err = v, errPanicked
			rt.app.count.panics.Add(1)
			rt.app.logger.Error("wsapi: dependency panicked", "route", rt.pattern, "conn", c.id, "path", c.requestPath(),
				"remote", c.remoteAddr(), "panic", v, "stack", string(debug.Stack()))
			c.observeError(fmt.Errorf("panic: %v", v), true)
		}
	}()
	params, err = rt.resolve(ctx, c)
	return params, nil, err
}

// resolve runs the route's dependency plans for c, and returns the params
// struct for the handler (nil for a route without one).
func (rt *route) resolve(ctx context.Context, c *Conn) (params any, err error) {
	if len(rt.deps) == 0 && rt.plan == nil {
		return nil, nil
	}
	if rt.plan != nil {
		params = rt.alloc()
	}
	st := &depState{app: rt.app, pattern: rt.pattern, c: c, r: c.req.Load(), base: c.ctx}
	c.deps = st
	return params, st.run(ctx, rt.deps, rt.plan, params)
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
