package wsapi

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"strings"
)

// HandlerFunc handles one WebSocket connection. ctx is the connection's
// context (see Conn.Context). The handler calls ws.Accept to complete the
// handshake. Returning nil closes the connection with CloseNormalClosure; a
// *DisconnectError ends it quietly; a *RejectError closes it with its code (or,
// before Accept, refuses the handshake); a *ValidationError left unanswered
// closes it with CloseInvalidFramePayloadData (1007), the client having sent
// data that does not fit; any other error, or a panic, is logged and closes
// it with CloseInternalServerError (1011).
type HandlerFunc func(ctx context.Context, ws *Conn) error

// Router is what routes are registered on: the App itself, a Group made by
// Group, or a detached router made by NewRouter and later included with
// Include. Route and Depends take any Router.
type Router interface {
	// WS registers a WebSocket route at pattern, a net/http ServeMux pattern
	// without a method, such as "/ws" or "/items/{item_id}/ws".
	WS(pattern string, h HandlerFunc) *Endpoint
	// Handle registers a plain HTTP handler at a ServeMux pattern, such as
	// "GET /" for the page that opens the connection.
	Handle(pattern string, h http.Handler)
	// HandleFunc is Handle for a function.
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
	// Group returns a router whose patterns start with prefix and which
	// inherits this router's middleware and dependencies.
	Group(prefix string) *Group
	// Include registers every route of r, made by NewRouter, under prefix:
	// FastAPI's include_router.
	Include(prefix string, r *Group)
	// Use adds middleware that wraps the handshake of every WebSocket route
	// and every HTTP handler of this router and its groups.
	Use(mw ...func(http.Handler) http.Handler)

	group() *Group
}

// Group is a set of routes sharing a path prefix, middleware and
// dependencies: FastAPI's APIRouter. Make one with Router.Group, or a
// detached one with NewRouter.
type Group struct {
	app     *App // nil for a detached router
	parent  *Group
	prefix  string // full path prefix, without a trailing slash
	mw      []func(http.Handler) http.Handler
	deps    []*depPlan
	pending []func(*Group) // a detached router's registrations, replayed by Include
}

// NewRouter returns a detached router: routes registered on it take effect
// when it is included in an app with Include, once per inclusion.
func NewRouter() *Group { return &Group{} }

// Endpoint is a registered WebSocket route, as returned by WS and Route:
// a handle to describe it (With), to register its typed messages (On,
// Emits), and to find it in App.Routes. A route of a router included twice
// shares one Endpoint.
type Endpoint struct {
	pattern string // as the user wrote it, before any prefix
	endpointState
}

// Pattern returns the pattern the route was registered with, without the
// prefixes of its groups.
func (e *Endpoint) Pattern() string { return e.pattern }

func (g *Group) group() *Group { return g }

// Group returns a sub-router whose patterns start with prefix.
func (g *Group) Group(prefix string) *Group {
	child := &Group{app: g.app, parent: g, prefix: joinPrefix(g.prefix, prefix)}
	if g.app == nil {
		// Detached: the child records its routes; Include replays them
		// under a child of the target made at that time.
		child.prefix = ""
		g.pending = append(g.pending, func(t *Group) { child.replay(t.Group(prefix)) })
	}
	return child
}

// Include registers r's routes under prefix.
func (g *Group) Include(prefix string, r *Group) {
	if r.app != nil {
		panic(fmt.Sprintf("wsapi: %s: Include takes a router made by NewRouter, not a group of an app", callerSite()))
	}
	r.replay(g.Group(prefix))
}

func (g *Group) replay(t *Group) {
	for _, f := range g.pending {
		f(t)
	}
}

// Use adds middleware to the router. Middleware runs outermost first, app
// before group, and sees the handshake request; it must pass the
// ResponseWriter on unchanged or wrapped with an Unwrap method, so that the
// connection can be taken over. Headers it sets on the ResponseWriter are
// sent with the 101 response too (see AcceptOptions.Header).
func (g *Group) Use(mw ...func(http.Handler) http.Handler) {
	if g.app == nil {
		g.pending = append(g.pending, func(t *Group) { t.Use(mw...) })
		return
	}
	g.app.mu.Lock()
	defer g.app.mu.Unlock()
	g.mw = append(g.mw, mw...)
	g.app.view.Store(nil)
}

// WS registers a WebSocket route whose handler takes no params struct.
func (g *Group) WS(pattern string, h HandlerFunc) *Endpoint {
	if h == nil {
		panic(fmt.Sprintf("wsapi: %s: WS %q: nil handler", callerSite(), pattern))
	}
	ep := &Endpoint{pattern: pattern}
	g.addWS(ep, callerSite(), nil, nil, func(ctx context.Context, c *Conn, _ any) error { return h(ctx, c) })
	return ep
}

// Route registers a WebSocket route whose handler takes a params struct P:
// its fields are bound from the handshake request by their tags (path,
// query, header, cookie, protocol), validated by their validate tags, and
// its struct fields are dependencies resolved before the handler runs, all
// before the handshake is accepted. Route panics when P is declared wrongly,
// naming the field.
//
//	type ItemParams struct {
//		ItemID string  `path:"item_id"`
//		Q      *int    `query:"q" validate:"omitempty,min=1"`
//		Auth   CookieOrToken // a dependency with a Resolve method
//	}
//	wsapi.Route(app, "/items/{item_id}/ws", func(ctx context.Context, ws *wsapi.Conn, p *ItemParams) error { ... })
func Route[P any](r Router, pattern string, h func(ctx context.Context, ws *Conn, p *P) error) *Endpoint {
	site := callerSite()
	if h == nil {
		panic(fmt.Sprintf("wsapi: %s: Route %q: nil handler", site, pattern))
	}
	plan := mustPlan(reflect.TypeFor[P](), site, pattern)
	ep := &Endpoint{pattern: pattern}
	r.group().addWS(ep, site, plan, func() any { return new(P) },
		func(ctx context.Context, c *Conn, p any) error { return h(ctx, c, p.(*P)) })
	return ep
}

// Depends adds dependency D to every WebSocket route, and every HTTPRoute,
// registered on r afterwards, resolved before the route's own params:
// FastAPI's dependencies=[Depends(...)] on an app or router. Use it for
// guards, such as an authentication check whose value the handler does not
// need.
func Depends[D any](r Router) {
	site := callerSite()
	plan := mustPlan(reflect.TypeFor[D](), site, "")
	g := r.group()
	if g.app == nil {
		g.pending = append(g.pending, func(t *Group) { t.deps = append(t.deps, plan) })
		return
	}
	g.deps = append(g.deps, plan)
}

func mustPlan(t reflect.Type, site, pattern string) (plan *depPlan) {
	defer func() {
		if v := recover(); v != nil {
			where := site
			if pattern != "" {
				where += fmt.Sprintf(": route %q", pattern)
			}
			panic(fmt.Sprintf("wsapi: %s: %s", where, strings.TrimPrefix(fmt.Sprint(v), "wsapi: ")))
		}
	}()
	return planFor(t)
}

func (g *Group) addWS(ep *Endpoint, site string, plan *depPlan, alloc func() any, invoke func(context.Context, *Conn, any) error) {
	if g.app == nil {
		g.pending = append(g.pending, func(t *Group) { t.addWS(ep, site, plan, alloc, invoke) })
		return
	}
	pattern := ep.pattern
	if strings.ContainsAny(strings.TrimSpace(pattern), " \t") {
		panic(fmt.Sprintf("wsapi: %s: WebSocket pattern %q has a method: WebSocket routes answer GET only, so write it without one", site, pattern))
	}
	full := joinPattern(g.prefix, pattern, site)
	rt := &route{
		app:      g.app,
		group:    g,
		endpoint: ep,
		pattern:  full,
		plan:     plan,
		alloc:    alloc,
		invoke:   invoke,
	}
	for p := g; p != nil; p = p.parent {
		rt.deps = append(p.deps[:len(p.deps):len(p.deps)], rt.deps...)
	}
	rt.checkPath(site)
	rt.markers = protocolMarkers(append(rt.deps, plan))
	a := g.app
	a.mu.Lock()
	defer a.mu.Unlock()
	rt.buildChain() // before the mux can route to it: routes may be added while serving
	registerAt(site, func() { a.wsMux.Handle(full, rt) })
	a.wsRoutes = append(a.wsRoutes, rt)
	a.view.Store(nil)
}

// Handle registers a plain HTTP handler beside the WebSocket routes.
func (g *Group) Handle(pattern string, h http.Handler) {
	site := callerSite()
	if g.app == nil {
		g.pending = append(g.pending, func(t *Group) { t.handleAt(site, pattern, h) })
		return
	}
	g.handleAt(site, pattern, h)
}

// HandleFunc registers a plain HTTP handler function.
func (g *Group) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	site := callerSite()
	if g.app == nil {
		g.pending = append(g.pending, func(t *Group) { t.handleAt(site, pattern, http.HandlerFunc(h)) })
		return
	}
	g.handleAt(site, pattern, http.HandlerFunc(h))
}

// handleAt registers h and returns its full pattern.
func (g *Group) handleAt(site, pattern string, h http.Handler) string {
	method, rest := "", strings.TrimSpace(pattern)
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		method, rest = rest[:i], strings.TrimSpace(rest[i:])
	}
	full := joinPattern(g.prefix, rest, site)
	if method != "" {
		full = method + " " + full
	}
	a := g.app
	a.mu.Lock()
	defer a.mu.Unlock()
	registerAt(site, func() { a.httpMux.Handle(full, h) })
	a.httpRoutes = append(a.httpRoutes, httpRoute{pattern: full, h: h, group: g})
	a.view.Store(nil)
	return full
}

// registerAt runs a ServeMux registration, adding the user's call site to
// the panic of a conflicting or malformed pattern.
func registerAt(site string, register func()) {
	defer func() {
		if v := recover(); v != nil {
			panic(fmt.Sprintf("wsapi: %s: %v", site, v))
		}
	}()
	register()
}

// joinPrefix joins a group prefix and a sub-prefix, keeping no trailing slash.
func joinPrefix(base, prefix string) string {
	if prefix != "" && !strings.HasPrefix(prefix, "/") {
		panic(fmt.Sprintf("wsapi: %s: group prefix %q must start with /", callerSite(), prefix))
	}
	return strings.TrimRight(base+prefix, "/")
}

// joinPattern puts a group's prefix in front of a route pattern, keeping the
// meaning the user wrote: "/" under "/items" is the subtree "/items/",
// "/{$}" is exactly "/items/", and "" is exactly "/items".
func joinPattern(prefix, pattern, site string) string {
	if prefix == "" {
		return pattern
	}
	if pattern == "" {
		return prefix
	}
	if !strings.HasPrefix(pattern, "/") {
		panic(fmt.Sprintf("wsapi: %s: pattern %q in a group must start with / (hosts belong on the app)", site, pattern))
	}
	return prefix + pattern
}

// callerSite returns the file:line of the first caller outside wsapi, for
// registration panics.
func callerSite() string {
	pcs := make([]uintptr, 16)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		inside := strings.HasPrefix(f.Function, "github.com/wsapi-go/wsapi.") &&
			!strings.HasSuffix(f.File, "_test.go")
		if !inside || !more {
			return fmt.Sprintf("%s:%d", f.File, f.Line)
		}
	}
}
