package wsapi

import (
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// Resolver is implemented by dependencies that compute a value from their
// bound fields and sub-dependencies: FastAPI's Depends. Resolve runs once per
// connection, after the fields are bound and validated and every
// sub-dependency is resolved, and before the handshake is accepted. A
// *RejectError refuses the connection (403 by default); a *ValidationError
// answers 422; any other error answers 500 and is logged.
type Resolver interface {
	Resolve(ctx context.Context) error
}

// A source is where a bound field takes its value from.
type source uint8

const (
	srcPath source = iota + 1
	srcQuery
	srcHeader
	srcCookie
	srcProtocol
)

// sourceTags lists the struct tags that bind a field, indexed by source.
var sourceTags = [...]string{srcPath: "path", srcQuery: "query", srcHeader: "header", srcCookie: "cookie", srcProtocol: "protocol"}

func (s source) String() string { return sourceTags[s] }

var (
	requestType = reflect.TypeFor[*http.Request]()
	connType    = reflect.TypeFor[*Conn]()
	resolverTy  = reflect.TypeFor[Resolver]()
)

// depPlan is what registration learns about one dependency struct type, so
// that a connection only runs the plan: no reflection over the type's fields
// happens per connection.
type depPlan struct {
	typ      reflect.Type
	deps     []depField   // sub-dependencies, resolved first, in field order
	binds    []boundField // fields bound from the request
	injects  []injectField
	resolver bool      // *T implements Resolver
	closer   closeKind // *T has a Close method
	validate bool      // some bound field carries a validate tag
	filter   validator.FilterFunc
}

type depField struct {
	name  string
	index int  // the field's index in its struct
	ptr   bool // the field is *T rather than T
	plan  *depPlan
}

type boundField struct {
	name     string // Go field name
	index    int    // the field's index in its struct
	src      source
	key      string   // wire name; canonical MIME form for headers
	def      []string // default values; nil when there is no default tag
	optional bool     // a pointer or a slice: absence is not an error
	binder   *fieldBinder
}

type injectField struct {
	index int
	typ   reflect.Type
}

type closeKind uint8

const (
	closeNone    closeKind = iota
	closeErr               // Close() error
	closeVoid              // Close()
	closeContext           // Close(context.Context) error
)

var (
	planMu sync.Mutex // serializes plan building
	plans  sync.Map   // reflect.Type -> *depPlan; complete plans only
)

// planFor returns the plan for struct type t, building it on first use. It
// panics with a message naming the struct field when t is declared wrongly.
func planFor(t reflect.Type) *depPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*depPlan)
	}
	planMu.Lock()
	defer planMu.Unlock()
	b := planBuilder{building: map[reflect.Type]bool{}, built: map[reflect.Type]*depPlan{}}
	p, err := b.build(t)
	if err != nil {
		panic(err.Error())
	}
	for typ, bp := range b.built {
		plans.LoadOrStore(typ, bp)
	}
	return p
}

type planBuilder struct {
	building map[reflect.Type]bool
	built    map[reflect.Type]*depPlan
}

func (b *planBuilder) build(t reflect.Type) (*depPlan, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("wsapi: dependency %s is not a struct", t)
	}
	if p, ok := plans.Load(t); ok {
		return p.(*depPlan), nil
	}
	if p, ok := b.built[t]; ok {
		return p, nil
	}
	if b.building[t] {
		return nil, fmt.Errorf("wsapi: dependency cycle through %s", t)
	}
	b.building[t] = true
	defer delete(b.building, t)

	p := &depPlan{typ: t, resolver: reflect.PointerTo(t).Implements(resolverTy), closer: closerOf(t)}
	validNS := map[string]struct{}{}
	for i := range t.NumField() {
		f := t.Field(i)
		where := t.Name() + "." + f.Name
		if t.Name() == "" {
			where = f.Name
		}
		if err := checkTagKeys(f.Tag); err != nil {
			return nil, fmt.Errorf("wsapi: field %s: %v", where, err)
		}
		src, key, err := fieldSource(f)
		if err != nil {
			return nil, fmt.Errorf("wsapi: field %s: %v", where, err)
		}
		switch {
		case src != 0:
			if !f.IsExported() {
				return nil, fmt.Errorf("wsapi: field %s: has a %s tag but is unexported", where, src)
			}
			bf, err := newBoundField(f, i, src, key)
			if err != nil {
				return nil, fmt.Errorf("wsapi: field %s (%s:%q): %v", where, src, key, err)
			}
			p.binds = append(p.binds, bf)
			if f.Tag.Get("validate") != "" {
				p.validate = true
			}
			validNS[t.Name()+"."+f.Name] = struct{}{}
		case f.Tag.Get("default") != "":
			return nil, fmt.Errorf("wsapi: field %s: a default tag needs a source tag (path, query, header, cookie or protocol)", where)
		case f.Type == requestType || f.Type == connType:
			p.injects = append(p.injects, injectField{index: i, typ: f.Type})
		case isDependencyType(f.Type):
			if !f.IsExported() && !f.Anonymous {
				continue // unexported struct fields are private state, not dependencies
			}
			dt, ptr := f.Type, false
			if dt.Kind() == reflect.Pointer {
				dt, ptr = dt.Elem(), true
			}
			sub, err := b.build(dt)
			if err != nil {
				return nil, err
			}
			p.deps = append(p.deps, depField{name: f.Name, index: i, ptr: ptr, plan: sub})
		}
	}
	if p.validate {
		p.filter = func(ns []byte) bool {
			_, ok := validNS[string(ns)]
			return !ok
		}
	}
	b.built[t] = p
	return p, nil
}

// isDependencyType reports whether an untagged field of type t is a
// sub-dependency: a struct or pointer to struct that is not a value type such
// as time.Time.
func isDependencyType(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	return !reflect.PointerTo(t).Implements(textUnmarshalerType)
}

func closerOf(t reflect.Type) closeKind {
	m, ok := reflect.PointerTo(t).MethodByName("Close")
	if !ok {
		return closeNone
	}
	ft := m.Type // receiver is the first input
	switch {
	case ft.NumIn() == 1 && ft.NumOut() == 1 && ft.Out(0) == errorType:
		return closeErr
	case ft.NumIn() == 1 && ft.NumOut() == 0:
		return closeVoid
	case ft.NumIn() == 2 && ft.In(1) == contextType && ft.NumOut() == 1 && ft.Out(0) == errorType:
		return closeContext
	}
	return closeNone
}

var (
	errorType   = reflect.TypeFor[error]()
	contextType = reflect.TypeFor[context.Context]()
)

// fieldSource returns the field's source and wire name, or 0 when it has no
// source tag.
func fieldSource(f reflect.StructField) (source, string, error) {
	var src source
	var key string
	for s := srcPath; s <= srcProtocol; s++ {
		v, ok := f.Tag.Lookup(sourceTags[s])
		if !ok {
			continue
		}
		if src != 0 {
			return 0, "", fmt.Errorf("has both a %s and a %s tag; a field binds from one source", src, s)
		}
		name, _, _ := strings.Cut(v, ",")
		if name == "" {
			return 0, "", fmt.Errorf("%s tag needs a name, such as %s:\"token\"", s, s)
		}
		src, key = s, name
	}
	return src, key, nil
}

func newBoundField(f reflect.StructField, index int, src source, key string) (boundField, error) {
	fb, err := newFieldBinder(f.Type)
	if err != nil {
		return boundField{}, err
	}
	bf := boundField{
		name:     f.Name,
		index:    index,
		src:      src,
		key:      key,
		binder:   fb,
		optional: fb.kind != bindScalar,
	}
	if src == srcHeader {
		bf.key = textproto.CanonicalMIMEHeaderKey(key)
	}
	if def, ok := f.Tag.Lookup("default"); ok {
		if src == srcPath {
			return boundField{}, fmt.Errorf("a path value is always present; drop the default tag")
		}
		bf.def = []string{def}
		if fb.kind == bindSlice {
			bf.def = strings.Split(def, ",")
		}
		// Parse the default now, so a bad one fails at registration.
		if err := fb.bind(reflect.New(f.Type).Elem(), bf.def); err != nil {
			return boundField{}, fmt.Errorf("bad default %q: %v", def, err)
		}
	}
	return bf, nil
}

// pathKeys appends the path names bound anywhere in plan's tree, with the
// field that binds each, for checking against a route's pattern.
func (p *depPlan) pathKeys(seen map[*depPlan]bool, out map[string]string) {
	if seen[p] {
		return
	}
	seen[p] = true
	for _, d := range p.deps {
		d.plan.pathKeys(seen, out)
	}
	for _, b := range p.binds {
		if b.src == srcPath {
			name := p.typ.Name() + "." + b.name
			if _, ok := out[b.key]; !ok {
				out[b.key] = name
			}
		}
	}
}

// patternWildcards returns the wildcard names of a ServeMux pattern, such as
// ["item_id"] for "/items/{item_id}/ws". {$} is not a wildcard.
func patternWildcards(pattern string) []string {
	var names []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return names
		}
		name := strings.TrimSuffix(pattern[i+1:i+j], "...")
		if name != "$" && !slices.Contains(names, name) {
			names = append(names, name)
		}
		pattern = pattern[i+j+1:]
	}
}
