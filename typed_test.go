package wsapi_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

type RoomParams struct {
	Room string `path:"room" description:"the room to join"`
	Name string `query:"name" validate:"required,max=20"`
}

type ChatSend struct {
	Text string `json:"text" validate:"required,max=100"`
}

type SetTopic struct {
	Topic string `json:"topic" validate:"required"`
}

type ChatMessage struct {
	Room string `json:"room"`
	From string `json:"from"`
	Text string `json:"text"`
}

func typedApp(opts *wsapi.EndpointOptions) *wsapi.App {
	app, _ := quietApp(nil)
	chat := wsapi.Route(app, "/chat/{room}", func(ctx context.Context, ws *wsapi.Conn, p *RoomParams) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.Dispatch(ctx)
	}).With(opts)
	wsapi.On(chat, "chat.send", func(ctx context.Context, ws *wsapi.Conn, msg ChatSend) error {
		p := wsapi.Dependency[RoomParams](ws)
		return ws.SendJSON(ctx, wsapi.TypedAs(chat.Discriminator(), "chat.message", ChatMessage{Room: p.Room, From: p.Name, Text: msg.Text}))
	})
	wsapi.On(chat, "topic.set", func(ctx context.Context, ws *wsapi.Conn, msg SetTopic) error {
		if msg.Topic == "forbidden" {
			return &wsapi.ValidationError{Errors: []wsapi.FieldError{{Loc: []string{"message", "topic"}, Msg: "not allowed", Type: "value_error"}}}
		}
		return ws.SendJSON(ctx, wsapi.TypedAs(chat.Discriminator(), "topic.changed", msg))
	})
	wsapi.Emits[ChatMessage](chat, "chat.message")
	app.WS("/loop", echo("loop:")) // the seed's loop style, beside typed routes
	return app
}

func TestTypedDispatch(t *testing.T) {
	c := wsapitest.New(t, typedApp(nil), nil)
	ws := c.Connect("/chat/lobby?name=ann", nil)
	exchange := func(send, want string) {
		t.Helper()
		ws.SendText(send)
		if got := ws.ReceiveText(); got != want {
			t.Fatalf("sent %s\ngot  %s\nwant %s", send, got, want)
		}
	}
	exchange(`{"type":"chat.send","text":"hi"}`, `{"type":"chat.message","room":"lobby","from":"ann","text":"hi"}`)
	exchange(`{"text":"hi","type":"topic.set","topic":"go"}`, `{"type":"topic.changed","topic":"go"}`)
	// Bad messages are answered, and the connection stays open.
	exchange(`{"type":"chat.send","text":""}`,
		`{"type":"error","detail":[{"loc":["message","text"],"msg":"text is a required field","type":"required"}]}`)
	exchange(`{"type":"nope"}`,
		`{"type":"error","detail":[{"loc":["message","type"],"msg":"unknown message type \"nope\"","type":"unknown_type"}]}`)
	exchange(`{"text":"no type"}`,
		`{"type":"error","detail":[{"loc":["message","type"],"msg":"the message needs a string \"type\" field naming its type","type":"missing"}]}`)
	exchange(`{"type":"chat.send","text":5}`,
		`{"type":"error","detail":[{"loc":["message","text"],"msg":"expected string, got JSON number","type":"type_error"}]}`)
	exchange(`{"type":"topic.set","topic":"forbidden"}`,
		`{"type":"error","detail":[{"loc":["message","topic"],"msg":"not allowed","type":"value_error"}]}`)
	ws.SendText(`not json`)
	if got := ws.ReceiveText(); !strings.Contains(got, `"type":"json_invalid"`) {
		t.Fatalf("got %s", got)
	}
	exchange(`{"type":"chat.send","text":"still here"}`, `{"type":"chat.message","room":"lobby","from":"ann","text":"still here"}`)
	ws.Close()

	roundTrip(t, c.Connect("/loop", nil), "x", "loop:x")
}

func TestTypedCustomDiscriminator(t *testing.T) {
	c := wsapitest.New(t, typedApp(&wsapi.EndpointOptions{Discriminator: "kind", ErrorType: "oops"}), nil)
	ws := c.Connect("/chat/r?name=bo", nil)
	ws.SendText(`{"kind":"chat.send","text":"yo"}`)
	if got := ws.ReceiveText(); got != `{"kind":"chat.message","room":"r","from":"bo","text":"yo"}` {
		t.Fatalf("got %s", got)
	}
	ws.SendText(`{"type":"chat.send","text":"yo"}`)
	if got := ws.ReceiveText(); !strings.HasPrefix(got, `{"kind":"oops","detail":[{"loc":["message","kind"]`) {
		t.Fatalf("got %s", got)
	}
	ws.Close()
}

func TestTypedRateLimit(t *testing.T) {
	c := wsapitest.New(t, typedApp(&wsapi.EndpointOptions{MessageRate: 1, MessageBurst: 5}), nil)
	ws := c.Connect("/chat/r?name=bo", nil)
	for range 5 {
		ws.SendText(`{"type":"topic.set","topic":"t"}`)
		ws.ReceiveText()
	}
	ws.SendText(`{"type":"topic.set","topic":"t"}`) // the sixth within a second
	if reason := ws.ExpectClose(wsapi.ClosePolicyViolation); reason != "message rate limit exceeded" {
		t.Fatalf("reason %q", reason)
	}
}

func TestOnTwicePanics(t *testing.T) {
	app := wsapi.New(nil)
	ep := app.WS("/x", func(ctx context.Context, ws *wsapi.Conn) error { return nil })
	wsapi.On(ep, "a", func(ctx context.Context, ws *wsapi.Conn, m ChatSend) error { return nil })
	if msg := panicMessage(func() {
		wsapi.On(ep, "a", func(ctx context.Context, ws *wsapi.Conn, m SetTopic) error { return nil })
	}); !strings.Contains(msg, `"a" is already handled`) || !strings.Contains(msg, "typed_test.go") {
		t.Fatalf("panic %q", msg)
	}
}

func TestRoutesDescribeParamsAndMessages(t *testing.T) {
	app := typedApp(&wsapi.EndpointOptions{Title: "Chat", Description: "Talk in rooms."})
	routes := app.Routes()
	if len(routes) != 2 || routes[0].Pattern != "/chat/{room}" || routes[1].Pattern != "/loop" {
		t.Fatalf("routes %+v", routes)
	}
	r := routes[0]
	if r.Options.Title != "Chat" || r.Options.Discriminator != "type" || r.Params != reflect.TypeFor[RoomParams]() {
		t.Fatalf("route %+v", r)
	}
	var params []string
	for _, p := range r.Parameters {
		params = append(params, p.Source+":"+p.Name+":"+map[bool]string{true: "required", false: "optional"}[p.Required])
	}
	if got := strings.Join(params, ","); got != "path:room:required,query:name:required" {
		t.Fatalf("parameters %s", got)
	}
	names := func(ms []wsapi.MessageInfo) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Name+"="+m.Type.Name())
		}
		return strings.Join(s, ",")
	}
	if got := names(r.Receives); got != "chat.send=ChatSend,topic.set=SetTopic" {
		t.Fatalf("receives %s", got)
	}
	if got := names(r.Sends); got != "chat.message=ChatMessage" {
		t.Fatalf("sends %s", got)
	}
}

func TestTypedMarshalling(t *testing.T) {
	for _, tt := range []struct {
		v    json.Marshaler
		want string
	}{
		{wsapi.Typed("a", struct{}{}), `{"type":"a"}`},
		{wsapi.Typed("a", nil), `{"type":"a"}`},
		{wsapi.Typed("x<y", map[string]int{"n": 1}), `{"type":"x\u003cy","n":1}`},
	} {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("got %s (%v), want %s", b, err, tt.want)
		}
	}
	if _, err := json.Marshal(wsapi.Typed("a", []int{1})); err == nil {
		t.Error("a JSON array was accepted as a typed message")
	}
}
