package otelwsapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/otelwsapi"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// sdkObserver is an observer on the OpenTelemetry SDK's MeterProvider with
// a manual reader: the aggregation a real exporter reads from.
func sdkObserver(tb testing.TB) *wsapi.Observer {
	tb.Helper()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tb.Cleanup(func() { mp.Shutdown(context.Background()) })
	obs, err := otelwsapi.NewObserver(&otelwsapi.Options{MeterProvider: mp})
	if err != nil {
		tb.Fatal(err)
	}
	return obs
}

var benchEvents = []wsapi.MessageEvent{
	{Route: "/rooms/{room}/ws", ConnID: 1, Direction: wsapi.Received, Type: wsapi.MessageText, Size: 120},
	{Route: "/rooms/{room}/ws", ConnID: 1, Direction: wsapi.Sent, Type: wsapi.MessageText, Size: 80},
	{Route: "/rooms/{room}/ws", ConnID: 2, Direction: wsapi.Received, Type: wsapi.MessageBinary, Size: 1024},
	{Route: "/feed", ConnID: 3, Direction: wsapi.Sent, Type: wsapi.MessageBinary, Size: 16},
}

// BenchmarkMessage is the hot path: a message received or sent counts in
// wsapi.server.messages and wsapi.server.io, with prebuilt attribute sets.
func BenchmarkMessage(b *testing.B) {
	obs := sdkObserver(b)
	for _, ev := range benchEvents {
		obs.Message(ev) // warm-up: the routes' attribute sets are built
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		obs.Message(benchEvents[i&3])
		i++
	}
}

// BenchmarkMessageParallel is BenchmarkMessage from every core at once.
func BenchmarkMessageParallel(b *testing.B) {
	obs := sdkObserver(b)
	for _, ev := range benchEvents {
		obs.Message(ev)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			obs.Message(benchEvents[i&3])
			i++
		}
	})
}

// BenchmarkConnEnd and BenchmarkHandshakeEnd: once per connection.
func BenchmarkConnEnd(b *testing.B) {
	obs := sdkObserver(b)
	ev := wsapi.ConnEndEvent{Route: "/ws", ConnID: 1, Code: wsapi.CloseNormalClosure, Duration: 3 * time.Second}
	obs.ConnEnd(ev)
	b.ReportAllocs()
	for b.Loop() {
		obs.ConnEnd(ev)
	}
}

func BenchmarkHandshakeEnd(b *testing.B) {
	obs := sdkObserver(b)
	ev := wsapi.HandshakeEvent{Route: "/ws", ConnID: 1, Start: time.Now(), Accepted: true, Status: 101}
	obs.HandshakeEnd(context.Background(), ev)
	b.ReportAllocs()
	for b.Loop() {
		obs.HandshakeEnd(context.Background(), ev)
	}
}

// TestHotPathsDoNotAllocate: after a route's first event, counting a
// message, a connection's end, a handshake or a broadcast allocates
// nothing.
func TestHotPathsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	obs := sdkObserver(t)
	hs := wsapi.HandshakeEvent{Route: "/ws", ConnID: 1, Start: time.Now(), Accepted: true, Status: 101}
	end := wsapi.ConnEndEvent{Route: "/ws", ConnID: 1, Code: wsapi.CloseGoingAway, Duration: time.Second}
	bc := wsapi.BroadcastEvent{Topic: "wsapi", Type: wsapi.MessageText, Size: 10, Delivered: 3, Dropped: 1}
	for name, f := range map[string]func(){
		"Message":      func() { obs.Message(benchEvents[0]); obs.Message(benchEvents[3]) },
		"HandshakeEnd": func() { obs.HandshakeEnd(context.Background(), hs) },
		"ConnEnd":      func() { obs.ConnEnd(end) },
		"Broadcast":    func() { obs.Broadcast(bc) },
	} {
		f() // warm-up
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %.1f allocations per call", name, n)
		}
	}
}

// BenchmarkSDKFloor is what BenchmarkMessage cannot go below: the SDK's
// two counter additions with the same prebuilt three-attribute set, and
// nothing of otelwsapi's.
func BenchmarkSDKFloor(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	m := mp.Meter("floor")
	c1, _ := m.Int64Counter("a")
	c2, _ := m.Int64Counter("b")
	opts := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
		attribute.String("http.route", "/rooms/{room}/ws"),
		attribute.String("network.io.direction", "receive"),
		attribute.String("wsapi.message.type", "text")))}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c1.Add(ctx, 1, opts...)
		c2.Add(ctx, 120, opts...)
	}
}
