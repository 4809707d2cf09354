package wsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime/debug"
	"strings"
)

// HTTPRoute registers a plain HTTP route whose handler takes a params
// struct P, bound and resolved exactly as for a WebSocket route (see
// Route), with the app's and groups' dependencies (see Depends) first: the
// dependency types of a WebSocket route serve a plain route too, as a
// FastAPI dependency serves @app.get and @app.websocket alike. pattern is a
// ServeMux pattern, usually with a method: "GET /items/{item_id}".
//
// A failure becomes the response: a binding or validation failure 422 with
// the failing values (FastAPI's shape, plus the route), a *RejectError its
// Status (403 when zero), Header and Body (or {"detail": Reason}), any
// other error 500, logged, unless an error handler (see HandleError) turns
// it into a *RejectError. A dependency's *Conn field is nil on such a
// route. Dependencies with a Close method are closed after h returns.
//
//	wsapi.HTTPRoute(app, "GET /me", func(w http.ResponseWriter, r *http.Request, p *MeParams) error {
//		return json.NewEncoder(w).Encode(p.User)
//	})
func HTTPRoute[P any](r Router, pattern string, h func(w http.ResponseWriter, r *http.Request, p *P) error) {
	site := callerSite()
	if h == nil {
		panic(fmt.Sprintf("wsapi: %s: HTTPRoute %q: nil handler", site, pattern))
	}
	plan := mustPlan(reflect.TypeFor[P](), site, pattern)
	r.group().addHTTP(site, pattern, plan, func() any { return new(P) },
		func(w http.ResponseWriter, r *http.Request, p any) error { return h(w, r, p.(*P)) })
}

// httpDepRoute serves an HTTPRoute registration.
type httpDepRoute struct {
	app     *App
	pattern string // the full pattern, method included
	deps    []*depPlan
	plan    *depPlan
	alloc   func() any // a new params struct: a *P
	invoke  func(http.ResponseWriter, *http.Request, any) error
}

func (g *Group) addHTTP(site, pattern string, plan *depPlan, alloc func() any, invoke func(http.ResponseWriter, *http.Request, any) error) {
	if g.app == nil {
		g.pending = append(g.pending, func(t *Group) { t.addHTTP(site, pattern, plan, alloc, invoke) })
		return
	}
	hr := &httpDepRoute{app: g.app, plan: plan, alloc: alloc, invoke: invoke}
	for p := g; p != nil; p = p.parent {
		hr.deps = append(p.deps[:len(p.deps):len(p.deps)], hr.deps...)
	}
	hr.pattern = g.handleAt(site, pattern, hr)
	(&route{app: g.app, pattern: patternPath(hr.pattern), deps: hr.deps, plan: plan}).checkPath(site)
}

// patternPath drops the method (and host) of a ServeMux pattern.
func patternPath(pattern string) string {
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pattern = strings.TrimSpace(pattern[i:])
	}
	return pattern
}

func (hr *httpDepRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := hr.app
	ctx := r.Context() // App.ServeHTTP put the app in it, for State
	st := &depState{app: a, pattern: hr.pattern, r: r, base: ctx}
	tw := &trackingWriter{ResponseWriter: w}
	err := hr.serve(ctx, st, tw, r)
	st.cleanup()
	if err == nil {
		return
	}
	if tw.wrote {
		if err != errPanicked {
			a.logger.Error("wsapi: HTTP handler failed after writing its response", "route", hr.pattern, "path", r.URL.Path, "err", err)
		}
		return
	}
	hr.fail(ctx, w, r, err)
}

// serve resolves the dependencies and calls the handler, recovering a panic
// in either as errPanicked, logged.
func (hr *httpDepRoute) serve(ctx context.Context, st *depState, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			hr.app.count.panics.Add(1)
			hr.app.logger.Error("wsapi: HTTP handler or dependency panicked", "route", hr.pattern, "path", r.URL.Path,
				"remote", r.RemoteAddr, "panic", v, "stack", string(debug.Stack()))
			err = errPanicked
		}
	}()
	params := hr.alloc()
	if err := st.run(ctx, hr.deps, hr.plan, params); err != nil {
		return err
	}
	return hr.invoke(w, r, params)
}

// fail answers a request whose dependencies or handler failed.
func (hr *httpDepRoute) fail(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	a := hr.app
	err = a.handleError(ctx, nil, hr.pattern, err)
	var rej *RejectError
	var ve *ValidationError
	switch {
	case err == errHandled:
		writeJSONError(w, http.StatusForbidden, "forbidden", nil)
	case errors.As(err, &rej):
		for k, v := range rej.Header {
			w.Header()[k] = v
		}
		if rej.Body != nil {
			writeBody(w, rej.status(), rej.Body)
		} else {
			writeJSONError(w, rej.status(), rej.Reason, nil)
		}
	case errors.As(err, &ve):
		ve.Endpoint = hr.pattern
		a.logger.Debug("wsapi: refusing request: invalid values", "route", hr.pattern,
			"remote", r.RemoteAddr, "loc", ve.locations())
		writeJSONError(w, http.StatusUnprocessableEntity, ve.Errors, map[string]any{"endpoint": hr.pattern})
	default:
		if err != errPanicked {
			a.logger.Error("wsapi: HTTP handler failed", "route", hr.pattern, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		}
		writeJSONError(w, http.StatusInternalServerError, "internal server error", nil)
	}
}

// trackingWriter notes whether the handler started its response.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the writer underneath.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
