package otelwsapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/otelwsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// newTracedApp is the observability guide's tracing setup.
func newTracedApp(exporter sdktrace.SpanExporter) (*wsapi.App, *sdktrace.TracerProvider, error) {
	// docs:start tracing
	// The SDK's TracerProvider sends the spans to an exporter of your
	// choice: OTLP to a collector, Jaeger or Tempo; stdout; ...
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter))
	obs, err := otelwsapi.NewObserver(&otelwsapi.Options{
		TracerProvider: tp,
		TraceMessages:  true, // a span per typed message, besides the handshake's
	})
	if err != nil {
		return nil, nil, err
	}
	app := wsapi.New(&wsapi.Options{Observer: obs})
	// A client that sends a traceparent header continues its trace.
	app.Use(otelwsapi.Propagate(propagation.TraceContext{}))
	// docs:end tracing
	return app, tp, nil
}

func TestTracingSetup(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	app, tp, err := newTracedApp(exporter)
	if err != nil {
		t.Fatal(err)
	}
	ep := app.WS("/chat", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.Dispatch(ctx)
	})
	wsapi.On(ep, "say", func(ctx context.Context, ws *wsapi.Conn, msg Say) error {
		return ws.SendText(ctx, msg.Text)
	})
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	ws := wsapitest.New(t, app, nil).Connect("/chat", &wsapitest.DialOptions{Header: http.Header{
		"Traceparent": {"00-" + traceID + "-b7ad6b7169203331-01"},
	}})
	ws.SendText(`{"type":"say","text":"hi"}`)
	ws.ReceiveText()
	ws.Close()
	ws.Wait()
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	if err := tp.ForceFlush(context.Background()); err != nil { // the batch goes out
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range exporter.GetSpans() {
		got[s.Name] = s.SpanContext.TraceID().String()
	}
	if got["WS /chat"] != traceID || got["WS /chat say"] != traceID {
		t.Fatalf("spans %v: want both in trace %s", got, traceID)
	}
}
