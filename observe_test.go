package wsapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// eventLog is an Observer that writes down every event, as a metrics
// exporter would count them.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

type spanKey struct{}

func (r *eventLog) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *eventLog) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *eventLog) observer() *wsapi.Observer {
	return &wsapi.Observer{
		HandshakeStart: func(ctx context.Context, ev wsapi.HandshakeEvent) context.Context {
			return context.WithValue(ctx, spanKey{}, "span "+ev.Route)
		},
		HandshakeEnd: func(ctx context.Context, ev wsapi.HandshakeEvent) {
			span, _ := ctx.Value(spanKey{}).(string)
			r.add("handshake %s accepted=%v status=%d refusal=%d err=%v (%s)", ev.Route, ev.Accepted, ev.Status, ev.Refusal, ev.Err != nil, span)
		},
		Message: func(ev wsapi.MessageEvent) {
			r.add("message %s %s %s %d", ev.Route, ev.Direction, ev.Type, ev.Size)
		},
		ConnEnd: func(ev wsapi.ConnEndEvent) {
			r.add("end %s code=%d positive=%v", ev.Route, ev.Code, ev.Duration > 0)
		},
		Error: func(ev wsapi.ErrorEvent) {
			r.add("error %s panicked=%v accepted=%v: %v", ev.Route, ev.Panicked, ev.Accepted, ev.Err)
		},
		InvalidMessage: func(ev wsapi.InvalidMessageEvent) {
			r.add("invalid %s type=%q loc=%v", ev.Route, ev.Type, ev.Failure.Errors[0].Loc)
		},
		TypedMessage: func(ctx context.Context, ev wsapi.TypedMessageEvent) (context.Context, func(error)) {
			r.add("typed %s %s", ev.Route, ev.Type)
			return context.WithValue(ctx, spanKey{}, "message span"), func(err error) { r.add("typed end err=%v", err) }
		},
		Broadcast: func(ev wsapi.BroadcastEvent) {
			r.add("broadcast topic=%s room=%q size=%d delivered=%d overflowed=%d dropped=%d", ev.Topic, ev.Room, ev.Size, ev.Delivered, ev.Overflowed, ev.Dropped)
		},
	}
}

// waitEvents waits until the eventLog holds want (in any order).
func (r *eventLog) waitEvents(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.list()
		missing := []string{}
		for _, w := range want {
			if !slices.Contains(got, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("missing events %q\nin %q", missing, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestObserverSeesEveryEvent(t *testing.T) {
	rec := &eventLog{}
	app, _ := quietApp(&wsapi.Options{Observer: rec.observer()})
	app.WS("/echo", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		msg, err := ws.ReceiveText(ctx)
		if err != nil {
			return err
		}
		if err := ws.SendText(ctx, "echo: "+msg); err != nil {
			return err
		}
		if msg == "fail" {
			return errors.New("boom")
		}
		_, err = ws.ReceiveText(ctx)
		return err
	})
	app.WS("/refuse", func(ctx context.Context, ws *wsapi.Conn) error { return wsapi.Reject(4001, "no") })
	app.WS("/panic", func(ctx context.Context, ws *wsapi.Conn) error { panic("kaboom") })
	c := wsapitest.New(t, app, nil)

	ws := c.Connect("/echo", nil)
	ws.SendText("hi")
	ws.ReceiveText()
	ws.Close()
	rec.waitEvents(t,
		"handshake /echo accepted=true status=101 refusal=0 err=false (span /echo)",
		"message /echo received text 2",
		"message /echo sent text 8",
		"end /echo code=1000 positive=true")

	ws = c.Connect("/echo", nil)
	ws.SendText("fail")
	ws.ReceiveText()
	ws.ExpectClose(wsapi.CloseInternalServerError)
	ws.Wait()
	rec.waitEvents(t, "error /echo panicked=false accepted=true: boom", "end /echo code=1011 positive=true")

	handshakeStatus(t, c, "/refuse", nil)
	_, err := c.Dial("/panic", nil)
	var he *wsapitest.HandshakeError
	if errors.As(err, &he) {
		he.ServerError()
	}
	handshakeStatus(t, c, "/echo", &wsapitest.DialOptions{Header: http.Header{"Sec-WebSocket-Version": {"8"}}})
	rec.waitEvents(t,
		"handshake /refuse accepted=false status=403 refusal=4001 err=true (span /refuse)",
		"handshake /panic accepted=false status=500 refusal=1011 err=true (span /panic)",
		"error /panic panicked=true accepted=false: panic: kaboom",
		"handshake /echo accepted=false status=426 refusal=1008 err=false (span /echo)")
	for _, e := range rec.list() {
		if strings.HasPrefix(e, "end /refuse") || strings.HasPrefix(e, "end /panic") {
			t.Errorf("a refused handshake was reported as an ended connection: %s", e)
		}
	}
}

func TestObserverRejectAfterAcceptIsARefusal(t *testing.T) {
	rec := &eventLog{}
	app, _ := quietApp(&wsapi.Options{Observer: rec.observer(), RejectAfterAccept: true})
	app.WS("/refuse", func(ctx context.Context, ws *wsapi.Conn) error { return wsapi.Reject(4001, "no") })
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/refuse", nil)
	ws.ExpectClose(4001)
	rec.waitEvents(t, "handshake /refuse accepted=false status=101 refusal=4001 err=true (span /refuse)")
	time.Sleep(50 * time.Millisecond)
	for _, e := range rec.list() {
		if strings.HasPrefix(e, "end ") || strings.Contains(e, "accepted=true") {
			t.Errorf("a refusal was reported as an open connection: %s", e)
		}
	}
}

func TestObserverTypedMessagesAndBroadcasts(t *testing.T) {
	rec := &eventLog{}
	app, _ := quietApp(&wsapi.Options{Observer: rec.observer()})
	m := wsapi.NewManager(&wsapi.ManagerOptions{Observer: rec.observer()})
	type Say struct {
		Text string `json:"text" validate:"required"`
	}
	ep := app.WS("/chat", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := m.Connect(ctx, ws); err != nil {
			return err
		}
		return ws.Dispatch(ctx)
	})
	wsapi.On(ep, "say", func(ctx context.Context, ws *wsapi.Conn, msg Say) error {
		if ctx.Value(spanKey{}) != "message span" {
			return errors.New("the handler did not get TypedMessage's context")
		}
		return m.Broadcast(ctx, msg.Text)
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/chat", nil)
	ws.SendText(`{"type":"say","text":"hello"}`)
	if got := ws.ReceiveText(); got != "hello" {
		t.Fatalf("got %q", got)
	}
	ws.SendText(`{"type":"say"}`)
	ws.ReceiveText() // the error reply
	ws.Close()
	rec.waitEvents(t,
		"typed /chat say",
		"typed end err=<nil>",
		"broadcast topic=wsapi room=\"\" size=5 delivered=1 overflowed=0 dropped=0",
		`invalid /chat type="say" loc=[message text]`)
}
