package wsapi

import (
	"reflect"
	"slices"
)

// RouteInfo describes a registered WebSocket route, for documentation
// generators such as the asyncapi module. App.Routes returns one per
// registration.
type RouteInfo struct {
	// Pattern is the full ServeMux pattern, group prefixes included.
	Pattern string
	// Params is the route's params struct type; nil for WS routes.
	Params reflect.Type
	// Parameters lists every value bound from the handshake request by the
	// route's dependency tree (app and group dependencies included), each
	// once, outer dependencies first.
	Parameters []ParamInfo
	// Options are the route's EndpointOptions, defaults filled in.
	Options EndpointOptions
	// Receives and Sends list the typed messages registered with On and
	// declared with Emits.
	Receives []MessageInfo
	Sends    []MessageInfo
	// Endpoint is the route's handle.
	Endpoint *Endpoint
}

// ParamInfo describes one value bound from the handshake request.
type ParamInfo struct {
	// Source is "path", "query", "header", "cookie" or "protocol".
	Source string
	// Name is the value's name on the wire.
	Name string
	// Type is the field's Go type (a pointer for an optional value, a slice
	// for a repeated one).
	Type reflect.Type
	// Required reports whether a handshake without the value is refused.
	Required bool
	// Default is the default tag, when the field has one.
	Default *string
	// Field is the struct field, for its other tags (validate, doc,
	// description, example).
	Field reflect.StructField
}

// Routes describes the app's WebSocket routes, in registration order.
func (a *App) Routes() []RouteInfo {
	a.mu.Lock()
	routes := slices.Clone(a.wsRoutes)
	a.mu.Unlock()
	out := make([]RouteInfo, 0, len(routes))
	for _, rt := range routes {
		e := rt.endpoint
		e.mu.Lock()
		info := RouteInfo{
			Pattern:  rt.pattern,
			Options:  e.opts,
			Sends:    slices.Clone(e.sends),
			Endpoint: e,
		}
		for _, h := range e.receives {
			info.Receives = append(info.Receives, h.info)
		}
		e.mu.Unlock()
		info.Options.Discriminator = info.Options.discriminator()
		info.Options.ErrorType = info.Options.errorType()
		plans := slices.Clone(rt.deps)
		if rt.plan != nil {
			info.Params = rt.plan.typ
			plans = append(plans, rt.plan)
		}
		seen := map[*depPlan]bool{}
		for _, p := range plans {
			info.Parameters = p.params(seen, info.Parameters)
		}
		out = append(out, info)
	}
	return out
}

// params appends the bound values of p's tree, sub-dependencies first.
func (p *depPlan) params(seen map[*depPlan]bool, out []ParamInfo) []ParamInfo {
	if seen[p] {
		return out
	}
	seen[p] = true
	for _, d := range p.deps {
		out = d.plan.params(seen, out)
	}
	for _, b := range p.binds {
		f, _ := p.typ.FieldByName(b.name)
		pi := ParamInfo{Source: b.src.String(), Name: b.key, Type: f.Type, Field: f, Required: !b.optional && b.def == nil}
		if def, ok := f.Tag.Lookup("default"); ok {
			pi.Default = &def
		}
		out = append(out, pi)
	}
	return out
}
