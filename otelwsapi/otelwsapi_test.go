package otelwsapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/otelwsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// harness is an observer on in-memory OpenTelemetry providers: a manual
// metric reader and a span recorder.
type harness struct {
	t      *testing.T
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	obs    *wsapi.Observer
}

func newHarness(t *testing.T, traceMessages bool) *harness {
	t.Helper()
	h := &harness{t: t, reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() {
		mp.Shutdown(context.Background())
		h.tp.Shutdown(context.Background())
	})
	obs, err := otelwsapi.NewObserver(&otelwsapi.Options{MeterProvider: mp, TracerProvider: h.tp, TraceMessages: traceMessages})
	if err != nil {
		t.Fatal(err)
	}
	h.obs = obs
	return h
}

// app returns a quiet app on the harness's observer.
func (h *harness) app(opts *wsapi.Options) *wsapi.App {
	o := wsapi.Options{}
	if opts != nil {
		o = *opts
	}
	o.Observer = h.obs
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return wsapi.New(&o)
}

func (h *harness) collect() metricdata.ResourceMetrics {
	h.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		h.t.Fatal(err)
	}
	return rm
}

func (h *harness) metric(name string) (metricdata.Metrics, bool) {
	for _, sm := range h.collect().ScopeMetrics {
		if sm.Scope.Name != otelwsapi.ScopeName {
			h.t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// sum returns the value of the counter or up-down counter name at exactly
// the attributes kvs (0 when no such point exists).
func (h *harness) sum(name string, kvs ...attribute.KeyValue) int64 {
	h.t.Helper()
	m, ok := h.metric(name)
	if !ok {
		return 0
	}
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		h.t.Fatalf("%s is a %T", name, m.Data)
	}
	want := attribute.NewSet(kvs...)
	for _, dp := range s.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return 0
}

// points lists the attribute sets of a metric's points, for messages.
func (h *harness) points(name string) []string {
	m, _ := h.metric(name)
	var out []string
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			out = append(out, dp.Attributes.Encoded(attribute.DefaultEncoder()))
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			out = append(out, dp.Attributes.Encoded(attribute.DefaultEncoder()))
		}
	}
	return out
}

// hist returns the count and sum of the histogram name at exactly kvs.
func (h *harness) hist(name string, kvs ...attribute.KeyValue) (uint64, float64) {
	h.t.Helper()
	m, ok := h.metric(name)
	if !ok {
		return 0, 0
	}
	d, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		h.t.Fatalf("%s is a %T", name, m.Data)
	}
	want := attribute.NewSet(kvs...)
	for _, dp := range d.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Count, dp.Sum
		}
	}
	return 0, 0
}

// eventually retries check until it returns "" or 5 s have passed.
func (h *harness) eventually(check func() string) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) wantSum(name string, want int64, kvs ...attribute.KeyValue) {
	h.t.Helper()
	h.eventually(func() string {
		if got := h.sum(name, kvs...); got != want {
			return name + " " + encode(kvs) + ": got " +
				itoa(got) + ", want " + itoa(want) + "; points: " + strings.Join(h.points(name), " | ")
		}
		return ""
	})
}

func (h *harness) wantCount(name string, want uint64, kvs ...attribute.KeyValue) {
	h.t.Helper()
	h.eventually(func() string {
		if got, _ := h.hist(name, kvs...); got != want {
			return name + " " + encode(kvs) + ": count " +
				itoa(int64(got)) + ", want " + itoa(int64(want)) + "; points: " + strings.Join(h.points(name), " | ")
		}
		return ""
	})
}

func encode(kvs []attribute.KeyValue) string {
	s := attribute.NewSet(kvs...)
	return s.Encoded(attribute.DefaultEncoder())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The attributes, spelled out as a user would query them.
var (
	echoRoute = attribute.String("http.route", "/rooms/{room}/echo")
	receive   = attribute.String("network.io.direction", "receive")
	transmit  = attribute.String("network.io.direction", "transmit")
	text      = attribute.String("wsapi.message.type", "text")
	binary    = attribute.String("wsapi.message.type", "binary")
	accepted  = attribute.String("wsapi.handshake.outcome", "accepted")
	refused   = attribute.String("wsapi.handshake.outcome", "refused")
)

func status(code int) attribute.KeyValue { return attribute.Int("http.response.status_code", code) }
func closeCode(code int) attribute.KeyValue {
	return attribute.Int("wsapi.close.code", code)
}

// echoApp has a route with a path value (the raw path must never show), a
// route that refuses, and one whose dependency panics.
func echoApp(h *harness) *wsapi.App {
	app := h.app(nil)
	app.WS("/rooms/{room}/echo", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			typ, data, err := ws.Receive(ctx)
			if err != nil {
				return err
			}
			switch string(data) {
			case "fail":
				return errors.New("boom")
			case "panic":
				panic("kaboom")
			}
			if typ == wsapi.MessageBinary {
				err = ws.SendBytes(ctx, data)
			} else {
				err = ws.SendText(ctx, "echo: "+string(data))
			}
			if err != nil {
				return err
			}
		}
	})
	app.WS("/refuse", func(ctx context.Context, ws *wsapi.Conn) error { return wsapi.Reject(4001, "no") })
	app.WS("/broken", func(ctx context.Context, ws *wsapi.Conn) error { panic("before accept") })
	return app
}

func TestConnectionMetrics(t *testing.T) {
	h := newHarness(t, false)
	c := wsapitest.New(t, echoApp(h), nil)

	ws := c.Connect("/rooms/secret-room-name/echo", nil)
	h.wantSum(otelwsapi.MetricActiveConnections, 1, echoRoute)
	ws.SendText("hi")
	if got := ws.ReceiveText(); got != "echo: hi" {
		t.Fatalf("got %q", got)
	}
	ws.SendBytes([]byte{1, 2, 3})
	ws.ReceiveBytes()
	ws.SendText("hello")
	ws.ReceiveText()
	ws.Close()
	h.wantSum(otelwsapi.MetricActiveConnections, 0, echoRoute)

	h.wantSum(otelwsapi.MetricHandshakes, 1, echoRoute, accepted, status(101))
	h.wantCount(otelwsapi.MetricHandshakeDuration, 1, echoRoute, accepted, status(101))
	h.wantSum(otelwsapi.MetricMessages, 2, echoRoute, receive, text)
	h.wantSum(otelwsapi.MetricMessages, 1, echoRoute, receive, binary)
	h.wantSum(otelwsapi.MetricMessages, 2, echoRoute, transmit, text)
	h.wantSum(otelwsapi.MetricMessages, 1, echoRoute, transmit, binary)
	h.wantSum(otelwsapi.MetricIO, 2+5, echoRoute, receive, text)
	h.wantSum(otelwsapi.MetricIO, 3, echoRoute, receive, binary)
	h.wantSum(otelwsapi.MetricIO, len64("echo: hi")+len64("echo: hello"), echoRoute, transmit, text)
	h.wantSum(otelwsapi.MetricIO, 3, echoRoute, transmit, binary)
	h.wantCount(otelwsapi.MetricConnectionDuration, 1, echoRoute, closeCode(1000))

	// A refusal: 403, never counted as a connection.
	_, err := c.Dial("/refuse", nil)
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Fatalf("dial /refuse: %v", err)
	}
	refuseRoute := attribute.String("http.route", "/refuse")
	h.wantSum(otelwsapi.MetricHandshakes, 1, refuseRoute, refused, status(403))
	h.wantCount(otelwsapi.MetricHandshakeDuration, 1, refuseRoute, refused, status(403))
	if got := h.sum(otelwsapi.MetricActiveConnections, refuseRoute); got != 0 {
		t.Errorf("a refused handshake counts as active: %d", got)
	}

	// Failures: an error and a panic after Accept close with 1011; a panic
	// before Accept refuses with 500.
	for _, msg := range []string{"fail", "panic"} {
		ws := c.Connect("/rooms/r/echo", nil)
		ws.SendText(msg)
		ws.ExpectClose(wsapi.CloseInternalServerError)
		ws.Wait()
	}
	_, err = c.Dial("/broken", nil)
	if !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError {
		t.Fatalf("dial /broken: %v", err)
	}
	he.ServerError()
	brokenRoute := attribute.String("http.route", "/broken")
	h.wantSum(otelwsapi.MetricErrors, 1, echoRoute, attribute.String("error.type", "error"), attribute.String("wsapi.error.phase", "connection"))
	h.wantSum(otelwsapi.MetricErrors, 1, echoRoute, attribute.String("error.type", "panic"), attribute.String("wsapi.error.phase", "connection"))
	h.wantSum(otelwsapi.MetricErrors, 1, brokenRoute, attribute.String("error.type", "panic"), attribute.String("wsapi.error.phase", "handshake"))
	h.wantSum(otelwsapi.MetricHandshakes, 1, brokenRoute, refused, status(500))
	h.wantCount(otelwsapi.MetricConnectionDuration, 2, echoRoute, closeCode(1011))
	h.wantSum(otelwsapi.MetricHandshakes, 3, echoRoute, accepted, status(101))
	h.wantSum(otelwsapi.MetricActiveConnections, 0, echoRoute)

	// A bad handshake (a version other than 13) is a refusal with 426.
	_, err = c.Dial("/rooms/r/echo", &wsapitest.DialOptions{Header: http.Header{"Sec-Websocket-Version": {"8"}}})
	if !errors.As(err, &he) || he.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("dial with version 8: %v", err)
	}
	h.wantSum(otelwsapi.MetricHandshakes, 1, echoRoute, refused, status(426))

	// No attribute anywhere holds the request's path.
	rm := h.collect()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, p := range h.points(m.Name) {
				if strings.Contains(p, "secret") || strings.Contains(p, "/rooms/r/") {
					t.Errorf("%s has the raw path in %s", m.Name, p)
				}
			}
		}
	}
}

func len64(s string) int64 { return int64(len(s)) }

func TestHandshakeSpans(t *testing.T) {
	h := newHarness(t, false)
	c := wsapitest.New(t, echoApp(h), nil)
	ws := c.Connect("/rooms/secret-room-name/echo", nil)
	ws.Close()
	c.Dial("/refuse", nil)
	_, err := c.Dial("/broken", nil)
	var he *wsapitest.HandshakeError
	if errors.As(err, &he) {
		he.ServerError()
	}
	var spans []sdktrace.ReadOnlySpan
	h.eventually(func() string {
		spans = h.spans.Ended()
		if len(spans) < 3 {
			return "ended spans: " + itoa(int64(len(spans)))
		}
		return ""
	})
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
		for _, kv := range s.Attributes() {
			if kv.Key == "url.path" || kv.Key == "url.full" || strings.Contains(kv.Value.String(), "secret") {
				t.Errorf("span %s has %s=%s: a path may hold secrets", s.Name(), kv.Key, kv.Value.String())
			}
		}
		if s.SpanKind() != trace.SpanKindServer {
			t.Errorf("span %s is %v", s.Name(), s.SpanKind())
		}
	}
	ok := byName["WS /rooms/{room}/echo"]
	if ok == nil {
		t.Fatalf("no span WS /rooms/{room}/echo in %v", names(spans))
	}
	wantAttrs(t, ok, map[string]string{"http.route": "/rooms/{room}/echo", "http.response.status_code": "101"})
	if ok.Status().Code != codes.Unset {
		t.Errorf("accepted: status %v", ok.Status())
	}
	if !hasAttr(ok, "wsapi.connection.id") {
		t.Error("accepted: no wsapi.connection.id")
	}

	ref := byName["WS /refuse"]
	wantAttrs(t, ref, map[string]string{"http.route": "/refuse", "http.response.status_code": "403", "error.type": "403", "wsapi.close.code": "4001"})
	if ref.Status().Code != codes.Error {
		t.Errorf("refused: status %v", ref.Status())
	}
	if len(ref.Events()) != 0 {
		t.Errorf("a deliberate refusal recorded %v", ref.Events())
	}
	broken := byName["WS /broken"]
	wantAttrs(t, broken, map[string]string{"http.response.status_code": "500", "error.type": "500", "wsapi.close.code": "1011"})
	if ev := broken.Events(); len(ev) != 1 || ev[0].Name != "exception" {
		t.Errorf("a failure's error was not recorded: %v", ev)
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func hasAttr(s sdktrace.ReadOnlySpan, key string) bool {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return true
		}
	}
	return false
}

func wantAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	if s == nil {
		t.Fatalf("no span")
	}
	got := map[string]string{}
	for _, kv := range s.Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %s: %s = %q, want %q (all: %v)", s.Name(), k, got[k], v, got)
		}
	}
}

func TestPropagateContinuesTheClientsTrace(t *testing.T) {
	h := newHarness(t, false)
	app := echoApp(h)
	app.Use(otelwsapi.Propagate(propagation.TraceContext{}))
	c := wsapitest.New(t, app, nil)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	ws := c.Connect("/rooms/r/echo", &wsapitest.DialOptions{Header: http.Header{
		"Traceparent": {"00-" + traceID + "-" + parentID + "-01"},
	}})
	ws.Close()
	h.eventually(func() string {
		if len(h.spans.Ended()) == 0 {
			return "no span ended"
		}
		return ""
	})
	s := h.spans.Ended()[0]
	if s.SpanContext().TraceID().String() != traceID || s.Parent().SpanID().String() != parentID || !s.Parent().IsRemote() {
		t.Fatalf("span %s: trace %s, parent %s (remote %v)", s.Name(), s.SpanContext().TraceID(), s.Parent().SpanID(), s.Parent().IsRemote())
	}
}

type Say struct {
	Text string `json:"text" validate:"required"`
}

// chatApp broadcasts every "say" to everyone through m.
func chatApp(h *harness, m *wsapi.Manager) *wsapi.App {
	app := h.app(nil)
	ep := app.WS("/chat", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := m.Connect(ctx, ws); err != nil {
			return err
		}
		return ws.Dispatch(ctx)
	})
	wsapi.On(ep, "say", func(ctx context.Context, ws *wsapi.Conn, msg Say) error {
		if msg.Text == "invalid" {
			return &wsapi.ValidationError{Errors: []wsapi.FieldError{{Loc: []string{"message", "text"}, Msg: "no", Type: "value_error"}}}
		}
		return m.Broadcast(ctx, msg.Text)
	})
	return app
}

func TestTypedMessagesAndBroadcasts(t *testing.T) {
	h := newHarness(t, true)
	m := wsapi.NewManager(&wsapi.ManagerOptions{Observer: h.obs, Topic: "lobby"})
	c := wsapitest.New(t, chatApp(h, m), nil)
	a, b := c.Connect("/chat", nil), c.Connect("/chat", nil)
	h.eventually(func() string {
		if m.Len() != 2 {
			return "not both connected"
		}
		return ""
	})
	a.SendText(`{"type":"say","text":"hello"}`)
	for _, ws := range []*wsapitest.Conn{a, b} {
		if got := ws.ReceiveText(); got != "hello" {
			t.Fatalf("got %q", got)
		}
	}
	a.SendText(`{"type":"say"}`)                  // fails validation
	a.SendText(`{"type":"shout","text":"x"}`)     // no such type: the client's word must not become a series
	a.SendText(`{"type":"say","text":"invalid"}`) // the handler's own ValidationError
	a.SendText(`not json`)                        // invalid JSON
	a.SendText(`{"type":"dance-123","text":"x"}`) // another unknown type: the same series
	for range 5 {
		a.ReceiveText() // the error replies
	}
	a.Close()
	b.Close()

	route := attribute.String("http.route", "/chat")
	say := attribute.String("wsapi.typed_message.type", "say")
	other := attribute.String("wsapi.typed_message.type", "_OTHER")
	h.wantSum(otelwsapi.MetricInvalidMessages, 1, route, say, attribute.String("error.type", "required"))
	h.wantSum(otelwsapi.MetricInvalidMessages, 1, route, say, attribute.String("error.type", "value_error"))
	h.wantSum(otelwsapi.MetricInvalidMessages, 2, route, other, attribute.String("error.type", "unknown_type"))
	h.wantSum(otelwsapi.MetricInvalidMessages, 1, route, attribute.String("error.type", "json_invalid"))
	h.wantCount(otelwsapi.MetricTypedMessageDuration, 1, route, say)
	// The message that failed validation while decoding counts too: the
	// handler was asked, and answered with a validation error.
	h.wantCount(otelwsapi.MetricTypedMessageDuration, 2, route, say, attribute.String("error.type", "validation"))

	topic := attribute.String("messaging.destination.name", "lobby")
	local := attribute.Bool("wsapi.broadcast.remote", false)
	h.wantSum(otelwsapi.MetricBroadcasts, 1, topic, local, text)
	h.wantSum(otelwsapi.MetricDeliveries, 2, topic, local, attribute.String("wsapi.delivery.outcome", "delivered"))
	h.wantSum(otelwsapi.MetricDeliveries, 0, topic, local, attribute.String("wsapi.delivery.outcome", "dropped"))
	h.wantSum(otelwsapi.MetricDeliveries, 0, topic, local, attribute.String("wsapi.delivery.outcome", "overflowed"))
	// The broadcast's receivers are not counted as sent messages; the
	// error replies are.
	h.wantSum(otelwsapi.MetricMessages, 6, route, receive, text)
	h.wantSum(otelwsapi.MetricMessages, 5, route, transmit, text)

	// A span per typed message, a child of the handshake's span.
	var handshake, msgs []sdktrace.ReadOnlySpan
	h.eventually(func() string {
		handshake, msgs = nil, nil
		for _, s := range h.spans.Ended() {
			switch s.Name() {
			case "WS /chat":
				handshake = append(handshake, s)
			case "WS /chat say":
				msgs = append(msgs, s)
			}
		}
		if len(handshake) != 2 || len(msgs) != 3 {
			return "spans: " + strings.Join(names(h.spans.Ended()), ", ")
		}
		return ""
	})
	parents := map[trace.SpanID]bool{handshake[0].SpanContext().SpanID(): true, handshake[1].SpanContext().SpanID(): true}
	errs := 0
	for _, s := range msgs {
		if !parents[s.Parent().SpanID()] || s.SpanContext().TraceID() != s.Parent().TraceID() {
			t.Errorf("message span's parent %v is not a handshake span", s.Parent().SpanID())
		}
		if s.SpanKind() != trace.SpanKindConsumer {
			t.Errorf("message span kind %v", s.SpanKind())
		}
		wantAttrs(t, s, map[string]string{"http.route": "/chat", "wsapi.typed_message.type": "say"})
		if s.Status().Code == codes.Error {
			errs++
			wantAttrs(t, s, map[string]string{"error.type": "validation"})
		}
	}
	if errs != 2 {
		t.Errorf("%d message spans with an error, want 2", errs)
	}
}

// TestSlowClients drives a manager's two overflow outcomes with clients
// that never read: with OverflowDrop their messages are dropped, with the
// default policy they are closed with 1013.
func TestSlowClients(t *testing.T) {
	for _, policy := range []wsapi.OverflowPolicy{wsapi.OverflowDrop, wsapi.OverflowTryAgainLater} {
		h := newHarness(t, false)
		m := wsapi.NewManager(&wsapi.ManagerOptions{Observer: h.obs, MaxQueueBytes: 1, OnOverflow: policy})
		app := h.app(&wsapi.Options{WriteTimeout: 30 * time.Second})
		app.WS("/slow", func(ctx context.Context, ws *wsapi.Conn) error {
			if err := m.Connect(ctx, ws); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		})
		c := wsapitest.New(t, app, nil)
		ws := c.Connect("/slow", nil)
		h.eventually(func() string {
			if m.Len() != 1 {
				return "not connected"
			}
			return ""
		})
		const n = 40
		big := bytes.Repeat([]byte("x"), 1<<20)
		for range n {
			m.BroadcastBytes(context.Background(), big)
		}
		topic := attribute.String("messaging.destination.name", "wsapi")
		local := attribute.Bool("wsapi.broadcast.remote", false)
		outcome := func(s string) int64 {
			return h.sum(otelwsapi.MetricDeliveries, topic, local, attribute.String("wsapi.delivery.outcome", s))
		}
		h.wantSum(otelwsapi.MetricBroadcasts, n, topic, local, binary)
		delivered, dropped, overflowed := outcome("delivered"), outcome("dropped"), outcome("overflowed")
		if policy == wsapi.OverflowDrop {
			if delivered+dropped != n || dropped == 0 || overflowed != 0 {
				t.Errorf("OverflowDrop: delivered %d, dropped %d, overflowed %d of %d", delivered, dropped, overflowed, n)
			}
		} else {
			// Once closed, the client is no longer a receiver.
			if overflowed != 1 || dropped != 0 || delivered == 0 {
				t.Errorf("OverflowTryAgainLater: delivered %d, dropped %d, overflowed %d of %d", delivered, dropped, overflowed, n)
			}
			ws.Drop() // the close frame waits behind what the client never read
			h.wantCount(otelwsapi.MetricConnectionDuration, 1, attribute.String("http.route", "/slow"), closeCode(1013))
		}
		ws.Drop()
	}
}

func TestNilOptionsUseTheGlobalProviders(t *testing.T) {
	obs, err := otelwsapi.NewObserver(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := wsapi.New(&wsapi.Options{Observer: obs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		_, err := ws.ReceiveText(ctx)
		return err
	})
	ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
	ws.SendText("x")
	ws.ExpectClose(wsapi.CloseNormalClosure)
}

// TestRejectAfterAccept: a refusal made by accepting and closing (for
// browsers) is a refusal with 101, never an open connection.
func TestRejectAfterAccept(t *testing.T) {
	h := newHarness(t, false)
	app := h.app(&wsapi.Options{RejectAfterAccept: true})
	app.WS("/refuse", func(ctx context.Context, ws *wsapi.Conn) error { return wsapi.Reject(4001, "no") })
	ws := wsapitest.New(t, app, nil).Connect("/refuse", nil)
	ws.ExpectClose(4001)
	route := attribute.String("http.route", "/refuse")
	h.wantSum(otelwsapi.MetricHandshakes, 1, route, refused, status(101))
	h.eventually(func() string {
		if len(h.spans.Ended()) != 1 {
			return "no span"
		}
		return ""
	})
	s := h.spans.Ended()[0]
	wantAttrs(t, s, map[string]string{"http.response.status_code": "101", "error.type": "4001", "wsapi.close.code": "4001"})
	if s.Status().Code != codes.Error {
		t.Errorf("status %v", s.Status())
	}
	time.Sleep(50 * time.Millisecond)
	if got := h.sum(otelwsapi.MetricActiveConnections, route); got != 0 {
		t.Errorf("active connections %d", got)
	}
	if n, _ := h.hist(otelwsapi.MetricConnectionDuration, route, closeCode(4001)); n != 0 {
		t.Errorf("a refusal counted as an ended connection")
	}
}
