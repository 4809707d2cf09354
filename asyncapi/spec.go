package asyncapi

import (
	"bytes"
	"encoding/json"
	"iter"
	"slices"

	"github.com/invopop/jsonschema"
)

// Version is the AsyncAPI version of the documents this package writes.
const Version = "3.0.0"

// Spec is an AsyncAPI 3.0 document. Document builds one from an app's
// routes; its fields follow the specification's objects, and its maps keep
// the order in which the routes and messages were registered.
type Spec struct {
	AsyncAPI           string           `json:"asyncapi"`
	ID                 string           `json:"id,omitempty"`
	Info               InfoObject       `json:"info"`
	Servers            *Map[*Server]    `json:"servers,omitempty"`
	DefaultContentType string           `json:"defaultContentType,omitempty"`
	Channels           *Map[*Channel]   `json:"channels,omitempty"`
	Operations         *Map[*Operation] `json:"operations,omitempty"`
	Components         *Components      `json:"components,omitempty"`
}

// InfoObject is the document's info object.
type InfoObject struct {
	Title          string   `json:"title"`
	Version        string   `json:"version"`
	Description    string   `json:"description,omitempty"`
	TermsOfService string   `json:"termsOfService,omitempty"`
	Contact        *Contact `json:"contact,omitempty"`
	License        *License `json:"license,omitempty"`
	Tags           []Tag    `json:"tags,omitempty"`
}

// Contact is the contact information of the API.
type Contact struct {
	Name  string `json:"name,omitempty"`
	URL   string `json:"url,omitempty"`
	Email string `json:"email,omitempty"`
}

// License is the licence of the API.
type License struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// Tag groups channels and operations.
type Tag struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Server is where the app listens: Host is "host[:port]", Protocol "ws" or
// "wss", Pathname the prefix the app is mounted under, if any.
type Server struct {
	Host        string `json:"host"`
	Protocol    string `json:"protocol"`
	Pathname    string `json:"pathname,omitempty"`
	Title       string `json:"title,omitempty"`
	Summary     string `json:"summary,omitempty"`
	Description string `json:"description,omitempty"`
}

// Channel is one WebSocket route: its address (the route's path, with
// {name} for each path wildcard), its parameters, the messages exchanged on
// it, and the handshake's query and header parameters in Bindings.
type Channel struct {
	Address     string           `json:"address"`
	Title       string           `json:"title,omitempty"`
	Summary     string           `json:"summary,omitempty"`
	Description string           `json:"description,omitempty"`
	Tags        []Tag            `json:"tags,omitempty"`
	Parameters  *Map[*Parameter] `json:"parameters,omitempty"`
	Messages    *Map[Reference]  `json:"messages,omitempty"` // to components.messages
	Bindings    *ChannelBindings `json:"bindings,omitempty"`
}

// Parameter describes a path wildcard of a channel address. AsyncAPI 3.0
// parameters are strings: Enum, Default and Examples are their text.
type Parameter struct {
	Description string   `json:"description,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Default     string   `json:"default,omitempty"`
	Examples    []string `json:"examples,omitempty"`
}

// ChannelBindings holds the WebSocket binding of a channel.
type ChannelBindings struct {
	WS *WebSocketBinding `json:"ws,omitempty"`
}

// WebSocketBinding is the WebSockets channel binding 0.1.0: the handshake's
// method and the JSON Schemas of its query and header parameters. Cookies
// is an extension (x-cookies) with the schema of the cookies the handshake
// reads; they are also listed under the Cookie header.
type WebSocketBinding struct {
	Method         string             `json:"method,omitempty"`
	Query          *jsonschema.Schema `json:"query,omitempty"`
	Headers        *jsonschema.Schema `json:"headers,omitempty"`
	Cookies        *jsonschema.Schema `json:"x-cookies,omitempty"`
	BindingVersion string             `json:"bindingVersion,omitempty"`
}

// Message is a message type of a channel. Name is the value of the
// discriminator field that identifies it; Payload is the JSON Schema of
// the whole message, the discriminator included.
type Message struct {
	Name        string             `json:"name,omitempty"`
	Title       string             `json:"title,omitempty"`
	Summary     string             `json:"summary,omitempty"`
	Description string             `json:"description,omitempty"`
	ContentType string             `json:"contentType,omitempty"`
	Payload     *jsonschema.Schema `json:"payload,omitempty"`
	Examples    []MessageExample   `json:"examples,omitempty"`
}

// MessageExample is an example of a message.
type MessageExample struct {
	Name    string `json:"name,omitempty"`
	Summary string `json:"summary,omitempty"`
	Payload any    `json:"payload,omitempty"`
}

// Operation is something the app does on a channel. Action is "receive"
// for the messages the app receives from clients (those registered with
// wsapi.On) and "send" for those it sends (declared with wsapi.Emits, and
// the error reply).
type Operation struct {
	Action      string      `json:"action"`
	Channel     Reference   `json:"channel"`
	Title       string      `json:"title,omitempty"`
	Summary     string      `json:"summary,omitempty"`
	Description string      `json:"description,omitempty"`
	Tags        []Tag       `json:"tags,omitempty"`
	Messages    []Reference `json:"messages,omitempty"`
}

// Reference is a JSON reference, such as "#/channels/chat".
type Reference struct {
	Ref string `json:"$ref"`
}

// Components holds the messages of the channels, and the JSON Schemas that
// payloads and bindings reference, one per named Go type.
type Components struct {
	Schemas  *Map[*jsonschema.Schema] `json:"schemas,omitempty"`
	Messages *Map[*Message]           `json:"messages,omitempty"`
}

// Map is a JSON object that keeps the order in which its keys were set.
// The zero value is an empty map ready to use.
type Map[V any] struct {
	keys []string
	m    map[string]V
}

// NewMap returns an empty Map.
func NewMap[V any]() *Map[V] { return &Map[V]{} }

// Set sets the value of key, keeping the place of a key already set.
func (m *Map[V]) Set(key string, v V) {
	if m.m == nil {
		m.m = map[string]V{}
	}
	if _, ok := m.m[key]; !ok {
		m.keys = append(m.keys, key)
	}
	m.m[key] = v
}

// Get returns the value of key.
func (m *Map[V]) Get(key string) (V, bool) {
	if m == nil {
		var zero V
		return zero, false
	}
	v, ok := m.m[key]
	return v, ok
}

// Delete removes key.
func (m *Map[V]) Delete(key string) {
	if m == nil {
		return
	}
	if _, ok := m.m[key]; ok {
		delete(m.m, key)
		m.keys = slices.DeleteFunc(m.keys, func(k string) bool { return k == key })
	}
}

// Len returns the number of keys.
func (m *Map[V]) Len() int {
	if m == nil {
		return 0
	}
	return len(m.keys)
}

// Keys returns the keys in order.
func (m *Map[V]) Keys() []string {
	if m == nil {
		return nil
	}
	return slices.Clone(m.keys)
}

// All iterates over the keys and values in order.
func (m *Map[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if m == nil {
			return
		}
		for _, k := range m.keys {
			if !yield(k, m.m[k]) {
				return
			}
		}
	}
}

// MarshalJSON writes the map as a JSON object, keys in order.
func (m *Map[V]) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		val, err := json.Marshal(m.m[k])
		if err != nil {
			return nil, err
		}
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
