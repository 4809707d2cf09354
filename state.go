package wsapi

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
)

// Provide makes v the app's value of type T, which dependencies and
// handlers get with State[T]: FastAPI's app.state, typed. Provide what
// lives as long as the app (a database pool, configuration, a Manager)
// instead of keeping it in package variables or closures. There is one
// value per type: a second Provide of the same T replaces the first; give
// two values of one type types of their own (type Primary struct{ *sql.DB }).
// Provide before serving.
//
//	wsapi.Provide(app, db)      // a *sql.DB
//	wsapi.Provide(app, manager) // a *wsapi.Manager
func Provide[T any](app *App, v T) {
	app.mu.Lock()
	defer app.mu.Unlock()
	next := map[reflect.Type]any{}
	if m := app.state.Load(); m != nil {
		for k, x := range *m {
			next[k] = x
		}
	}
	next[reflect.TypeFor[T]()] = v
	app.state.Store(&next)
	app.view.Store(nil)
}

// State returns the app's value of type T (see Provide). ctx is the
// context of anything the app serves: the ctx of a Resolve method, a
// dependency's Close, a handler, or r.Context() in an HTTP handler the app
// routes to.
//
//	func (u *User) Resolve(ctx context.Context) error {
//		db := wsapi.State[*sql.DB](ctx)
//		...
//	}
//
// It panics when no T was provided, or ctx does not come from the app: a
// programming error, which the first test to reach the call reveals. In a
// handler or dependency, the panic refuses or closes that one connection
// and is logged.
func State[T any](ctx context.Context) T {
	t := reflect.TypeFor[T]()
	a, _ := ctx.Value(appKey{}).(*App)
	if a == nil {
		panic(fmt.Sprintf("wsapi: State[%v]: the context does not come from a wsapi app: use the ctx of a handler, a Resolve method or an HTTP request the app serves", t))
	}
	if m := a.state.Load(); m != nil {
		if v, ok := (*m)[t]; ok {
			return v.(T)
		}
	}
	panic(fmt.Sprintf("wsapi: State[%v]: no value of this type was provided: call wsapi.Provide(app, value) before serving", t))
}

// appKey is the context key under which the app serving a request sits.
type appKey struct{}

// withApp returns ctx carrying the app, for State, when the app has state.
func (a *App) withApp(ctx context.Context) context.Context {
	if a.state.Load() == nil {
		return ctx
	}
	return context.WithValue(ctx, appKey{}, a)
}

// withAppRequest is withApp for a plain HTTP request.
func (a *App) withAppRequest(r *http.Request) *http.Request {
	if a.state.Load() == nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), appKey{}, a))
}
