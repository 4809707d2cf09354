package wsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
)

// depState is one connection's run of the dependency plans: it binds values
// from the request, resolves each dependency type once, collects every
// binding and validation failure, and remembers what to close afterwards.
type depState struct {
	app       *App
	pattern   string          // the route's full pattern
	c         *Conn           // nil on an HTTPRoute route
	r         *http.Request   // the handshake or HTTP request
	base      context.Context // what cleanup's context takes its values from
	overrides map[reflect.Type]overrideFunc

	query   url.Values // parsed on first use
	cookies []*http.Cookie
	protos  []string
	parsed  uint8 // bits: 1 query, 2 cookies, 4 protocols

	one     [1]string // scratch for single values, to avoid allocating
	done    []resolved
	closers []resolved
	errs    []FieldError
}

type resolved struct {
	plan *depPlan
	ptr  reflect.Value // the canonical instance: a *T
}

// run resolves the app and group dependencies deps, outer first, then the
// params struct plan (if any) into params, a *P. A binding or validation
// failure anywhere returns a *ValidationError listing them all.
func (s *depState) run(ctx context.Context, deps []*depPlan, plan *depPlan, params any) error {
	defer s.trim()
	if m := s.app.overrides.Load(); m != nil {
		s.overrides = *m
	}
	for _, p := range deps {
		if !s.lookup(p).IsValid() {
			if err := s.resolveRoot(ctx, p, reflect.New(p.typ)); err != nil {
				return err
			}
		}
	}
	if plan != nil {
		if err := s.resolveRoot(ctx, plan, reflect.ValueOf(params)); err != nil {
			return err
		}
	}
	if len(s.errs) > 0 {
		return &ValidationError{Errors: s.errs}
	}
	return nil
}

// trim drops what only binding needed, so that an open connection keeps
// just its dependencies and what closes them.
func (s *depState) trim() {
	s.query, s.cookies, s.protos, s.errs, s.overrides, s.r = nil, nil, nil, nil, nil, nil
	s.one[0] = ""
}

// overrideFunc replaces the resolution of one dependency type; it returns a
// value of that type or a pointer to one.
type overrideFunc func(ctx context.Context, r *http.Request) (reflect.Value, error)

// resolveRoot resolves plan into the struct ptr points to, unless this
// connection resolved the type already, in which case it copies that
// instance.
func (s *depState) resolveRoot(ctx context.Context, p *depPlan, ptr reflect.Value) error {
	if prev := s.lookup(p); prev.IsValid() {
		ptr.Elem().Set(prev.Elem())
		return nil
	}
	if fn := s.overrideFor(p); fn != nil {
		return s.override(ctx, p, fn, ptr.Elem(), false)
	}
	return s.resolve(ctx, p, ptr)
}

// overrideFor returns the test override for p's type, if any. It checks for
// an empty map first: indexing a map keyed by an interface checks the key's
// hashability even when the map is empty, which costs a handshake more than
// the lookup itself.
func (s *depState) overrideFor(p *depPlan) overrideFunc {
	if len(s.overrides) == 0 {
		return nil
	}
	return s.overrides[p.typ]
}

// lookup returns the instance of p this connection resolved, or the zero
// Value.
func (s *depState) lookup(p *depPlan) reflect.Value {
	for _, d := range s.done {
		if d.plan == p {
			return d.ptr
		}
	}
	return reflect.Value{}
}

// resolve runs plan p into the struct ptr points to: sub-dependencies
// first, then the struct's own bound fields, validation, and its Resolve
// method. It recurses through resolveField, on the net/http goroutine's
// already deep stack: the work at each level lives in helpers, so the
// recursion's own frames stay small.
func (s *depState) resolve(ctx context.Context, p *depPlan, ptr reflect.Value) error {
	v := ptr.Elem()
	s.inject(p, v)
	for _, d := range p.deps {
		if err := s.resolveField(ctx, d, v.Field(d.index)); err != nil {
			return err
		}
	}
	s.bind(p, v)
	return s.finish(ctx, p, ptr)
}

// inject fills the *http.Request and *Conn fields of the struct v.
func (s *depState) inject(p *depPlan, v reflect.Value) {
	for _, in := range p.injects {
		switch in.typ {
		case requestType:
			v.Field(in.index).Set(reflect.ValueOf(s.r))
		case connType:
			v.Field(in.index).Set(reflect.ValueOf(s.c))
		}
	}
}

// bind stores the bound fields of the struct v and validates them,
// recording every failure in s.errs.
func (s *depState) bind(p *depPlan, v reflect.Value) {
	var failed []string // Go names of fields that failed to bind
	for i := range p.binds {
		b := &p.binds[i]
		vals, ok := s.values(b)
		if !ok {
			switch {
			case b.def != nil:
				vals = b.def
			case b.optional:
				continue
			default:
				s.errs = append(s.errs, FieldError{Loc: []string{b.src.String(), b.key}, Msg: "field required", Type: "missing"})
				failed = append(failed, b.name)
				continue
			}
		}
		if err := b.binder.bind(v.Field(b.index), vals); err != nil {
			be := err.(*bindError)
			s.errs = append(s.errs, FieldError{Loc: []string{b.src.String(), b.key}, Msg: be.msg, Type: be.typ})
			failed = append(failed, b.name)
		}
	}
	if p.validate {
		s.validate(p, v.Addr(), failed)
	}
}

// finish records the resolved instance and calls its Resolve method,
// unless some value already failed: the handshake will then be refused
// with every failure listed, and no Resolve method runs.
func (s *depState) finish(ctx context.Context, p *depPlan, ptr reflect.Value) error {
	s.done = append(s.done, resolved{p, ptr})
	if len(s.errs) > 0 {
		return nil
	}
	if p.resolver {
		if err := ptr.Interface().(Resolver).Resolve(ctx); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				s.errs = append(s.errs, ve.Errors...)
				return nil
			}
			return err
		}
	}
	if p.closer != closeNone {
		s.closers = append(s.closers, resolved{p, ptr})
	}
	return nil
}

// resolveField fills the dependency field f, sharing an instance already
// resolved on this connection: a pointer field gets the instance, a value
// field a copy of it.
func (s *depState) resolveField(ctx context.Context, d depField, f reflect.Value) error {
	if prev := s.lookup(d.plan); prev.IsValid() {
		if d.ptr {
			f.Set(prev)
		} else {
			f.Set(prev.Elem())
		}
		return nil
	}
	if fn := s.overrideFor(d.plan); fn != nil {
		return s.override(ctx, d.plan, fn, f, d.ptr)
	}
	target := f.Addr()
	if d.ptr {
		target = reflect.New(d.plan.typ)
		f.Set(target)
	}
	return s.resolve(ctx, d.plan, target)
}

// override stores the value of an override function in the field f: into
// the struct f, or, when isPtr, as the pointer f, keeping a returned
// pointer's identity so a test can inspect the instance it handed out.
func (s *depState) override(ctx context.Context, p *depPlan, fn overrideFunc, f reflect.Value, isPtr bool) error {
	v, err := fn(ctx, s.r)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			s.errs = append(s.errs, ve.Errors...)
			return nil
		}
		return err
	}
	var inst reflect.Value // a *T
	switch {
	case v.Kind() == reflect.Pointer && isPtr:
		inst = v
		f.Set(v)
	case v.Kind() == reflect.Pointer:
		f.Set(v.Elem())
		inst = f.Addr()
	case isPtr:
		inst = reflect.New(p.typ)
		inst.Elem().Set(v)
		f.Set(inst)
	default:
		f.Set(v)
		inst = f.Addr()
	}
	s.done = append(s.done, resolved{p, inst})
	if p.closer != closeNone {
		s.closers = append(s.closers, resolved{p, inst})
	}
	return nil
}

// values returns the raw values for b from the request, and whether the
// request carries any.
func (s *depState) values(b *boundField) ([]string, bool) {
	switch b.src {
	case srcPath:
		s.one[0] = s.r.PathValue(b.key)
		return s.one[:], true
	case srcQuery:
		if s.parsed&1 == 0 {
			s.query, s.parsed = s.r.URL.Query(), s.parsed|1
		}
		v := s.query[b.key]
		return v, len(v) > 0
	case srcHeader:
		v := s.r.Header[b.key]
		return v, len(v) > 0
	case srcCookie:
		if s.parsed&2 == 0 {
			s.cookies, s.parsed = s.r.Cookies(), s.parsed|2
		}
		var out []string
		for _, c := range s.cookies {
			if c.Name != b.key {
				continue
			}
			if b.binder.kind != bindSlice {
				s.one[0] = c.Value
				return s.one[:], true
			}
			out = append(out, c.Value)
		}
		return out, len(out) > 0
	case srcProtocol:
		if s.parsed&4 == 0 {
			s.protos, s.parsed = offeredProtocols(s.r), s.parsed|4
		}
		// The value is the entry after the marker: ["bearer", "<token>"].
		for i, p := range s.protos {
			if p == b.key && i+1 < len(s.protos) {
				s.one[0] = s.protos[i+1]
				return s.one[:], true
			}
		}
	}
	return nil, false
}

// offeredProtocols lists the subprotocols in the request's
// Sec-WebSocket-Protocol headers, in order.
func offeredProtocols(r *http.Request) []string {
	var out []string
	for _, h := range r.Header["Sec-Websocket-Protocol"] {
		for p := range strings.SplitSeq(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// validate runs the struct's validate tags over its bound fields and records
// each failure, except on fields that already failed to bind.
func (s *depState) validate(p *depPlan, ptr reflect.Value, failed []string) {
	chk := s.app.checker
	err := chk.v.StructFiltered(ptr.Interface(), p.filter)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		if err != nil {
			s.errs = append(s.errs, FieldError{Loc: []string{p.typ.Name()}, Msg: err.Error(), Type: "value_error"})
		}
		return
	}
	for _, fe := range verrs {
		name := fe.StructField()
		if slices.Contains(failed, name) {
			continue
		}
		loc := []string{p.typ.Name(), name}
		for _, b := range p.binds {
			if b.name == name {
				loc = []string{b.src.String(), b.key}
				break
			}
		}
		s.errs = append(s.errs, FieldError{Loc: loc, Msg: chk.message(fe), Type: fe.Tag()})
	}
}

// dependencyCloseTimeout bounds the Close methods of one connection's
// dependencies, all together.
const dependencyCloseTimeout = 10 * time.Second

// cleanup closes the resolved dependencies in reverse order of resolution,
// logging failures: FastAPI's exit code of yield dependencies. Their
// context carries the connection's values but is not cancelled by its end:
// cleanup may still write to a database or a broker, for up to
// dependencyCloseTimeout.
func (s *depState) cleanup() {
	if s == nil || len(s.closers) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.base), dependencyCloseTimeout)
	defer cancel()
	for i := len(s.closers) - 1; i >= 0; i-- {
		d := s.closers[i]
		if err := closeDep(ctx, d); err != nil {
			s.app.logger.Error("wsapi: closing dependency", "type", d.plan.typ.String(), "route", s.pattern, "err", err)
		}
	}
	s.closers = nil
}

func closeDep(ctx context.Context, d resolved) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	v := d.ptr.Interface()
	switch d.plan.closer {
	case closeErr:
		return v.(interface{ Close() error }).Close()
	case closeVoid:
		v.(interface{ Close() }).Close()
	case closeContext:
		return v.(interface{ Close(context.Context) error }).Close(ctx)
	}
	return nil
}
