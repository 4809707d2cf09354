package wsapi

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"reflect"
)

// Override replaces the dependency type T (a struct, or a pointer to one)
// with fn for every connection of app: FastAPI's dependency_overrides. Where
// a route or another dependency needs a T, fn's value is used as is: no
// field of it is bound or validated and its Resolve method is not called,
// but its Close method still runs after the handler. A pointer returned by
// fn is shared as is, so a test can inspect the instance it handed out.
//
// Override returns a function that removes the override. It is meant for
// tests and is safe to call while the app serves.
//
//	restore := wsapi.Override(app, func(ctx context.Context, r *http.Request) (*Auth, error) {
//		return &Auth{User: "test-user"}, nil
//	})
//	defer restore()
func Override[T any](app *App, fn func(ctx context.Context, r *http.Request) (T, error)) (restore func()) {
	t := reflect.TypeFor[T]()
	key := t
	if key.Kind() == reflect.Pointer {
		key = key.Elem()
	}
	if key.Kind() != reflect.Struct {
		panic(fmt.Sprintf("wsapi: %s: Override: %s is not a struct or a pointer to one", callerSite(), t))
	}
	of := func(ctx context.Context, r *http.Request) (reflect.Value, error) {
		v, err := fn(ctx, r)
		if err != nil {
			return reflect.Value{}, err
		}
		rv := reflect.ValueOf(&v).Elem()
		if rv.Kind() == reflect.Pointer && rv.IsNil() {
			return reflect.Value{}, fmt.Errorf("wsapi: the override of %s returned a nil pointer", t)
		}
		return rv, nil
	}
	app.setOverride(key, of)
	return func() { app.setOverride(key, nil) }
}

func (a *App) setOverride(key reflect.Type, fn overrideFunc) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := map[reflect.Type]overrideFunc{}
	if old := a.overrides.Load(); old != nil {
		m = maps.Clone(*old)
	}
	if fn == nil {
		delete(m, key)
	} else {
		m[key] = fn
	}
	if len(m) == 0 {
		a.overrides.Store(nil)
		return
	}
	a.overrides.Store(&m)
}
