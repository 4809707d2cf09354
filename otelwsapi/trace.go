package otelwsapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/wsapi-go/wsapi"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// handshakeSpanKey marks the span this observer started for a handshake,
// so that HandshakeEnd ends its own span and never one a middleware (such
// as otelhttp's) put in the request's context.
type handshakeSpanKey struct{}

// handshakeStart starts the handshake's span, named "WS " and the route,
// with the route as http.route: never the request's path.
func (r *recorder) handshakeStart(ctx context.Context, ev wsapi.HandshakeEvent) context.Context {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRoute(ev.Route)),
	}
	if !ev.Start.IsZero() {
		opts = append(opts, trace.WithTimestamp(ev.Start))
	}
	if ev.ConnID != 0 {
		opts = append(opts, trace.WithAttributes(ConnectionIDKey.Int64(int64(ev.ConnID))))
	}
	sctx, span := r.tracer.Start(ctx, "WS "+ev.Route, opts...)
	if !span.IsRecording() {
		return ctx // nothing to end or to parent: a no-op tracer
	}
	return context.WithValue(sctx, handshakeSpanKey{}, span)
}

// handshakeEnd records the handshake's metrics and ends its span: with
// the response's status, and, for a refusal, status Error and error.type
// (the HTTP status, or the close code of a refusal after accepting). The
// error of a failure (a 500) is recorded on the span, as it is logged; a
// deliberate refusal's is not.
func (r *recorder) handshakeEnd(ctx context.Context, ev wsapi.HandshakeEvent) {
	r.handshakeMetrics(ev)
	span, ok := ctx.Value(handshakeSpanKey{}).(trace.Span)
	if !ok {
		return
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(ev.Status))
	if !ev.Accepted {
		et := refusalType(ev)
		attrs := []attribute.KeyValue{semconv.ErrorTypeKey.String(et)}
		if ev.Refusal != 0 {
			attrs = append(attrs, CloseCodeKey.Int(int(ev.Refusal)))
		}
		span.SetAttributes(attrs...)
		if ev.Err != nil && ev.Status >= http.StatusInternalServerError {
			span.RecordError(ev.Err)
		}
		span.SetStatus(codes.Error, "handshake refused: "+et)
	}
	span.End()
}

// typedMessage times a wsapi.On handler, and, with
// Options.TraceMessages, runs it in a span of its own.
func (r *recorder) typedMessage(ctx context.Context, ev wsapi.TypedMessageEvent) (context.Context, func(error)) {
	ra := r.route(ev.Route)
	start := time.Now()
	if !r.traceMessages {
		return ctx, func(err error) { r.typedDone(ra, ev.Type, start, err) }
	}
	ctx, span := r.tracer.Start(ctx, "WS "+ev.Route+" "+ev.Type,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(start),
		trace.WithAttributes(ra.route, TypedMessageTypeKey.String(ev.Type),
			semconv.MessagingMessageBodySize(ev.Size), ConnectionIDKey.Int64(int64(ev.ConnID))))
	return ctx, func(err error) {
		r.typedDone(ra, ev.Type, start, err)
		if err != nil {
			et := handlerErrorType(err)
			span.SetAttributes(semconv.ErrorTypeKey.String(et))
			if et != "validation" && et != "disconnect" {
				span.RecordError(err)
			}
			span.SetStatus(codes.Error, et)
		}
		span.End()
	}
}

// refusalType is the error.type of a refused handshake: its HTTP status,
// as the HTTP semantic conventions have it, or, for a refusal after
// accepting (wsapi.Options.RejectAfterAccept), its close code.
func refusalType(ev wsapi.HandshakeEvent) string {
	if ev.Status == http.StatusSwitchingProtocols && ev.Refusal != 0 {
		return strconv.Itoa(int(ev.Refusal))
	}
	return strconv.Itoa(ev.Status)
}
