package asyncapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/asyncapi"
	"github.com/wsapi-go/wsapi/asyncapi/asyncapitest"
)

// doc builds app's document, checks it against the AsyncAPI 3.0.0 JSON
// Schema and its YAML against its JSON, and returns it decoded.
func doc(t *testing.T, app *wsapi.App, info asyncapi.Info) map[string]any {
	t.Helper()
	spec := asyncapitest.Check(t, app, info)
	data, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	checkRefs(t, m, m)
	return m
}

// at returns the value at the path of keys (and array indexes) in v.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object: %v", path[:i], v)
			}
			if v, ok = m[k]; !ok {
				keys := slices.Sorted(func(yield func(string) bool) {
					for k := range m {
						if !yield(k) {
							return
						}
					}
				})
				t.Fatalf("%v: no %q among %q", path[:i], k, keys)
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("%v: no item %d in %v", path[:i], k, v)
			}
			v = a[k]
		}
	}
	return v
}

// eq checks that the value at path is the JSON value want.
func eq(t *testing.T, v any, want string, path ...any) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %s: %v", want, err)
	}
	if got := at(t, v, path...); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%v = %s, want %s", path, g, want)
	}
}

func has(t *testing.T, v any, path ...any) bool {
	t.Helper()
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[k.(string)]; !ok {
			return false
		}
	}
	return true
}

// checkRefs checks that every $ref in v points at something in root.
func checkRefs(t *testing.T, root, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			target := root
			for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
				m, ok := target.(map[string]any)
				if !ok || m[part] == nil {
					t.Errorf("$ref %q does not resolve", ref)
					return
				}
				target = m[part]
			}
		}
		for _, c := range v {
			checkRefs(t, root, c)
		}
	case []any:
		for _, c := range v {
			checkRefs(t, root, c)
		}
	}
}

func TestDocumentChannels(t *testing.T) {
	d := doc(t, newTestApp(), asyncapi.Info{Title: "Test", Version: "2.0.0", Description: "All of it."})
	eq(t, d, `"3.0.0"`, "asyncapi")
	eq(t, d, `{"title":"Test","version":"2.0.0","description":"All of it."}`, "info")
	eq(t, d, `"application/json"`, "defaultContentType")

	var addrs []string
	for _, id := range []string{"games_game_ws", "v1_chat_room", "echo", "files_path"} {
		addrs = append(addrs, at(t, d, "channels", id, "address").(string))
	}
	if got := strings.Join(addrs, " "); got != "/games/{game}/ws /v1/chat/{room} /echo /files/{path}" {
		t.Errorf("addresses %s", got)
	}
	game := at(t, d, "channels", "games_game_ws")
	eq(t, game, `"Game"`, "title")
	eq(t, game, `"Play a game of chess."`, "summary")
	eq(t, game, `"Moves go to the other player.\n\nSee **rules**."`, "description")
	eq(t, game, `[{"name":"games"}]`, "tags")
	eq(t, game, `{"game":{"description":"The game's id.","examples":["chess42"]}}`, "parameters")
	eq(t, d, `{"room":{"enum":["lobby","games"]}}`, "channels", "v1_chat_room", "parameters")
	eq(t, d, `{"path":{}}`, "channels", "files_path", "parameters")
	eq(t, d, `"Chat room"`, "channels", "v1_chat_room", "title")
}

func TestDocumentHandshakeBinding(t *testing.T) {
	d := doc(t, newTestApp(), asyncapi.Info{})
	eq(t, d, `{"title":"WebSocket API","version":"1.0.0"}`, "info")
	ws := at(t, d, "channels", "games_game_ws", "bindings", "ws")
	eq(t, ws, `"GET"`, "method")
	eq(t, ws, `"0.1.0"`, "bindingVersion")

	q := at(t, ws, "query")
	eq(t, q, `"object"`, "type")
	eq(t, q, `["player"]`, "required")
	eq(t, q, `{"type":"string","enum":["1","2"],"description":"The protocol version.","default":"1"}`, "properties", "v")
	eq(t, q, `{"type":"string","maxLength":20,"minLength":2,"examples":["ann"]}`, "properties", "player")
	eq(t, q, `{"type":"string","format":"email"}`, "properties", "email")
	eq(t, q, `{"items":{"type":"integer","maximum":8,"minimum":1},"type":"array","maxItems":4}`, "properties", "seat")
	eq(t, q, `{"type":"integer","maximum":10,"minimum":1,"default":3}`, "properties", "level")
	eq(t, q, `"30s"`, "properties", "timeout", "default")
	eq(t, q, `"string"`, "properties", "timeout", "type")

	h := at(t, ws, "headers")
	eq(t, h, `{"type":"string","enum":["eu","us"],"default":"eu"}`, "properties", "X-Region") // app-wide Depends
	eq(t, h, `{"type":"string","description":"An API token."}`, "properties", "X-Token")
	if desc := at(t, h, "properties", "Sec-WebSocket-Protocol", "description").(string); !strings.Contains(desc, "`ticket, <value>`") ||
		!strings.Contains(desc, "A one-time ticket.") {
		t.Errorf("Sec-WebSocket-Protocol: %s", desc)
	}
	if desc := at(t, h, "properties", "Cookie", "description").(string); !strings.Contains(desc, "- `session`: The session cookie.") {
		t.Errorf("Cookie: %s", desc)
	}
	if has(t, h, "required") {
		t.Errorf("optional headers are required: %v", at(t, h, "required"))
	}
	eq(t, ws, `{"properties":{"session":{"type":"string","description":"The session cookie."}},"type":"object"}`, "x-cookies")

	// A route without query values has no query schema.
	if has(t, d, "channels", "echo", "bindings", "ws", "query") {
		t.Error("/echo has a query schema")
	}
}

func TestDocumentMessages(t *testing.T) {
	d := doc(t, newTestApp(), asyncapi.Info{})
	msgs := at(t, d, "components", "messages")
	eq(t, d, `{"move":{"$ref":"#/components/messages/move"},"say":{"$ref":"#/components/messages/say"},`+
		`"register":{"$ref":"#/components/messages/register"},"resign":{"$ref":"#/components/messages/resign"},`+
		`"moved":{"$ref":"#/components/messages/moved"},"board":{"$ref":"#/components/messages/board"},`+
		`"said":{"$ref":"#/components/messages/said"},"problem":{"$ref":"#/components/messages/problem"}}`,
		"channels", "games_game_ws", "messages")

	// The discriminator is the first property, constant and required; the
	// route's custom one here.
	move := at(t, msgs, "move", "payload")
	eq(t, move, `{"type":"string","const":"move"}`, "properties", "kind")
	eq(t, move, `["kind","from","to"]`, "required")
	eq(t, move, `{"$ref":"#/components/schemas/Square"}`, "properties", "from")
	eq(t, move, `["queen","rook","bishop","knight"]`, "properties", "promote", "enum")
	eq(t, msgs, `"move"`, "move", "name")
	eq(t, msgs, `"move"`, "move", "title")
	eq(t, d, `{"properties":{"file":{"type":"string","enum":["a","b","c","d","e","f","g","h"],"maxLength":1,"minLength":1},`+
		`"rank":{"type":"integer","maximum":8,"minimum":1}},"type":"object","required":["file"]}`, "components", "schemas", "Square")

	say := at(t, msgs, "say", "payload")
	eq(t, say, `["kind","text"]`, "required")
	eq(t, say, `{"type":"string","maxLength":200,"minLength":1,"description":"What to say.","examples":["good game"]}`, "properties", "text")
	eq(t, say, `{"items":{"type":"string","format":"uuid"},"type":"array","maxItems":3}`, "properties", "to")

	reg := at(t, msgs, "register", "payload", "properties")
	eq(t, reg, `"email"`, "email", "format")
	eq(t, reg, `"uuid"`, "id", "format")
	eq(t, reg, `"uri"`, "home", "format")
	eq(t, reg, `{"type":"integer","exclusiveMaximum":130,"exclusiveMinimum":12}`, "age")
	eq(t, reg, `{"allOf":[{"pattern":"^[a-zA-Z0-9]+$"}],"type":"string","pattern":"^G-"}`, "code")
	eq(t, msgs, `{"properties":{"kind":{"type":"string","const":"resign"}},"type":"object","required":["kind"]}`, "resign", "payload")

	// Sent messages: embedded structs flatten, named types are shared.
	moved := at(t, msgs, "moved", "payload")
	eq(t, moved, `["kind","from","to"]`, "required")
	eq(t, moved, `{"type":"string","format":"date-time"}`, "properties", "at")
	board := at(t, msgs, "board", "payload", "properties")
	eq(t, board, `["white","black"]`, "turn", "enum")
	eq(t, board, `{"type":"integer","minimum":0}`, "meta", "properties", "moves")
	eq(t, board, `{"$ref":"#/components/schemas/Moved"}`, "last")
	eq(t, d, `["from","to"]`, "components", "schemas", "Moved", "required")

	// The error reply, with the route's error type and discriminator.
	problem := at(t, msgs, "problem", "payload")
	eq(t, problem, `{"type":"string","const":"problem"}`, "properties", "kind")
	eq(t, problem, `["kind","detail"]`, "required")
	eq(t, problem, `{"$ref":"#/components/schemas/FieldError"}`, "properties", "detail", "items")
	eq(t, d, `["loc","msg","type"]`, "components", "schemas", "FieldError", "required")

	// The default discriminator, and a message of the same name on two
	// routes kept apart when they differ.
	eq(t, msgs, `{"type":"string","const":"chat.send"}`, "chat.send", "payload", "properties", "type")
	eq(t, msgs, `{"type":"string","const":"error"}`, "error", "payload", "properties", "type")
}

func TestDocumentOperations(t *testing.T) {
	d := doc(t, newTestApp(), asyncapi.Info{})
	ops := at(t, d, "operations").(map[string]any)
	var got []string
	for id, op := range ops {
		op := op.(map[string]any)
		var msgs []string
		for _, m := range asSlice(op["messages"]) {
			msgs = append(msgs, at(t, m, "$ref").(string))
		}
		got = append(got, fmt.Sprintf("%s %s %s %v", id, op["action"], at(t, op, "channel", "$ref"), msgs))
	}
	slices.Sort(got)
	want := []string{
		"board send #/channels/games_game_ws [#/channels/games_game_ws/messages/board]",
		"chat.message send #/channels/v1_chat_room [#/channels/v1_chat_room/messages/chat.message]",
		"chat.send receive #/channels/v1_chat_room [#/channels/v1_chat_room/messages/chat.send]",
		"echo receive #/channels/echo []",
		"error send #/channels/v1_chat_room [#/channels/v1_chat_room/messages/error]",
		"files_path receive #/channels/files_path []",
		"move receive #/channels/games_game_ws [#/channels/games_game_ws/messages/move]",
		"moved send #/channels/games_game_ws [#/channels/games_game_ws/messages/moved]",
		"problem send #/channels/games_game_ws [#/channels/games_game_ws/messages/problem]",
		"register receive #/channels/games_game_ws [#/channels/games_game_ws/messages/register]",
		"resign receive #/channels/games_game_ws [#/channels/games_game_ws/messages/resign]",
		"said send #/channels/games_game_ws [#/channels/games_game_ws/messages/said]",
		"say receive #/channels/games_game_ws [#/channels/games_game_ws/messages/say]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("operations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	eq(t, ops, `[{"name":"games"}]`, "move", "tags")
	eq(t, ops, `"Receives move"`, "move", "title")
	eq(t, ops, `"Connect to /echo"`, "echo", "title")
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func TestDocumentKeepsRegistrationOrder(t *testing.T) {
	spec, err := asyncapi.Document(newTestApp(), asyncapi.Info{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(spec.Channels.Keys(), " "); got != "games_game_ws v1_chat_room echo files_path" {
		t.Errorf("channels %s", got)
	}
	ch, _ := spec.Channels.Get("games_game_ws")
	if got := strings.Join(ch.Messages.Keys(), " "); got != "move say register resign moved board said problem" {
		t.Errorf("messages %s", got)
	}
	m, _ := spec.Components.Messages.Get("move")
	var props []string
	for k := range m.Payload.Properties.KeysFromOldest() {
		props = append(props, k)
	}
	if got := strings.Join(props, " "); got != "kind from to promote" {
		t.Errorf("properties %s", got)
	}
}

func TestDocumentInfo(t *testing.T) {
	app := wsapi.New(nil)
	ep := app.WS("/ws", serve)
	wsapi.On(ep, "chat.send", nop[ChatSend])
	d := doc(t, app, asyncapi.Info{
		Title: "Chat", Version: "1.2.3", ID: "urn:example:chat", TermsOfService: "https://example.com/terms",
		Contact: &asyncapi.Contact{Name: "Ops", Email: "ops@example.com"},
		License: &asyncapi.License{Name: "Apache-2.0"},
		Tags:    []asyncapi.Tag{{Name: "chat"}},
		Servers: map[string]asyncapi.Server{
			"production": {Host: "chat.example.com", Protocol: "wss"},
			"local":      {Host: "localhost:8000", Protocol: "ws", Description: "go run ./examples/typed"},
		},
		Messages: map[string]asyncapi.MessageDoc{
			"chat.send": {Title: "Send a message", Summary: "Say something.", Description: "Goes to the **room**.",
				Examples: []any{ChatSend{Text: "hi"}}},
		},
	})
	eq(t, d, `"urn:example:chat"`, "id")
	eq(t, d, `{"name":"Ops","email":"ops@example.com"}`, "info", "contact")
	eq(t, d, `{"local":{"host":"localhost:8000","protocol":"ws","description":"go run ./examples/typed"},`+
		`"production":{"host":"chat.example.com","protocol":"wss"}}`, "servers")
	m := at(t, d, "components", "messages", "chat.send")
	eq(t, m, `"Send a message"`, "title")
	eq(t, m, `"Say something."`, "summary")
	eq(t, m, `"Goes to the **room**."`, "description")
	eq(t, m, `[{"payload":{"type":"chat.send","text":"hi"}}]`, "examples")
	eq(t, d, `"Say something."`, "operations", "chat.send", "summary")
}

func TestDocumentNameClashes(t *testing.T) {
	// Two types with one name get two schemas; two routes with a message
	// of one name get one message each unless they are the same.
	type Item struct {
		A int `json:"a"`
	}
	type First struct {
		Item Item `json:"item"`
	}
	type Second struct {
		Items []struct {
			C bool `json:"c"`
		} `json:"items"`
	}
	app := wsapi.New(nil)
	a := app.WS("/a", serve)
	wsapi.On(a, "x", nop[First])
	wsapi.On(a, "same", nop[ChatSend])
	b := app.WS("/b", serve)
	wsapi.On(b, "x", nop[Second])
	wsapi.On(b, "same", nop[ChatSend])
	wsapi.Emits[ChatSend](b, "same") // both ways on one route
	d := doc(t, app, asyncapi.Info{})
	eq(t, d, `{"$ref":"#/components/messages/same"}`, "channels", "b", "messages", "same_2")
	eq(t, d, `"send"`, "operations", "same_2", "action")
	eq(t, d, `{"$ref":"#/components/messages/x"}`, "channels", "a", "messages", "x")
	eq(t, d, `{"$ref":"#/components/messages/b.x"}`, "channels", "b", "messages", "x")
	eq(t, d, `{"$ref":"#/components/messages/same"}`, "channels", "b", "messages", "same")
	eq(t, d, `{"$ref":"#/channels/b/messages/x"}`, "operations", "b.x", "messages", 0)
	eq(t, d, `{"$ref":"#/channels/b/messages/same"}`, "operations", "b.same", "messages", 0)
	eq(t, d, `{"$ref":"#/channels/a/messages/same"}`, "operations", "same", "messages", 0)
	eq(t, d, `{"type":"boolean"}`, "components", "messages", "b.x", "payload", "properties", "items", "items", "properties", "c")
	eq(t, d, `{"$ref":"#/components/schemas/Item"}`, "components", "messages", "x", "payload", "properties", "item")
}

func TestDocumentSameTypeNamesInOnePackage(t *testing.T) {
	type Point struct {
		X int `json:"x"`
	}
	app := wsapi.New(nil)
	ep := app.WS("/ws", serve)
	wsapi.On(ep, "a", nop[struct {
		P Point `json:"p"`
	}])
	onOtherPoint(ep)
	d := doc(t, app, asyncapi.Info{})
	ra := at(t, d, "components", "messages", "a", "payload", "properties", "p", "$ref").(string)
	rb := at(t, d, "components", "messages", "b", "payload", "properties", "p", "$ref").(string)
	if ra != "#/components/schemas/Point" || rb != "#/components/schemas/asyncapi_test.Point" {
		t.Fatalf("refs %s and %s", ra, rb)
	}
	eq(t, d, `{"x":{"type":"integer"}}`, "components", "schemas", "Point", "properties")
	eq(t, d, `{"y":{"type":"string"}}`, "components", "schemas", "asyncapi_test.Point", "properties")
}

// onOtherPoint registers a message with another type named Point.
func onOtherPoint(ep *wsapi.Endpoint) {
	type Point struct {
		Y string `json:"y"`
	}
	wsapi.On(ep, "b", nop[struct {
		P Point `json:"p"`
	}])
}

func TestDocumentRejectsUnsupportedTypes(t *testing.T) {
	app := wsapi.New(nil)
	ep := app.WS("/ws", serve)
	wsapi.On(ep, "bad", nop[struct {
		C chan int `json:"c"`
	}])
	if _, err := asyncapi.Document(app, asyncapi.Info{}); err == nil || !strings.Contains(err.Error(), `message "bad"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDocumentRecursiveTypes(t *testing.T) {
	app := wsapi.New(nil)
	ep := app.WS("/ws", serve)
	wsapi.Emits[Tree](ep, "tree")
	d := doc(t, app, asyncapi.Info{})
	eq(t, d, `{"items":{"$ref":"#/components/schemas/Tree"},"type":"array"}`, "components", "messages", "tree", "payload", "properties", "children")
	eq(t, d, `{"items":{"$ref":"#/components/schemas/Tree"},"type":"array"}`, "components", "schemas", "Tree", "properties", "children")
}

type Tree struct {
	Name     string `json:"name"`
	Children []Tree `json:"children"`
}

// The other examples' routes, as examples/echo, examples/items and
// examples/chat declare them (they are package main, so they are
// reproduced here): their documents are valid too.

type CookieOrToken struct {
	Session *string `cookie:"session"`
	Token   *string `query:"token"`
	Value   string
}

func (d *CookieOrToken) Resolve(ctx context.Context) error { return nil }

type ItemParams struct {
	ItemID        string `path:"item_id"`
	CookieOrToken CookieOrToken
}

type ChatParams struct {
	ClientID int `path:"client_id"`
}

func TestExampleAppsDocuments(t *testing.T) {
	t.Run("echo", func(t *testing.T) {
		app := wsapi.New(nil)
		app.WS("/ws", loop)
		d := doc(t, app, asyncapi.Info{Title: "echo"})
		eq(t, d, `"/ws"`, "channels", "ws", "address")
		eq(t, d, `"receive"`, "operations", "ws", "action")
	})
	t.Run("deps", func(t *testing.T) {
		app := wsapi.New(nil)
		wsapi.Route(app, "/items/{item_id}/ws", func(ctx context.Context, ws *wsapi.Conn, p *ItemParams) error { return loop(ctx, ws) })
		d := doc(t, app, asyncapi.Info{Title: "deps"})
		ch := at(t, d, "channels", "items_item_id_ws")
		eq(t, ch, `"/items/{item_id}/ws"`, "address")
		eq(t, ch, `{"item_id":{}}`, "parameters")
		eq(t, ch, `{"properties":{"token":{"type":"string"}},"type":"object"}`, "bindings", "ws", "query")
		eq(t, ch, `{"properties":{"session":{"type":"string"}},"type":"object"}`, "bindings", "ws", "x-cookies")
		eq(t, ch, `"The cookies the handshake reads (see x-cookies):\n\n- `+"`session`"+`"`, "bindings", "ws", "headers", "properties", "Cookie", "description")
	})
	t.Run("chat", func(t *testing.T) {
		app := wsapi.New(nil)
		wsapi.Route(app, "/ws/{client_id}", func(ctx context.Context, ws *wsapi.Conn, p *ChatParams) error { return loop(ctx, ws) })
		d := doc(t, app, asyncapi.Info{Title: "chat"})
		eq(t, d, `"/ws/{client_id}"`, "channels", "ws_client_id", "address")
		eq(t, d, `{"client_id":{}}`, "channels", "ws_client_id", "parameters")
	})
}

func TestValidateRejectsInvalidDocuments(t *testing.T) {
	// The check is not vacuous: the official schema refuses these.
	for _, bad := range []string{
		`{"asyncapi":"3.0.0"}`,
		`{"asyncapi":"2.6.0","info":{"title":"x","version":"1"}}`,
		`{"asyncapi":"3.0.0","info":{"title":"x","version":"1"},"operations":{"o":{"action":"publish","channel":{"$ref":"#/channels/c"}}}}`,
		`{"asyncapi":"3.0.0","info":{"title":"x","version":"1"},"channels":{"c":{"address":"/ws","bindings":{"ws":{"method":"PUT"}}}}}`,
		`{"asyncapi":"3.0.0","info":{"title":"x","version":"1"},"channels":{"c":{"address":"/ws","parameters":{"p":{"enum":[1]}}}}}`,
	} {
		if err := asyncapitest.Validate([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if err := asyncapitest.Validate([]byte(`{"asyncapi":"3.0.0","info":{"title":"x","version":"1"}}`)); err != nil {
		t.Errorf("refused a minimal document: %v", err)
	}
}

func TestYAMLIsTheJSONDocument(t *testing.T) {
	spec, err := asyncapi.Document(newTestApp(), asyncapi.Info{Description: "Line one.\nLine two: \"quoted\" # not a comment"})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := spec.JSON()
	y, err := spec.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if err := asyncapitest.SameDocument(j, y); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"asyncapi: 3.0.0\n", "  description: |-\n    Line one.\n", "- \"1\"\n"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("the YAML lacks %q:\n%s", want, y)
		}
	}
	if strings.Contains(string(y), "{\"") {
		t.Errorf("the YAML has JSON flow style:\n%s", y)
	}
}
