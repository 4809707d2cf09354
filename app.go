package wsapi

import (
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/wsapi-go/wsapi/internal/testhook"
)

// App is a wsapi application: an http.Handler serving WebSocket routes and
// plain HTTP routes side by side. Create it with New.
type App struct {
	opts    Options
	logger  *slog.Logger
	checker *checker
	root    *Group

	mu         sync.Mutex     // guards registration: the muxes and route lists
	wsMux      *http.ServeMux // WebSocket routes
	httpMux    *http.ServeMux // plain routes, registered eagerly to report conflicts
	wsRoutes   []*route
	httpRoutes []httpRoute
	view       atomic.Pointer[http.Handler] // the serving handler, rebuilt after registration
	bare       atomic.Bool                  // the app has no middleware of its own (see servedContext)

	overrides   atomic.Pointer[map[reflect.Type]overrideFunc]
	errHandlers atomic.Pointer[errorHandlers]        // copied on registration
	state       atomic.Pointer[map[reflect.Type]any] // values of Provide, copied on registration
	reg         registry
	count       counters
	epoch       time.Time // the housekeeper's clock starts here
	obs         *Observer // nil without Options.Observer
	connIDs     atomic.Uint64
}

type httpRoute struct {
	pattern string
	h       http.Handler
	group   *Group
}

// New returns an App configured by opts; nil means the defaults.
func New(opts *Options) *App {
	o := opts.withDefaults()
	a := &App{
		opts:    o,
		logger:  o.Logger,
		checker: newChecker(),
		wsMux:   http.NewServeMux(),
		httpMux: http.NewServeMux(),
	}
	a.root = &Group{app: a}
	a.epoch = time.Now()
	if o.Observer != nil {
		obs := *o.Observer
		a.obs = &obs
	}
	a.reg.conns = map[*Conn]struct{}{}
	return a
}

func (a *App) group() *Group { return a.root }

// WS registers a WebSocket route whose handler takes no params struct.
func (a *App) WS(pattern string, h HandlerFunc) *Endpoint { return a.root.WS(pattern, h) }

// Handle registers a plain HTTP handler at a ServeMux pattern.
func (a *App) Handle(pattern string, h http.Handler) { a.root.Handle(pattern, h) }

// HandleFunc registers a plain HTTP handler function at a ServeMux pattern.
func (a *App) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	a.root.HandleFunc(pattern, h)
}

// Group returns a router whose patterns start with prefix.
func (a *App) Group(prefix string) *Group { return a.root.Group(prefix) }

// Include registers the routes of r, made by NewRouter, under prefix.
func (a *App) Include(prefix string, r *Group) { a.root.Include(prefix, r) }

// Use adds middleware around every request the app serves, including the
// handshakes of WebSocket routes and the 404 and 426 answers.
func (a *App) Use(mw ...func(http.Handler) http.Handler) { a.root.Use(mw...) }

// Validator returns the validator that checks validate tags, to register
// custom validations (RegisterValidation) before serving.
func (a *App) Validator() *validator.Validate { return a.checker.v }

// ServeHTTP routes the request: a WebSocket upgrade to its WebSocket route
// (404 when there is none), anything else to the plain HTTP routes, with 426
// Upgrade Required for a plain request to a WebSocket route.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := a.view.Load()
	if h == nil {
		h = a.buildView()
	}
	(*h).ServeHTTP(w, r)
}

// buildView composes the serving handler from the registrations: middleware
// chains, and a mux for plain requests in which each WebSocket pattern
// answers 426 unless a plain route claims it.
func (a *App) buildView() *http.Handler {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h := a.view.Load(); h != nil {
		return h
	}
	plain := http.NewServeMux()
	for _, hr := range a.httpRoutes {
		plain.Handle(hr.pattern, chain(hr.group, hr.h))
	}
	for _, rt := range a.wsRoutes {
		rt.buildChain() // the group's middleware may have changed
		func() {
			defer func() { recover() }() // a plain route already claims this path
			plain.Handle("GET "+rt.pattern, chain(rt.group, http.HandlerFunc(upgradeRequired)))
		}()
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpgrade(r) {
			if _, pattern := a.wsMux.Handler(r); pattern != "" {
				a.wsMux.ServeHTTP(w, r)
				return
			}
			writeJSONError(w, http.StatusNotFound, "no WebSocket route matches "+r.URL.Path, nil)
			testhook.Report(r.Context(), testhook.Result{Refused: true})
			return
		}
		plain.ServeHTTP(w, a.withAppRequest(r))
	})
	for i := len(a.root.mw) - 1; i >= 0; i-- {
		h = a.root.mw[i](h)
	}
	a.bare.Store(len(a.root.mw) == 0) // before the view: middleware is only ever added
	a.view.Store(&h)
	return &h
}

// chain wraps h in the middleware of g and its ancestors below the app,
// outermost first. The app's own middleware wraps the whole app instead.
func chain(g *Group, h http.Handler) http.Handler {
	for ; g != nil && g.parent != nil; g = g.parent {
		for i := len(g.mw) - 1; i >= 0; i-- {
			h = g.mw[i](h)
		}
	}
	return h
}

// hasMiddleware reports whether g or an ancestor below the app has middleware.
func hasMiddleware(g *Group) bool {
	for ; g != nil && g.parent != nil; g = g.parent {
		if len(g.mw) > 0 {
			return true
		}
	}
	return false
}

func upgradeRequired(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Upgrade", "websocket")
	w.Header().Set("Connection", "Upgrade")
	w.Header().Set("Sec-WebSocket-Version", "13")
	writeJSONError(w, http.StatusUpgradeRequired, "this is a WebSocket endpoint: connect with a WebSocket client", nil)
}

// isUpgrade reports whether r asks for a WebSocket upgrade.
func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header["Upgrade"] {
		if headerHasToken(v, "websocket") {
			return true
		}
	}
	return false
}

// headerHasToken reports whether a comma-separated header value contains token,
// case-insensitively.
func headerHasToken(v, token string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}
