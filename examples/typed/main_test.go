package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wsapi-go/wsapi/examples/internal/runtest"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/asyncapi"
	"github.com/wsapi-go/wsapi/asyncapi/asyncapitest"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// msg is any message the server sends.
type msg map[string]any

// spec is the app's AsyncAPI document, to check the messages the tests
// receive against.
var spec = sync.OnceValue(func() *asyncapi.Spec {
	s, err := asyncapi.Document(newApp(), info)
	if err != nil {
		panic(err)
	}
	return s
})

// receive reads a message, and checks it against its schema in the
// app's AsyncAPI document.
func receive(t *testing.T, ws *wsapitest.Conn) msg {
	t.Helper()
	data := ws.ReceiveText()
	var m msg
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	typ, _ := m["type"].(string)
	if err := asyncapitest.ValidateMessage(spec(), typ, []byte(data)); err != nil {
		t.Fatalf("the server sent %s, which its AsyncAPI document does not allow: %v", data, err)
	}
	return m
}

// expect receives a message and checks the fields of want in it.
func expect(t *testing.T, ws *wsapitest.Conn, want msg) msg {
	t.Helper()
	got := receive(t, ws)
	for k, v := range want {
		g, _ := json.Marshal(got[k])
		w, _ := json.Marshal(v)
		if string(g) != string(w) {
			t.Fatalf("got %v, want %s = %s", got, k, w)
		}
	}
	return got
}

// connect opens a chat connection as name and reads its welcome.
func connect(t *testing.T, c *wsapitest.Client, query string) *wsapitest.Conn {
	t.Helper()
	ws := c.Connect("/chat?"+query, nil)
	expect(t, ws, msg{"type": "welcome"})
	return ws
}

func TestTwoClientsInARoom(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	ann := connect(t, c, "name=ann")
	bob := connect(t, c, "name=bob")
	expect(t, ann, msg{"type": "presence", "room": "lobby", "name": "bob", "event": "joined"})

	// docs:start test
	bob.SendJSON(map[string]any{"type": "say", "room": "lobby", "text": "hi"})
	for _, ws := range []*wsapitest.Conn{ann, bob} {
		expect(t, ws, msg{"type": "message", "room": "lobby", "from": "bob", "text": "hi"})
	}
	// docs:end test

	ann.SendJSON(msg{"type": "react", "room": "lobby", "message_id": 1, "emoji": "🎉"})
	for _, ws := range []*wsapitest.Conn{ann, bob} {
		expect(t, ws, msg{"type": "reaction", "room": "lobby", "message_id": 1, "from": "ann", "emoji": "🎉"})
	}

	ann.SendJSON(msg{"type": "nick", "name": "annie"})
	for _, ws := range []*wsapitest.Conn{ann, bob} {
		expect(t, ws, msg{"type": "presence", "room": "lobby", "name": "annie", "was": "ann", "event": "renamed"})
	}
	ann.SendJSON(msg{"type": "say", "room": "lobby", "text": "renamed"})
	expect(t, bob, msg{"type": "message", "from": "annie", "text": "renamed"})
	expect(t, ann, msg{"type": "message", "from": "annie"})

	ann.Close()
	expect(t, bob, msg{"type": "presence", "room": "lobby", "name": "annie", "event": "left"})
	bob.Close()
}

func TestJoinAndLeaveRooms(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	ann := connect(t, c, "name=ann&room=games")
	bob := connect(t, c, "name=bob")

	bob.SendJSON(msg{"type": "join", "room": "games"})
	expect(t, bob, msg{"type": "joined", "room": "games", "members": 2})
	expect(t, ann, msg{"type": "presence", "room": "games", "name": "bob", "event": "joined"})

	// A message to a room reaches its members only.
	carol := connect(t, c, "name=carol")
	expect(t, bob, msg{"type": "presence", "room": "lobby", "name": "carol"})
	ann.SendJSON(msg{"type": "say", "room": "games", "text": "gg"})
	expect(t, ann, msg{"type": "message", "room": "games", "text": "gg"})
	expect(t, bob, msg{"type": "message", "room": "games", "text": "gg"})
	carol.SendJSON(msg{"type": "say", "room": "lobby", "text": "anyone?"})
	expect(t, carol, msg{"type": "message", "room": "lobby", "text": "anyone?"})
	expect(t, bob, msg{"type": "message", "room": "lobby", "text": "anyone?"}) // not ann's

	bob.SendJSON(msg{"type": "leave", "room": "games"})
	expect(t, ann, msg{"type": "presence", "room": "games", "name": "bob", "event": "left"})
	bob.SendJSON(msg{"type": "say", "room": "games", "text": "still there?"})
	expect(t, bob, msg{"type": "error", "detail": []msg{{"loc": []string{"message", "room"}, "msg": "join room games first", "type": "not_allowed"}}})
	bob.SendJSON(msg{"type": "leave", "room": "games"})
	expect(t, bob, msg{"type": "error", "detail": []msg{{"loc": []string{"message", "room"}, "msg": "you are not in room games", "type": "not_allowed"}}})
	bob.SendJSON(msg{"type": "join", "room": "lobby"})
	expect(t, bob, msg{"type": "error", "detail": []msg{{"loc": []string{"message", "room"}, "msg": "you are in room lobby already", "type": "not_allowed"}}})
	for _, ws := range []*wsapitest.Conn{ann, bob, carol} {
		ws.Close()
	}
}

func TestInvalidMessagesAreAnsweredWithoutClosing(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	ws := connect(t, c, "name=ann")
	for _, tt := range []struct {
		send string
		want string
	}{
		// Each of these is invalid by the AsyncAPI document too, but for
		// the message ids, which only the server knows.
		{`{"type":"say","room":"lobby","text":""}`,
			`{"type":"error","detail":[{"loc":["message","text"],"msg":"text is a required field","type":"required"}]}`},
		{`{"type":"join","room":"no spaces"}`,
			`{"type":"error","detail":[{"loc":["message","room"],"msg":"room can only contain alphanumeric characters","type":"alphanum"}]}`},
		{`{"type":"react","room":"lobby","message_id":1,"emoji":"💩"}`,
			`{"type":"error","detail":[{"loc":["message","emoji"],"msg":"emoji must be one of [👍 ❤️ 😂 🎉]","type":"oneof"}]}`},
		{`{"type":"react","room":"lobby","message_id":99,"emoji":"👍"}`,
			`{"type":"error","detail":[{"loc":["message","message_id"],"msg":"there is no message 99","type":"not_allowed"}]}`},
		{`{"type":"nick","name":5}`,
			`{"type":"error","detail":[{"loc":["message","name"],"msg":"expected string, got JSON number","type":"type_error"}]}`},
		{`{"type":"dance"}`,
			`{"type":"error","detail":[{"loc":["message","type"],"msg":"unknown message type \"dance\"","type":"unknown_type"}]}`},
		{`{"room":"lobby"}`,
			`{"type":"error","detail":[{"loc":["message","type"],"msg":"the message needs a string \"type\" field naming its type","type":"missing"}]}`},
	} {
		ws.SendText(tt.send)
		if got := ws.ReceiveText(); got != tt.want {
			t.Errorf("sent %s\ngot  %s\nwant %s", tt.send, got, tt.want)
		} else if err := asyncapitest.ValidateMessage(spec(), "error", []byte(got)); err != nil {
			t.Error(err)
		}
		var sent msg
		json.Unmarshal([]byte(tt.send), &sent)
		if typ, _ := sent["type"].(string); !strings.Contains(tt.send, "99") &&
			asyncapitest.ValidateMessage(spec(), typ, []byte(tt.send)) == nil {
			t.Errorf("the AsyncAPI document allows %s", tt.send)
		}
	}
	ws.SendText(`not json`)
	expect(t, ws, msg{"type": "error"})
	// Still connected.
	ws.SendJSON(msg{"type": "say", "room": "lobby", "text": "still here"})
	expect(t, ws, msg{"type": "message", "text": "still here"})
	ws.Close()
}

func TestHandshakeIsValidated(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	for _, query := range []string{"", "name=a", "name=ann&room=no%20spaces"} {
		_, err := c.Dial("/chat?"+query, nil)
		var he *wsapitest.HandshakeError
		if !errors.As(err, &he) || he.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("?%s: %v", query, err)
		}
	}
}

func TestAsyncAPIDocument(t *testing.T) {
	// docs:start check
	spec := asyncapitest.Check(t, newApp(), info) // valid AsyncAPI 3.0.0, YAML and JSON alike
	// docs:end check
	ch, ok := spec.Channels.Get("chat")
	if !ok || ch.Address != "/chat" || ch.Title != "Chat" {
		t.Fatalf("channels %v", spec.Channels.Keys())
	}
	if got := strings.Join(ch.Messages.Keys(), " "); got != "join say leave nick react welcome joined presence message reaction error" {
		t.Errorf("messages %s", got)
	}
	q := ch.Bindings.WS.Query
	if !strings.Contains(strings.Join(q.Required, ","), "name") {
		t.Errorf("query required %v", q.Required)
	}
	name, _ := q.Properties.Get("name")
	if *name.MinLength != 2 || *name.MaxLength != 20 || name.Pattern != "^[a-zA-Z0-9]+$" {
		t.Errorf("name %+v", name)
	}
	room, _ := q.Properties.Get("room")
	if room.Default != "lobby" {
		t.Errorf("room default %v", room.Default)
	}
	react, _ := spec.Components.Messages.Get("react")
	emoji, _ := react.Payload.Properties.Get("emoji")
	if len(emoji.Enum) != 4 || react.Summary == "" || len(react.Examples) != 1 {
		t.Errorf("react %+v", react)
	}
	typ, _ := react.Payload.Properties.Get("type")
	if typ.Const != "react" || react.Payload.Required[0] != "type" {
		t.Errorf("react type %+v", typ)
	}
	if op, ok := spec.Operations.Get("react"); !ok || op.Action != "receive" {
		t.Errorf("operation react %+v", op)
	}
	if op, ok := spec.Operations.Get("presence"); !ok || op.Action != "send" {
		t.Errorf("operation presence %+v", op)
	}
}

func TestDocumentationIsServed(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	for path, ctype := range map[string]string{
		"/asyncapi.json": "application/json",
		"/asyncapi.yaml": "application/yaml",
		"/asyncapi":      "text/html",
		"/":              "text/html",
	} {
		resp := c.Get(path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) {
			t.Errorf("GET %s = %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	body, _ := io.ReadAll(c.Get("/asyncapi.json").Body)
	if err := asyncapitest.Validate(body); err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(c.Get("/").Body)
	if !strings.Contains(string(page), `location.host + "/chat?name="`) || !strings.Contains(string(page), `href="/asyncapi"`) {
		t.Fatalf("page:\n%s", page)
	}
}

// TestRunShutsDownGracefully runs the program as main does and stops it as
// SIGINT would: open connections are closed with 1001.
func TestRunShutsDownGracefully(t *testing.T) {
	prog := runtest.Start(t, run)
	ws, err := wsapitest.DialURL(t, prog.WS+"chat?name=ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ws, msg{"type": "welcome", "name": "ann", "rooms": []string{"lobby"}})
	prog.Stop() // as Ctrl-C would
	if reason := ws.ExpectClose(wsapi.CloseGoingAway); reason != "server shutting down" {
		t.Fatalf("close reason %q", reason)
	}
	if err := prog.Wait(); err != nil {
		t.Fatalf("run: %v", err)
	}
}
