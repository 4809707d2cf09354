package wsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// EndpointOptions describes and tunes a WebSocket route; see Endpoint.With.
// Zero fields mean the defaults written on them.
type EndpointOptions struct {
	// Title, Summary and Description document the route (the AsyncAPI
	// channel's title, summary and Markdown description); Tags group it.
	Title       string
	Summary     string
	Description string
	Tags        []string

	// Discriminator is the JSON field naming an incoming message's type, for
	// the handlers registered with On. Default "type".
	Discriminator string
	// ErrorType is the type of the error replies Conn.Dispatch sends for a
	// message that is not valid JSON, has an unknown type or fails
	// validation. Default "error".
	ErrorType string
	// MessageRate and MessageBurst bound the messages Conn.Dispatch takes from
	// one connection: on average MessageRate per second, MessageBurst at
	// once. A client that goes over is closed with ClosePolicyViolation
	// (1008). Defaults 100 per second and a burst of 200; a negative rate
	// means no limit.
	MessageRate  float64
	MessageBurst int
}

func (o *EndpointOptions) discriminator() string {
	if o.Discriminator == "" {
		return "type"
	}
	return o.Discriminator
}

func (o *EndpointOptions) errorType() string {
	if o.ErrorType == "" {
		return "error"
	}
	return o.ErrorType
}

// With sets the route's options and returns the endpoint. Call it at
// registration, before serving.
//
//	wsapi.Route(app, "/chat/{room}", chat).With(&wsapi.EndpointOptions{Title: "Chat room"})
func (e *Endpoint) With(o *EndpointOptions) *Endpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	if o != nil {
		e.opts = *o
		e.opts.Tags = slices.Clone(o.Tags)
	}
	return e
}

// Discriminator returns the JSON field naming a message's type on this
// route: EndpointOptions.Discriminator, "type" by default.
func (e *Endpoint) Discriminator() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts.discriminator()
}

// MessageInfo describes one message type of a route: its name, as the
// discriminator field carries it, and its Go type.
type MessageInfo struct {
	Name    string
	Type    reflect.Type
	Summary string
}

type messageHandler struct {
	info   MessageInfo
	invoke func(ctx context.Context, c *Conn, data []byte) error
}

// On registers h for the messages of type name that clients send on the
// route: JSON objects whose discriminator field (EndpointOptions.Discriminator,
// "type" by default) is name. Conn.Dispatch decodes each into an M, checks its
// validate tags, and calls h; an invalid message is answered with an error
// message and the connection stays open. On panics if name is registered
// twice on the route.
//
//	wsapi.On(chat, "chat.send", func(ctx context.Context, ws *wsapi.Conn, msg ChatSend) error { ... })
func On[M any](e *Endpoint, name string, h func(ctx context.Context, ws *Conn, msg M) error) {
	if h == nil {
		panic(fmt.Sprintf("wsapi: %s: On %q: nil handler", callerSite(), name))
	}
	mh := &messageHandler{
		info: MessageInfo{Name: name, Type: reflect.TypeFor[M]()},
		invoke: func(ctx context.Context, c *Conn, data []byte) error {
			var msg M
			if err := json.Unmarshal(data, &msg); err != nil {
				return jsonError(err)
			}
			if err := c.app.checker.messageErrors(&msg); err != nil {
				return err
			}
			return h(ctx, c, msg)
		},
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if slices.ContainsFunc(e.receives, func(x *messageHandler) bool { return x.info.Name == name }) {
		panic(fmt.Sprintf("wsapi: %s: On: message type %q is already handled on %q", callerSite(), name, e.pattern))
	}
	e.receives = append(e.receives, mh)
}

// Emits declares that the route sends messages of type name shaped as M, so
// that its documentation shows them. It does not change what is sent; send
// them with Typed.
func Emits[M any](e *Endpoint, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sends = append(e.sends, MessageInfo{Name: name, Type: reflect.TypeFor[M]()})
}

// Typed returns v as a JSON object with a "type" field set to name, ahead of
// v's own fields, for SendJSON and the Broadcast methods:
//
//	ws.SendJSON(ctx, wsapi.Typed("chat.message", ChatMessage{From: "ann", Text: "hi"}))
//	// {"type":"chat.message","from":"ann","text":"hi"}
//
// v must encode as a JSON object. Routes with another discriminator use
// TypedAs.
func Typed(name string, v any) json.Marshaler { return TypedAs("type", name, v) }

// TypedAs is Typed with a discriminator field other than "type".
func TypedAs(field, name string, v any) json.Marshaler { return typedMessage{field, name, v} }

type typedMessage struct {
	field, name string
	v           any
}

func (t typedMessage) MarshalJSON() ([]byte, error) {
	field, err := json.Marshal(t.field)
	if err != nil {
		return nil, err
	}
	name, err := json.Marshal(t.name)
	if err != nil {
		return nil, err
	}
	out := append(append(append([]byte{'{'}, field...), ':'), name...)
	if t.v == nil {
		return append(out, '}'), nil
	}
	buf, err := marshalJSON(t.v)
	if err != nil {
		return nil, err
	}
	defer putJSONBuffer(buf)
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("wsapi: Typed(%q): the value must encode as a JSON object, not %.20s", t.name, body)
	}
	if len(bytes.TrimSpace(body[1:len(body)-1])) > 0 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// Dependency returns this connection's instance of the dependency (or params
// struct) type T, as resolved before the handshake, or nil when the route
// has none. It lets message handlers registered with On reach the route's
// params and dependencies:
//
//	p := wsapi.Dependency[ChatParams](ws)
func Dependency[T any](c *Conn) *T {
	if c.deps == nil {
		return nil
	}
	t := reflect.TypeFor[T]()
	for _, d := range c.deps.done {
		if d.plan.typ == t {
			return d.ptr.Interface().(*T)
		}
	}
	return nil
}

// endpointState is the part of an Endpoint that typed routing and
// documentation use.
type endpointState struct {
	mu       sync.Mutex // guards the fields below
	opts     EndpointOptions
	receives []*messageHandler
	sends    []MessageInfo
}
