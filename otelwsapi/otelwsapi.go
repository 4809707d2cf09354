// Package otelwsapi turns the events of a wsapi app and of its Managers
// into OpenTelemetry metrics and traces: a wsapi.Observer that counts
// handshakes, connections, messages, bytes, errors, invalid messages and
// broadcasts, times handshakes, connections and typed-message handlers, and
// starts a span per handshake (and, optionally, per typed message).
//
//	obs, err := otelwsapi.NewObserver(nil) // the global MeterProvider and TracerProvider
//	if err != nil {
//		return err
//	}
//	app := wsapi.New(&wsapi.Options{Observer: obs})
//	manager := wsapi.NewManager(&wsapi.ManagerOptions{Observer: obs})
//
// Every metric of a connection carries its route's pattern as http.route
// ("/items/{item_id}/ws"), never the request's path, which may hold ids or
// secrets; a span per handshake is named "WS " and the route. The metric
// names, units and attributes are listed in README.md. Recording a message
// allocates nothing: the attribute sets are built once per route, direction
// and message type.
package otelwsapi

import (
	"context"
	"net/http"

	"github.com/wsapi-go/wsapi"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and the tracer
// NewObserver uses (otel_scope_name in Prometheus).
const ScopeName = "github.com/wsapi-go/wsapi/otelwsapi"

// Options configures NewObserver. A nil *Options means the defaults.
type Options struct {
	// MeterProvider makes the meter the instruments are created on.
	// Default otel.GetMeterProvider(), the global one.
	MeterProvider metric.MeterProvider
	// TracerProvider makes the tracer of the spans. Default
	// otel.GetTracerProvider(), the global one; with no global provider
	// set, spans cost next to nothing and record nothing.
	TracerProvider trace.TracerProvider
	// TraceMessages starts a span per message that Conn.Dispatch hands to
	// a wsapi.On handler, a child of the connection's context (so of the
	// handshake's span), ended with the handler's result. Off by default:
	// a long-lived connection makes one trace of all its messages.
	TraceMessages bool
}

// NewObserver returns an observer that records the metrics and spans of
// the package documentation. Set it as wsapi.Options.Observer on an app
// and as wsapi.ManagerOptions.Observer on its Managers (the same observer
// serves both). The instruments are created here, once; the error is the
// meter's, when it cannot create one.
func NewObserver(opts *Options) (*wsapi.Observer, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	if o.TracerProvider == nil {
		o.TracerProvider = otel.GetTracerProvider()
	}
	ins, err := newInstruments(o.MeterProvider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL)))
	if err != nil {
		return nil, err
	}
	r := &recorder{
		instruments:   ins,
		tracer:        o.TracerProvider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		traceMessages: o.TraceMessages,
	}
	return &wsapi.Observer{
		HandshakeStart: r.handshakeStart,
		HandshakeEnd:   r.handshakeEnd,
		Message:        r.message,
		ConnEnd:        r.connEnd,
		Error:          r.failure,
		InvalidMessage: r.invalidMessage,
		TypedMessage:   r.typedMessage,
		Broadcast:      r.broadcast,
	}, nil
}

// Propagate returns middleware that continues, in the handshake's span,
// a trace that the handshake request carries in its headers: traceparent,
// with propagation.TraceContext{}. It extracts with p, or, when p is nil,
// with otel.GetTextMapPropagator(), which propagates nothing until
// otel.SetTextMapPropagator sets one. Browsers cannot set headers on a
// WebSocket handshake; other clients (a service, a test) can. Install it
// with app.Use(otelwsapi.Propagate(propagation.TraceContext{})).
func Propagate(p propagation.TextMapPropagator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			prop := p
			if prop == nil {
				prop = otel.GetTextMapPropagator()
			}
			ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			if ctx != r.Context() {
				r = r.WithContext(ctx)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// recorder holds the instruments and the tracer behind one observer.
type recorder struct {
	*instruments
	tracer        trace.Tracer
	traceMessages bool
}

// background is the context of the measurements whose event carries none.
var background = context.Background()
