package otelwsapi

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsapi-go/wsapi"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// The attribute keys of wsapi's own (the others are OpenTelemetry's
// semantic conventions: http.route, http.response.status_code,
// network.io.direction, error.type, messaging.destination.name).
const (
	// HandshakeOutcomeKey is "accepted" or "refused".
	HandshakeOutcomeKey = attribute.Key("wsapi.handshake.outcome")
	// MessageTypeKey is a data message's type: "text" or "binary".
	MessageTypeKey = attribute.Key("wsapi.message.type")
	// CloseCodeKey is the close code that ended a connection, or refused
	// it (on the handshake's span).
	CloseCodeKey = attribute.Key("wsapi.close.code")
	// ErrorPhaseKey says when a handler or a dependency failed: "handshake"
	// (before Accept: the handshake was refused with 500) or "connection"
	// (after: the connection was closed with 1011).
	ErrorPhaseKey = attribute.Key("wsapi.error.phase")
	// TypedMessageTypeKey is the type of a typed message, as registered
	// with wsapi.On ("chat.send"); "_OTHER" for a type no handler has.
	TypedMessageTypeKey = attribute.Key("wsapi.typed_message.type")
	// BroadcastRemoteKey is true for a broadcast that came from another
	// process through the Manager's broker.
	BroadcastRemoteKey = attribute.Key("wsapi.broadcast.remote")
	// DeliveryOutcomeKey is what a broadcast did for one client:
	// "delivered" (queued), "dropped" (its queue was full, and the Manager
	// drops: wsapi.OverflowDrop) or "overflowed" (its queue was full, and
	// the Manager closed it).
	DeliveryOutcomeKey = attribute.Key("wsapi.delivery.outcome")
	// ConnectionIDKey is the connection's id, on spans only: the "conn"
	// of wsapi's log lines.
	ConnectionIDKey = attribute.Key("wsapi.connection.id")
)

// The metric names (README.md lists their units and attributes; the
// Prometheus exporter turns dots into underscores and adds the unit and
// _total: wsapi_server_handshakes_total, wsapi_server_io_bytes_total).
const (
	MetricActiveConnections    = "wsapi.server.active_connections"     // UpDownCounter: connections open
	MetricHandshakes           = "wsapi.server.handshakes"             // Counter: handshakes answered
	MetricHandshakeDuration    = "wsapi.server.handshake.duration"     // Histogram, s: request to answer
	MetricMessages             = "wsapi.server.messages"               // Counter: data messages received and sent
	MetricIO                   = "wsapi.server.io"                     // Counter, By: their payload bytes
	MetricConnectionDuration   = "wsapi.server.connection.duration"    // Histogram, s: accepted to ended, by close code
	MetricErrors               = "wsapi.server.errors"                 // Counter: handler and dependency failures
	MetricInvalidMessages      = "wsapi.server.invalid_messages"       // Counter: messages Dispatch answered with an error
	MetricTypedMessageDuration = "wsapi.server.typed_message.duration" // Histogram, s: a wsapi.On handler's time
	MetricBroadcasts           = "wsapi.manager.broadcasts"            // Counter: broadcasts delivered by this process
	MetricDeliveries           = "wsapi.manager.deliveries"            // Counter: clients a broadcast was queued, dropped or closed for
)

// The bucket boundaries of the histograms, in seconds: those of
// http.server.request.duration for what takes a request's time, and from
// 10 ms to a day for connections.
var (
	requestBuckets    = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	connectionBuckets = []float64{0.01, 0.1, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400}
)

// instruments are created once per observer; the attribute sets they are
// recorded with are built once per combination and kept.
type instruments struct {
	active            metric.Int64UpDownCounter
	handshakes        metric.Int64Counter
	handshakeDuration metric.Float64Histogram
	messages          metric.Int64Counter
	io                metric.Int64Counter
	connDuration      metric.Float64Histogram
	errors            metric.Int64Counter
	invalid           metric.Int64Counter
	typedDuration     metric.Float64Histogram
	broadcasts        metric.Int64Counter
	deliveries        metric.Int64Counter

	routes cowMap[string, *routeAttrs]
	topics cowMap[string, *topicAttrs]
}

func newInstruments(m metric.Meter) (*instruments, error) {
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	i := &instruments{}
	var err error
	i.active, err = m.Int64UpDownCounter(MetricActiveConnections, metric.WithUnit("{connection}"),
		metric.WithDescription("Number of WebSocket connections open: accepted and not yet ended."))
	check(err)
	i.handshakes, err = m.Int64Counter(MetricHandshakes, metric.WithUnit("{handshake}"),
		metric.WithDescription("Number of WebSocket handshakes answered, accepted or refused."))
	check(err)
	i.handshakeDuration, err = m.Float64Histogram(MetricHandshakeDuration, metric.WithUnit("s"),
		metric.WithDescription("Time from a handshake request's arrival to its answer: dependencies and the handler's work before Accept or the refusal."),
		metric.WithExplicitBucketBoundaries(requestBuckets...))
	check(err)
	i.messages, err = m.Int64Counter(MetricMessages, metric.WithUnit("{message}"),
		metric.WithDescription("Number of data messages received, and sent with the Send methods (broadcasts are counted by wsapi.manager.deliveries)."))
	check(err)
	i.io, err = m.Int64Counter(MetricIO, metric.WithUnit("By"),
		metric.WithDescription("Payload bytes of the data messages received and sent with the Send methods, before compression."))
	check(err)
	i.connDuration, err = m.Float64Histogram(MetricConnectionDuration, metric.WithUnit("s"),
		metric.WithDescription("How long accepted WebSocket connections stayed open, by the close code that ended them."),
		metric.WithExplicitBucketBoundaries(connectionBuckets...))
	check(err)
	i.errors, err = m.Int64Counter(MetricErrors, metric.WithUnit("{error}"),
		metric.WithDescription("Number of handler or dependency failures: errors that closed with 1011 or refused with 500, and panics."))
	check(err)
	i.invalid, err = m.Int64Counter(MetricInvalidMessages, metric.WithUnit("{message}"),
		metric.WithDescription("Number of messages Conn.Dispatch answered with an error: invalid JSON, an unknown type, or failed validation."))
	check(err)
	i.typedDuration, err = m.Float64Histogram(MetricTypedMessageDuration, metric.WithUnit("s"),
		metric.WithDescription("Time a wsapi.On handler took for one typed message."),
		metric.WithExplicitBucketBoundaries(requestBuckets...))
	check(err)
	i.broadcasts, err = m.Int64Counter(MetricBroadcasts, metric.WithUnit("{broadcast}"),
		metric.WithDescription("Number of broadcasts delivered to this process's clients, made here or received from the broker."))
	check(err)
	i.deliveries, err = m.Int64Counter(MetricDeliveries, metric.WithUnit("{delivery}"),
		metric.WithDescription("Number of clients the broadcasts were queued for, dropped for, or closed for (their queue was full)."))
	check(err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return i, nil
}

// cowMap is a map read without a lock or an allocation, copied on write:
// for keys that are few and found early (routes, topics).
type cowMap[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex
}

func (c *cowMap[K, V]) get(k K, build func(K) V) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
	}
	var n map[K]V
	if old == nil {
		n = make(map[K]V, 1)
	} else {
		n = make(map[K]V, len(*old)+1)
		for k, v := range *old {
			n[k] = v
		}
	}
	v := build(k)
	n[k] = v
	c.m.Store(&n)
	return v
}

// lockedMap is a map behind a read-write lock, for the attribute sets of
// the rarer events, whose keys may be many (close codes).
type lockedMap[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (l *lockedMap[K, V]) get(k K, build func(K) V) V {
	l.mu.RLock()
	v, ok := l.m[k]
	l.mu.RUnlock()
	if ok {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.m[k]; ok {
		return v
	}
	if l.m == nil {
		l.m = make(map[K]V)
	}
	v = build(k)
	l.m[k] = v
	return v
}

// addOpts and recordOpts are the options a measurement passes, built once:
// passing a prebuilt slice as opts... allocates nothing.
type (
	addOpts    []metric.AddOption
	recordOpts []metric.RecordOption
)

func attrSet(kvs ...attribute.KeyValue) attribute.Set { return attribute.NewSet(kvs...) }

func addWith(s attribute.Set) addOpts       { return addOpts{metric.WithAttributeSet(s)} }
func recordWith(s attribute.Set) recordOpts { return recordOpts{metric.WithAttributeSet(s)} }

// routeAttrs holds the attribute sets of one route.
type routeAttrs struct {
	route attribute.KeyValue
	// route alone: active connections.
	active addOpts
	// [direction][message type]: messages and bytes.
	messages [2][2]addOpts
	// [panicked][accepted]: errors.
	errors [2][2]addOpts

	handshakes lockedMap[handshakeKey, handshakeOpts]
	ends       lockedMap[wsapi.CloseCode, recordOpts]
	invalid    lockedMap[typedKey, addOpts]
	typed      lockedMap[typedKey, recordOpts]
}

type handshakeKey struct {
	accepted bool
	status   int
}

type handshakeOpts struct {
	count    addOpts
	duration recordOpts
}

type typedKey struct {
	typ, errType string
}

var (
	directions   = [2]attribute.KeyValue{semconv.NetworkIODirectionReceive, semconv.NetworkIODirectionTransmit}
	messageTypes = [2]attribute.KeyValue{MessageTypeKey.String("text"), MessageTypeKey.String("binary")}
	errorTypes   = [2]attribute.KeyValue{semconv.ErrorTypeKey.String("error"), semconv.ErrorTypeKey.String("panic")}
	errorPhases  = [2]attribute.KeyValue{ErrorPhaseKey.String("handshake"), ErrorPhaseKey.String("connection")}
)

func newRouteAttrs(route string) *routeAttrs {
	r := &routeAttrs{route: semconv.HTTPRoute(route)}
	r.active = addWith(attrSet(r.route))
	for d := range directions {
		for t := range messageTypes {
			r.messages[d][t] = addWith(attrSet(r.route, directions[d], messageTypes[t]))
		}
	}
	for p := range errorTypes {
		for a := range errorPhases {
			r.errors[p][a] = addWith(attrSet(r.route, errorTypes[p], errorPhases[a]))
		}
	}
	return r
}

func (i *instruments) route(pattern string) *routeAttrs { return i.routes.get(pattern, newRouteAttrs) }

// topicAttrs holds the attribute sets of one Manager topic.
type topicAttrs struct {
	// [remote][message type]
	broadcasts [2][2]addOpts
	// [remote]
	delivered, dropped, overflowed [2]addOpts
}

func newTopicAttrs(topic string) *topicAttrs {
	t := &topicAttrs{}
	dest := semconv.MessagingDestinationName(topic)
	for r := range 2 {
		remote := BroadcastRemoteKey.Bool(r == 1)
		for m := range messageTypes {
			t.broadcasts[r][m] = addWith(attrSet(dest, remote, messageTypes[m]))
		}
		t.delivered[r] = addWith(attrSet(dest, remote, DeliveryOutcomeKey.String("delivered")))
		t.dropped[r] = addWith(attrSet(dest, remote, DeliveryOutcomeKey.String("dropped")))
		t.overflowed[r] = addWith(attrSet(dest, remote, DeliveryOutcomeKey.String("overflowed")))
	}
	return t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// message counts a data message and its bytes. It allocates nothing once
// the route was seen.
func (r *recorder) message(ev wsapi.MessageEvent) {
	ra := r.route(ev.Route)
	d, t := int(ev.Direction)-1, int(ev.Type)-1
	var opts addOpts
	if uint(d) < 2 && uint(t) < 2 {
		opts = ra.messages[d][t]
	} else { // not an event wsapi sends today
		opts = addWith(attrSet(ra.route, semconv.NetworkIODirectionKey.String(ev.Direction.String()), MessageTypeKey.String(ev.Type.String())))
	}
	r.messages.Add(background, 1, opts...)
	r.io.Add(background, int64(ev.Size), opts...)
}

func (r *recorder) handshakeMetrics(ev wsapi.HandshakeEvent) {
	ra := r.route(ev.Route)
	o := ra.handshakes.get(handshakeKey{ev.Accepted, ev.Status}, func(k handshakeKey) handshakeOpts {
		outcome := "refused"
		if k.accepted {
			outcome = "accepted"
		}
		s := attrSet(ra.route, HandshakeOutcomeKey.String(outcome), semconv.HTTPResponseStatusCode(k.status))
		return handshakeOpts{addWith(s), recordWith(s)}
	})
	r.handshakes.Add(background, 1, o.count...)
	if !ev.Start.IsZero() {
		r.handshakeDuration.Record(background, time.Since(ev.Start).Seconds(), o.duration...)
	}
	if ev.Accepted {
		r.active.Add(background, 1, ra.active...)
	}
}

func (r *recorder) connEnd(ev wsapi.ConnEndEvent) {
	ra := r.route(ev.Route)
	r.active.Add(background, -1, ra.active...)
	o := ra.ends.get(ev.Code, func(code wsapi.CloseCode) recordOpts {
		return recordWith(attrSet(ra.route, CloseCodeKey.Int(int(code))))
	})
	r.connDuration.Record(background, ev.Duration.Seconds(), o...)
}

func (r *recorder) failure(ev wsapi.ErrorEvent) {
	ra := r.route(ev.Route)
	r.errors.Add(background, 1, ra.errors[b2i(ev.Panicked)][b2i(ev.Accepted)]...)
}

// otherType stands for a typed message's type that no handler has: the
// client chose it, and a metric's attribute must not let clients add
// series at will.
const otherType = "_OTHER"

func (r *recorder) invalidMessage(ev wsapi.InvalidMessageEvent) {
	ra := r.route(ev.Route)
	typ, errType := ev.Type, ""
	if ev.Failure != nil && len(ev.Failure.Errors) > 0 {
		errType = ev.Failure.Errors[0].Type
		for _, fe := range ev.Failure.Errors {
			if fe.Type == "unknown_type" {
				typ = otherType
			}
		}
	}
	o := ra.invalid.get(typedKey{typ, errType}, func(k typedKey) addOpts {
		kvs := []attribute.KeyValue{ra.route}
		if k.typ != "" {
			kvs = append(kvs, TypedMessageTypeKey.String(k.typ))
		}
		if k.errType != "" {
			kvs = append(kvs, semconv.ErrorTypeKey.String(k.errType))
		}
		return addWith(attrSet(kvs...))
	})
	r.invalid.Add(background, 1, o...)
}

// handlerErrorType is the error.type of a typed-message handler's error:
// "validation" (a *wsapi.ValidationError, answered to the client),
// "disconnect" (the connection ended), the value of an ErrorType() string
// method of the error or one it wraps, or "_OTHER".
func handlerErrorType(err error) string {
	var ve *wsapi.ValidationError
	if errors.As(err, &ve) {
		return "validation"
	}
	if wsapi.IsDisconnect(err) {
		return "disconnect"
	}
	var et interface{ ErrorType() string }
	if errors.As(err, &et) {
		if s := et.ErrorType(); s != "" {
			return s
		}
	}
	return otherType
}

func (r *recorder) typedDone(ra *routeAttrs, typ string, start time.Time, err error) {
	errType := ""
	if err != nil {
		errType = handlerErrorType(err)
	}
	o := ra.typed.get(typedKey{typ, errType}, func(k typedKey) recordOpts {
		kvs := []attribute.KeyValue{ra.route, TypedMessageTypeKey.String(k.typ)}
		if k.errType != "" {
			kvs = append(kvs, semconv.ErrorTypeKey.String(k.errType))
		}
		return recordWith(attrSet(kvs...))
	})
	r.typedDuration.Record(background, time.Since(start).Seconds(), o...)
}

func (r *recorder) broadcast(ev wsapi.BroadcastEvent) {
	ta := r.topics.get(ev.Topic, newTopicAttrs)
	rem := b2i(ev.Remote)
	if t := int(ev.Type) - 1; uint(t) < 2 {
		r.broadcasts.Add(background, 1, ta.broadcasts[rem][t]...)
	} else {
		r.broadcasts.Add(background, 1, addWith(attrSet(semconv.MessagingDestinationName(ev.Topic),
			BroadcastRemoteKey.Bool(ev.Remote), MessageTypeKey.String(ev.Type.String())))...)
	}
	// Every outcome is added, zeros too, so that each series exists from
	// the first broadcast on and rate() and increase() see its first rise.
	r.deliveries.Add(background, int64(ev.Delivered), ta.delivered[rem]...)
	r.deliveries.Add(background, int64(ev.Dropped), ta.dropped[rem]...)
	r.deliveries.Add(background, int64(ev.Overflowed), ta.overflowed[rem]...)
}
