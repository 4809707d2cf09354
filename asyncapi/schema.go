package asyncapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
)

// schemaPrefix is where the document keeps the schemas of named types.
const schemaPrefix = "#/components/schemas/"

var (
	durationType        = reflect.TypeFor[time.Duration]()
	timeType            = reflect.TypeFor[time.Time]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// schemas reflects Go types into JSON Schemas with invopop/jsonschema, adds
// the keywords their validate, description, doc and example tags mean, and
// collects the schemas of named types for components.schemas.
type schemas struct {
	r     *jsonschema.Reflector
	names map[reflect.Type]string // named types and their schema names
	types map[string]reflect.Type
	defs  map[string]*jsonschema.Schema // annotated, refs rewritten
}

func newSchemas() *schemas {
	g := &schemas{
		names: map[reflect.Type]string{},
		types: map[string]reflect.Type{},
		defs:  map[string]*jsonschema.Schema{},
	}
	g.r = &jsonschema.Reflector{
		Anonymous: true,
		// encoding/json ignores unknown fields, and so does wsapi.
		AllowAdditionalProperties: true,
		// A field is required when its validate tag says so (or its
		// jsonschema tag), not because it lacks omitempty.
		RequiredFromJSONSchemaTags: true,
		Namer:                      g.name,
		LookupComment:              fieldDoc,
	}
	return g
}

// name gives each named type that can become a definition a name unique
// in the document, valid as a components key.
func (g *schemas) name(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	if n, ok := g.names[t]; ok {
		return n
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
	default:
		if !reflect.PointerTo(t).Implements(customSchemaType) {
			return t.Name()
		}
	}
	n := sanitizeKey(t.Name())
	if _, taken := g.types[n]; taken {
		n = sanitizeKey(path.Base(t.PkgPath()) + "." + t.Name())
		base := n
		for i := 2; ; i++ {
			if _, taken := g.types[n]; !taken {
				break
			}
			n = fmt.Sprintf("%s_%d", base, i)
		}
	}
	g.names[t] = n
	g.types[n] = t
	return n
}

var customSchemaType = reflect.TypeFor[interface{ JSONSchema() *jsonschema.Schema }]()

// fieldDoc is the reflector's LookupComment: a field's description or doc
// tag.
func fieldDoc(t reflect.Type, field string) string {
	if field == "" {
		return typeDocs[t]
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	if d := fieldDocs[t][field]; d != "" {
		return d
	}
	f, ok := t.FieldByName(field)
	if !ok {
		return ""
	}
	return tagDoc(f.Tag)
}

func tagDoc(tag reflect.StructTag) string {
	if d := tag.Get("description"); d != "" {
		return d
	}
	return tag.Get("doc")
}

// typeDocs and fieldDocs describe the types of wsapi's own messages.
var (
	typeDocs  = map[reflect.Type]string{}
	fieldDocs = map[reflect.Type]map[string]string{}
)

// reflect returns the schema of t: a reference for a named type, whose
// schema joins g.defs, or the schema itself.
func (g *schemas) reflect(t reflect.Type) (s *jsonschema.Schema, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("asyncapi: cannot describe %s: %v", t, v)
		}
	}()
	root := g.r.ReflectFromType(t)
	defs := root.Definitions
	root.Definitions, root.Version, root.ID = nil, "", ""
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := g.defs[name]; ok {
			continue
		}
		def := defs[name]
		rewriteRefs(def)
		if dt, ok := g.types[name]; ok {
			annotate(def, dt)
		}
		g.defs[name] = def
	}
	rewriteRefs(root)
	if root.Ref == "" {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		annotate(root, t)
	}
	return root, nil
}

// resolve returns a copy of s, or of the schema it references, that can be
// changed without changing the schema of the type.
func (g *schemas) resolve(s *jsonschema.Schema) *jsonschema.Schema {
	if name, ok := strings.CutPrefix(s.Ref, schemaPrefix); ok {
		if def, ok := g.defs[name]; ok {
			s = def
		}
	}
	c := *s
	c.Required = slices.Clone(s.Required)
	if s.Properties != nil {
		c.Properties = jsonschema.NewProperties()
		for k, v := range s.Properties.FromOldest() {
			c.Properties.Set(k, v)
		}
	}
	return &c
}

// rewriteRefs points the references invopop makes to its $defs at
// components.schemas, through the whole schema.
func rewriteRefs(s *jsonschema.Schema) {
	walk(s, func(s *jsonschema.Schema) {
		if name, ok := strings.CutPrefix(s.Ref, "#/$defs/"); ok {
			s.Ref = schemaPrefix + name
		}
	})
}

// walk calls f on s and every schema inside it.
func walk(s *jsonschema.Schema, f func(*jsonschema.Schema)) {
	if s == nil || s == jsonschema.TrueSchema || s == jsonschema.FalseSchema {
		return
	}
	f(s)
	for _, list := range [][]*jsonschema.Schema{s.AllOf, s.AnyOf, s.OneOf, s.PrefixItems} {
		for _, c := range list {
			walk(c, f)
		}
	}
	for _, c := range []*jsonschema.Schema{s.Not, s.If, s.Then, s.Else, s.Items, s.Contains,
		s.AdditionalProperties, s.PropertyNames, s.ContentSchema} {
		walk(c, f)
	}
	for _, m := range []map[string]*jsonschema.Schema{s.DependentSchemas, s.PatternProperties, s.Definitions} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			walk(m[k], f)
		}
	}
	if s.Properties != nil {
		for _, c := range s.Properties.FromOldest() {
			walk(c, f)
		}
	}
}

// refs returns the names of the components s references.
func refs(s *jsonschema.Schema) []string {
	var out []string
	walk(s, func(s *jsonschema.Schema) {
		if name, ok := strings.CutPrefix(s.Ref, schemaPrefix); ok {
			out = append(out, name)
		}
	})
	return out
}

// annotate adds to the schema s of type t what the struct tags of t's
// fields say, down through its inline (unnamed) element and field types.
// Named types are annotated where their definitions are made.
func annotate(s *jsonschema.Schema, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s == nil || s == jsonschema.TrueSchema || s == jsonschema.FalseSchema || s.Ref != "" {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if s.Properties != nil {
			annotateFields(s, t)
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Name() == "" {
			annotate(s.Items, t.Elem())
		}
	case reflect.Map:
		if t.Elem().Name() == "" {
			annotate(s.AdditionalProperties, t.Elem())
		}
	}
}

// annotateFields applies the tags of struct t's fields to the properties of
// s, following encoding/json's rules for names and embedded structs.
func annotateFields(s *jsonschema.Schema, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				annotateFields(s, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		prop, ok := s.Properties.Get(name)
		if !ok || prop == nil {
			continue
		}
		if prop == jsonschema.TrueSchema || prop == jsonschema.FalseSchema {
			prop = &jsonschema.Schema{}
			s.Properties.Set(name, prop)
		}
		if applyValidate(prop, f.Type, f.Tag.Get("validate")) && !slices.Contains(s.Required, name) {
			s.Required = append(s.Required, name)
		}
		if ex, ok := f.Tag.Lookup("example"); ok && len(prop.Examples) == 0 {
			prop.Examples = []any{typedValue(ex, f.Type)}
		}
		if f.Type.Name() == "" || f.Type.Kind() == reflect.Pointer && f.Type.Elem().Name() == "" {
			annotate(prop, f.Type)
		}
	}
}

// applyValidate adds to s, the schema of a value of type t, the JSON Schema
// keywords that the validate tag means, and reports whether the tag makes
// the value required. Rules that JSON Schema cannot say, or that this
// package does not know, are left out: the document may accept values the
// server refuses, never the reverse, except that a string with omitempty
// and a length rule is documented as if the rule applied to "" too.
func applyValidate(s *jsonschema.Schema, t reflect.Type, tag string) (required bool) {
	if tag == "" || tag == "-" {
		return false
	}
	rules := strings.Split(tag, ",")
	return applyRules(s, t, rules, true)
}

func applyRules(s *jsonschema.Schema, t reflect.Type, rules []string, top bool) (required bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < len(rules); i++ {
		rule := strings.TrimSpace(rules[i])
		if strings.Contains(rule, "|") {
			continue // an alternative of rules: not said
		}
		name, param, _ := strings.Cut(rule, "=")
		switch name {
		case "dive":
			var elem *jsonschema.Schema
			switch t.Kind() {
			case reflect.Slice, reflect.Array:
				elem = s.Items
			case reflect.Map:
				elem = s.AdditionalProperties
			}
			rest := rules[i+1:]
			if t.Kind() == reflect.Map && len(rest) > 0 && rest[0] == "keys" {
				end := slices.Index(rest, "endkeys")
				if end < 0 {
					return required
				}
				rest = rest[end+1:]
			}
			if elem != nil && elem != jsonschema.TrueSchema && elem != jsonschema.FalseSchema && elem.Ref == "" {
				applyRules(elem, t.Elem(), rest, false)
			}
			return required
		case "required":
			required = top
			if t.Kind() == reflect.String && s.MinLength == nil && s.Type == "string" {
				s.MinLength = uintPtr(1)
			}
		default:
			applyRule(s, t, name, param)
		}
	}
	return required
}

// kind classes of the values the size rules apply to.
func sizeKind(t reflect.Type) string {
	if t == durationType || t == timeType {
		return ""
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map:
		return "object"
	}
	return ""
}

var formats = map[string]string{
	"email": "email", "url": "uri", "http_url": "uri", "https_url": "uri", "uri": "uri",
	"uuid": "uuid", "uuid3": "uuid", "uuid4": "uuid", "uuid5": "uuid",
	"uuid_rfc4122": "uuid", "uuid3_rfc4122": "uuid", "uuid4_rfc4122": "uuid", "uuid5_rfc4122": "uuid",
	"ipv4": "ipv4", "ip4_addr": "ipv4", "ipv6": "ipv6", "ip6_addr": "ipv6",
	"hostname": "hostname", "hostname_rfc1123": "hostname", "fqdn": "hostname",
}

var patterns = map[string]string{
	"alpha":        `^[a-zA-Z]+$`,
	"alphanum":     `^[a-zA-Z0-9]+$`,
	"numeric":      `^[-+]?[0-9]+(?:\.[0-9]+)?$`,
	"number":       `^[0-9]+$`,
	"hexadecimal":  `^(0[xX])?[0-9a-fA-F]+$`,
	"hexcolor":     `^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$`,
	"e164":         `^\+[1-9]?[0-9]{7,14}$`,
	"ascii":        `^[\x00-\x7F]*$`,
	"printascii":   `^[\x20-\x7E]*$`,
	"lowercase":    `^[^A-Z]*$`,
	"uppercase":    `^[^a-z]*$`,
	"alphaunicode": `^[\p{L}]+$`,
}

func applyRule(s *jsonschema.Schema, t reflect.Type, name, param string) {
	kind := sizeKind(t)
	switch name {
	case "min", "max", "len", "eq", "ne", "gt", "gte", "lt", "lte":
		sizeRule(s, kind, name, param)
	case "oneof":
		var enum []any
		for _, v := range oneofValues(param) {
			if kind == "number" {
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					return
				}
				enum = append(enum, json.Number(v))
			} else {
				enum = append(enum, v)
			}
		}
		s.Enum = enum
	case "unique":
		if kind == "array" {
			s.UniqueItems = true
		}
	case "datetime":
		switch param {
		case time.RFC3339, time.RFC3339Nano:
			s.Format = "date-time"
		case time.DateOnly:
			s.Format = "date"
		case time.TimeOnly:
			s.Format = "time"
		}
	case "startswith", "endswith", "contains":
		if kind == "string" {
			p := regexp.QuoteMeta(param)
			switch name {
			case "startswith":
				p = "^" + p
			case "endswith":
				p += "$"
			}
			addPattern(s, p)
		}
	case "base64", "base64url", "base64rawurl":
		if kind == "string" {
			s.ContentEncoding = "base64"
		}
	default:
		if f, ok := formats[name]; ok && kind == "string" {
			s.Format = f
		} else if p, ok := patterns[name]; ok && kind == "string" {
			addPattern(s, p)
		}
	}
}

func addPattern(s *jsonschema.Schema, p string) {
	if s.Pattern == "" {
		s.Pattern = p
		return
	}
	s.AllOf = append(s.AllOf, &jsonschema.Schema{Pattern: p})
}

// sizeRule maps min, max, len, eq, ne, gt, gte, lt and lte: bounds on a
// number's value, a string's length in characters, an array's items, an
// object's properties.
func sizeRule(s *jsonschema.Schema, kind, name, param string) {
	switch kind {
	case "number":
		if _, err := strconv.ParseFloat(param, 64); err != nil {
			return
		}
		n := json.Number(param)
		switch name {
		case "min", "gte":
			s.Minimum = n
		case "max", "lte":
			s.Maximum = n
		case "gt":
			s.ExclusiveMinimum = n
		case "lt":
			s.ExclusiveMaximum = n
		case "len", "eq":
			s.Const = n
		case "ne":
			s.Not = &jsonschema.Schema{Const: n}
		}
	case "string":
		if name == "eq" {
			s.Const = param
			return
		}
		if name == "ne" {
			s.Not = &jsonschema.Schema{Const: param}
			return
		}
		lo, hi, ok := bounds(name, param)
		if !ok {
			return
		}
		if lo != nil {
			s.MinLength = lo
		}
		if hi != nil {
			s.MaxLength = hi
		}
	case "array":
		lo, hi, ok := bounds(name, param)
		if !ok {
			return
		}
		if lo != nil {
			s.MinItems = lo
		}
		if hi != nil {
			s.MaxItems = hi
		}
	case "object":
		lo, hi, ok := bounds(name, param)
		if !ok {
			return
		}
		if lo != nil {
			s.MinProperties = lo
		}
		if hi != nil {
			s.MaxProperties = hi
		}
	}
}

// bounds turns a size rule into inclusive lower and upper bounds.
func bounds(name, param string) (lo, hi *uint64, ok bool) {
	n, err := strconv.ParseUint(param, 10, 64)
	if err != nil {
		return nil, nil, false
	}
	switch name {
	case "min", "gte":
		return &n, nil, true
	case "max", "lte":
		return nil, &n, true
	case "gt":
		return uintPtr(n + 1), nil, true
	case "lt":
		if n == 0 {
			return nil, nil, false
		}
		return nil, uintPtr(n - 1), true
	case "len", "eq":
		return &n, uintPtr(n), true
	}
	return nil, nil, false
}

func uintPtr(n uint64) *uint64 { return &n }

// oneofValues splits a oneof parameter as the validator does: by spaces,
// with 'single quotes' around values that contain spaces.
func oneofValues(param string) []string {
	var out []string
	for _, v := range oneofRE.FindAllString(param, -1) {
		out = append(out, strings.ReplaceAll(strings.Trim(v, "'"), "0x2C", ","))
	}
	return out
}

var oneofRE = regexp.MustCompile(`'[^']*'|\S+`)

// typedValue converts a tag's text (default, example) to the JSON value it
// stands for in a value of type t: a number, a boolean, or the text.
func typedValue(s string, t reflect.Type) any {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice && t != reflect.TypeFor[[]byte]() {
		t = t.Elem()
	}
	if t == durationType || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return s
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return json.Number(s)
		}
	case reflect.Bool:
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return s
}

// sanitizeKey makes s a valid key of components, channels and operations:
// letters, digits, '.', '-' and '_'.
func sanitizeKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
