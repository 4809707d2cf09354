package asyncapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
	"github.com/wsapi-go/wsapi"
)

// Info describes the app as a whole: the AsyncAPI info object, and what the
// routes cannot tell.
type Info struct {
	// Title and Version are required by AsyncAPI; defaults "WebSocket API"
	// and "1.0.0". Description may use CommonMark.
	Title          string
	Version        string
	Description    string
	TermsOfService string
	Contact        *Contact
	License        *License
	Tags           []Tag
	// ID is the document's id, a URI such as "urn:example:chat".
	ID string
	// Servers lists where the app listens, by name, such as
	// {"local": {Host: "localhost:8000", Protocol: "ws"}}. Without servers,
	// the channels' addresses are relative to wherever the app is served.
	Servers map[string]Server
	// Messages documents messages by name (the discriminator's value), on
	// every route that has them.
	Messages map[string]MessageDoc
}

// MessageDoc documents a message type. Examples are payloads without the
// discriminator field, which the document adds: values that encode as JSON
// objects, such as the message's Go type.
type MessageDoc struct {
	Title       string
	Summary     string
	Description string
	Examples    []any
}

// Document returns the AsyncAPI 3.0 document of app's WebSocket routes, as
// registered when it is called:
//
//   - one channel per route, whose address is the route's path with its
//     wildcards as {name} parameters, described by the path fields of the
//     route's params struct and dependencies; its title, summary,
//     description and tags come from wsapi.EndpointOptions;
//   - in the channel's WebSocket binding, the JSON Schemas of the
//     handshake's query parameters and headers (values bound with the
//     protocol tag are carried by the Sec-WebSocket-Protocol header,
//     cookies by the Cookie header and the x-cookies extension);
//   - one message per type registered with wsapi.On or wsapi.Emits, whose
//     payload is the JSON Schema of its Go type with the discriminator
//     field as a const, and the error reply of routes that have wsapi.On
//     messages;
//   - one operation per message, described from the app's side as
//     AsyncAPI 3 does: "receive" for the messages clients send (wsapi.On),
//     "send" for the messages the app sends (wsapi.Emits, the error reply);
//   - the schemas of named Go types under components.schemas.
//
// JSON Schemas come from github.com/invopop/jsonschema, following json
// tags; validate tags add required, minimum, maximum, minLength,
// maxLength, minItems, maxItems, enum (oneof), format (email, url, uuid,
// ipv4, ...) and pattern (alphanum, startswith, ...); description or doc
// tags add descriptions, and example tags examples.
func Document(app *wsapi.App, info Info) (*Spec, error) {
	b := &builder{
		info:    info,
		schemas: newSchemas(),
		spec: &Spec{
			AsyncAPI:           Version,
			ID:                 info.ID,
			DefaultContentType: "application/json",
			Info: InfoObject{
				Title:          cmpOr(info.Title, "WebSocket API"),
				Version:        cmpOr(info.Version, "1.0.0"),
				Description:    info.Description,
				TermsOfService: info.TermsOfService,
				Contact:        info.Contact,
				License:        info.License,
				Tags:           info.Tags,
			},
			Channels:   NewMap[*Channel](),
			Operations: NewMap[*Operation](),
		},
	}
	if len(info.Servers) > 0 {
		b.spec.Servers = NewMap[*Server]()
		for _, name := range slices.Sorted(maps.Keys(info.Servers)) {
			s := info.Servers[name]
			b.spec.Servers.Set(sanitizeKey(name), &s)
		}
	}
	for _, rt := range app.Routes() {
		if err := b.route(rt); err != nil {
			return nil, err
		}
	}
	b.components()
	return b.spec, nil
}

type builder struct {
	info        Info
	schemas     *schemas
	spec        *Spec
	bindings    []*jsonschema.Schema // the schemas outside components.schemas
	payloads    []*jsonschema.Schema
	messages    *Map[*Message]
	messageKeys map[string]string // by the message's JSON
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// uniqueKey returns key, or key with a suffix, so that it is not in taken.
func uniqueKey(key string, taken func(string) bool) string {
	if key == "" {
		key = "root"
	}
	base := key
	for i := 2; taken(key); i++ {
		key = fmt.Sprintf("%s_%d", base, i)
	}
	return key
}

// address turns a ServeMux pattern into a channel address and the names
// of its wildcards: "/items/{id}/ws" gives "/items/{id}/ws", "/files/{path...}"
// gives "/files/{path}", "/rooms/{$}" gives "/rooms/". A host in the
// pattern is returned apart.
func address(pattern string) (addr, host string, wildcards []string) {
	pattern = strings.TrimSpace(pattern)
	if i := strings.Index(pattern, "/"); i > 0 {
		host, pattern = pattern[:i], pattern[i:]
	} else if i < 0 {
		host, pattern = pattern, "/"
	}
	segs := strings.Split(pattern, "/")
	for i, seg := range segs {
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
			continue
		}
		name := strings.TrimSuffix(seg[1:len(seg)-1], "...")
		if name == "$" {
			segs[i] = ""
			continue
		}
		segs[i] = "{" + name + "}"
		wildcards = append(wildcards, name)
	}
	return strings.Join(segs, "/"), host, wildcards
}

func (b *builder) route(rt wsapi.RouteInfo) error {
	addr, host, wildcards := address(rt.Pattern)
	id := uniqueKey(sanitizeKey(strings.NewReplacer("{", "", "}", "").Replace(strings.Trim(addr, "/"))),
		func(k string) bool { _, ok := b.spec.Channels.Get(k); return ok })
	opts := rt.Options
	ch := &Channel{
		Address:     addr,
		Title:       opts.Title,
		Summary:     opts.Summary,
		Description: opts.Description,
		Tags:        tags(opts.Tags),
	}
	if host != "" {
		ch.Description = strings.TrimSpace(ch.Description + "\n\nServed on host `" + host + "` only.")
	}
	b.spec.Channels.Set(id, ch)

	// Path parameters.
	if len(wildcards) > 0 {
		ch.Parameters = NewMap[*Parameter]()
		for _, w := range wildcards {
			p := &Parameter{}
			for _, pi := range rt.Parameters {
				if pi.Source == "path" && pi.Name == w {
					p = pathParameter(pi)
					break
				}
			}
			ch.Parameters.Set(w, p)
		}
	}

	// The handshake's query, headers and cookies.
	ws := &WebSocketBinding{Method: "GET", BindingVersion: "0.1.0"}
	var cookieDoc []string
	for _, pi := range rt.Parameters {
		var obj **jsonschema.Schema
		name := pi.Name
		switch pi.Source {
		case "query":
			obj = &ws.Query
		case "header":
			obj = &ws.Headers
		case "cookie":
			obj = &ws.Cookies
			line := "`" + pi.Name + "`"
			if pi.Required {
				line += " (required)"
			}
			if d := tagDoc(pi.Field.Tag); d != "" {
				line += ": " + d
			}
			cookieDoc = append(cookieDoc, "- "+line)
		case "protocol":
			obj = &ws.Headers
			name = "Sec-WebSocket-Protocol"
		default:
			continue
		}
		s, required, err := b.paramSchema(pi)
		if err != nil {
			return fmt.Errorf("asyncapi: route %q: %s parameter %q: %w", rt.Pattern, pi.Source, pi.Name, err)
		}
		if pi.Source == "protocol" {
			s = &jsonschema.Schema{
				Type: "string",
				Description: strings.TrimSpace(fmt.Sprintf("Browsers cannot set headers: offer the subprotocols `%s, <value>` "+
					"and the value is taken from the entry after `%s`. %s", pi.Name, pi.Name, s.Description)),
			}
		}
		if *obj == nil {
			*obj = &jsonschema.Schema{Type: "object", Properties: jsonschema.NewProperties()}
			b.bindings = append(b.bindings, *obj)
		}
		(*obj).Properties.Set(name, s)
		if required && !slices.Contains((*obj).Required, name) {
			(*obj).Required = append((*obj).Required, name)
		}
	}
	if len(cookieDoc) > 0 {
		if ws.Headers == nil {
			ws.Headers = &jsonschema.Schema{Type: "object", Properties: jsonschema.NewProperties()}
			b.bindings = append(b.bindings, ws.Headers)
		}
		ws.Headers.Properties.Set("Cookie", &jsonschema.Schema{
			Type:        "string",
			Description: "The cookies the handshake reads (see x-cookies):\n\n" + strings.Join(cookieDoc, "\n"),
		})
		if len(ws.Cookies.Required) > 0 {
			ws.Headers.Required = append(ws.Headers.Required, "Cookie")
		}
	}
	ch.Bindings = &ChannelBindings{WS: ws}

	// Messages and operations.
	field := opts.Discriminator
	add := func(action string, mi wsapi.MessageInfo, summary string) error {
		if ch.Messages == nil {
			ch.Messages = NewMap[Reference]()
		}
		key := uniqueKey(sanitizeKey(mi.Name), func(k string) bool { _, ok := ch.Messages.Get(k); return ok })
		s, err := b.schemas.reflect(mi.Type)
		if err != nil {
			return fmt.Errorf("route %q: message %q: %w", rt.Pattern, mi.Name, err)
		}
		payload := b.schemas.resolve(s)
		withDiscriminator(payload, field, mi.Name)
		if mi.Type == validationErrorType {
			// wsapi always sends these.
			payload.Required = append(payload.Required, "detail")
			if def := b.schemas.defs[b.schemas.names[fieldErrorType]]; def != nil && len(def.Required) == 0 {
				def.Required = []string{"loc", "msg", "type"}
			}
		}
		doc := b.info.Messages[mi.Name]
		m := &Message{
			Name:        mi.Name,
			Title:       cmpOr(doc.Title, mi.Name),
			Summary:     cmpOr(cmpOr(mi.Summary, doc.Summary), summary),
			Description: doc.Description,
			Payload:     payload,
		}
		for i, ex := range doc.Examples {
			data, err := json.Marshal(wsapi.TypedAs(field, mi.Name, ex))
			if err != nil {
				return fmt.Errorf("route %q: message %q: example %d: %w", rt.Pattern, mi.Name, i, err)
			}
			m.Examples = append(m.Examples, MessageExample{Payload: json.RawMessage(data)})
		}
		ch.Messages.Set(key, Reference{"#/components/messages/" + b.message(id, key, m)})
		opID := b.operationID(id, action, key)
		verb := "Receives"
		if action == "send" {
			verb = "Sends"
		}
		b.spec.Operations.Set(opID, &Operation{
			Action:   action,
			Channel:  Reference{"#/channels/" + id},
			Title:    fmt.Sprintf("%s %s", verb, mi.Name),
			Summary:  m.Summary,
			Tags:     tags(opts.Tags),
			Messages: []Reference{{"#/channels/" + id + "/messages/" + key}},
		})
		return nil
	}
	for _, mi := range rt.Receives {
		if err := add("receive", mi, ""); err != nil {
			return fmt.Errorf("asyncapi: %w", err)
		}
	}
	for _, mi := range rt.Sends {
		if err := add("send", mi, ""); err != nil {
			return fmt.Errorf("asyncapi: %w", err)
		}
	}
	if len(rt.Receives) > 0 {
		errInfo := wsapi.MessageInfo{Name: opts.ErrorType, Type: validationErrorType}
		if err := add("send", errInfo,
			"The reply to a message that is not JSON, has an unknown type or fails validation; the connection stays open."); err != nil {
			return fmt.Errorf("asyncapi: %w", err)
		}
	}
	if len(rt.Receives) == 0 && len(rt.Sends) == 0 {
		// A loop-style route: list it, without messages.
		b.spec.Operations.Set(b.operationID(id, "receive", ""), &Operation{
			Action:  "receive",
			Channel: Reference{"#/channels/" + id},
			Title:   "Connect to " + addr,
			Summary: "The messages of this route are not declared: its handler reads and writes the connection itself.",
			Tags:    tags(opts.Tags),
		})
	}
	return nil
}

// operationID names an operation for the page's menu, which lists them by
// id beside their action: the message's key, unless another operation has
// it; the channel's key for a route without messages.
func (b *builder) operationID(channel, action, key string) string {
	taken := func(k string) bool { _, ok := b.spec.Operations.Get(k); return ok }
	if key == "" {
		return uniqueKey(channel, taken)
	}
	if !taken(key) {
		return key
	}
	if k := channel + "." + key; !taken(k) {
		return k
	}
	return uniqueKey(channel+"."+action+"."+key, taken)
}

// message adds m to components.messages, unless the same message is there
// already, from another route, and returns its key there: the channel's
// key for it, or, when another message has that key, the key prefixed
// with the channel's.
func (b *builder) message(channel, key string, m *Message) string {
	if b.messages == nil {
		b.messages = NewMap[*Message]()
		b.messageKeys = map[string]string{}
	}
	data, err := json.Marshal(m)
	if k, ok := b.messageKeys[string(data)]; ok && err == nil {
		return k
	}
	if _, ok := b.messages.Get(key); ok {
		key = uniqueKey(channel+"."+key, func(k string) bool { _, ok := b.messages.Get(k); return ok })
	}
	b.messages.Set(key, m)
	if err == nil {
		b.messageKeys[string(data)] = key
	}
	b.payloads = append(b.payloads, m.Payload)
	return key
}

var (
	validationErrorType = reflect.TypeFor[wsapi.ValidationError]()
	fieldErrorType      = reflect.TypeFor[wsapi.FieldError]()
)

func init() {
	fieldError := fieldErrorType
	typeDocs[validationErrorType] = "Lists what is wrong with a message."
	typeDocs[fieldError] = "One thing wrong with a message."
	fieldDocs[validationErrorType] = map[string]string{"Errors": "Each thing wrong with the message."}
	fieldDocs[fieldError] = map[string]string{
		"Loc":  `Where: "message", then the field's JSON path, such as ["message", "text"].`,
		"Msg":  "What is wrong, in English.",
		"Type": `A machine-readable kind: "missing", "unknown_type", "json_invalid", "type_error", or the failing validate rule ("required", "max", ...).`,
	}
}

func tags(names []string) []Tag {
	var out []Tag
	for _, n := range names {
		out = append(out, Tag{Name: n})
	}
	return out
}

// withDiscriminator makes the discriminator field the first property of the
// payload, required and constant.
func withDiscriminator(s *jsonschema.Schema, field, name string) {
	if s.Type == "" {
		s.Type = "object"
	}
	props := jsonschema.NewProperties()
	props.Set(field, &jsonschema.Schema{Type: "string", Const: name})
	if s.Properties != nil {
		for k, v := range s.Properties.FromOldest() {
			if k != field {
				props.Set(k, v)
			}
		}
	}
	s.Properties = props
	s.Required = append([]string{field}, slices.DeleteFunc(s.Required, func(r string) bool { return r == field })...)
}

// pathParameter describes a path wildcard bound to a field.
func pathParameter(pi wsapi.ParamInfo) *Parameter {
	p := &Parameter{Description: tagDoc(pi.Field.Tag)}
	if pi.Default != nil {
		p.Default = *pi.Default
	}
	if ex, ok := pi.Field.Tag.Lookup("example"); ok {
		p.Examples = []string{ex}
	}
	for rule := range strings.SplitSeq(pi.Field.Tag.Get("validate"), ",") {
		if param, ok := strings.CutPrefix(rule, "oneof="); ok {
			p.Enum = oneofValues(param)
		}
	}
	return p
}

// paramSchema returns the JSON Schema of a value bound from the handshake,
// and whether the handshake needs it.
func (b *builder) paramSchema(pi wsapi.ParamInfo) (*jsonschema.Schema, bool, error) {
	t := pi.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var s *jsonschema.Schema
	if t.Kind() == reflect.Slice && t != reflect.TypeFor[[]byte]() && !reflect.PointerTo(t).Implements(textUnmarshalerType) {
		item, err := b.scalarSchema(t.Elem())
		if err != nil {
			return nil, false, err
		}
		s = &jsonschema.Schema{Type: "array", Items: item}
	} else {
		var err error
		if s, err = b.scalarSchema(t); err != nil {
			return nil, false, err
		}
	}
	s.Description = tagDoc(pi.Field.Tag)
	if pi.Default != nil {
		s.Default = typedValue(*pi.Default, pi.Type)
	}
	if ex, ok := pi.Field.Tag.Lookup("example"); ok {
		s.Examples = []any{typedValue(ex, pi.Type)}
	}
	required := applyValidate(s, pi.Type, pi.Field.Tag.Get("validate")) || pi.Required
	return s, required, nil
}

// durationPattern matches what time.ParseDuration takes.
const durationPattern = `^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$|^0$`

// scalarSchema is the schema of one value bound from text: encoding.
// TextUnmarshaler types (time.Time aside) and durations are strings.
func (b *builder) scalarSchema(t reflect.Type) (*jsonschema.Schema, error) {
	switch {
	case t == durationType:
		return &jsonschema.Schema{Type: "string", Pattern: durationPattern, Examples: []any{"1.5s"}}, nil
	case t == timeType:
		return &jsonschema.Schema{Type: "string", Format: "date-time"}, nil
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return &jsonschema.Schema{Type: "string"}, nil
	}
	s, err := b.schemas.reflect(t)
	if err != nil {
		return nil, err
	}
	return b.schemas.resolve(s), nil
}

// components keeps in components.schemas the schemas that the document
// references, directly or through other schemas.
func (b *builder) components() {
	var queue []string
	for _, s := range slices.Concat(b.payloads, b.bindings) {
		queue = append(queue, refs(s)...)
	}
	used := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if used[name] {
			continue
		}
		def, ok := b.schemas.defs[name]
		if !ok {
			continue
		}
		used[name] = true
		queue = append(queue, refs(def)...)
	}
	if len(used) == 0 && b.messages.Len() == 0 {
		return
	}
	b.spec.Components = &Components{Messages: b.messages}
	if len(used) > 0 {
		b.spec.Components.Schemas = NewMap[*jsonschema.Schema]()
		for _, name := range slices.Sorted(maps.Keys(used)) {
			b.spec.Components.Schemas.Set(name, b.schemas.defs[name])
		}
	}
}
