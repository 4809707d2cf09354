package wsapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gobwas/ws"
)

// Observer receives the events of an app's connections, or of a Manager's
// broadcasts, to build metrics, traces and logs on: the otelwsapi module
// turns them into OpenTelemetry metrics and spans. Set it with
// Options.Observer or ManagerOptions.Observer; a nil field skips its event,
// and an unset Observer costs nothing. The functions are called on the
// connections' own goroutines, concurrently: they must be quick and safe
// for concurrent use, and must not block.
type Observer struct {
	// HandshakeStart is called when a handshake request reaches a
	// WebSocket route, before anything else; the context it returns
	// becomes the request's, and so the dependencies' and the
	// connection's: a span started here covers the handshake, and the
	// handler's work can be its child.
	HandshakeStart func(ctx context.Context, ev HandshakeEvent) context.Context
	// HandshakeEnd is called once the handshake is answered: accepted
	// (Status 101) or refused (the HTTP status, or, with
	// Options.RejectAfterAccept, 101 and the close code in Refusal).
	HandshakeEnd func(ctx context.Context, ev HandshakeEvent)
	// Message is called for every data message a connection receives, and
	// every one it sends with the Send methods. Broadcasts are reported
	// once each, by Broadcast, not per receiver.
	Message func(ev MessageEvent)
	// ConnEnd is called once an accepted connection has ended.
	ConnEnd func(ev ConnEndEvent)
	// Error is called when a handler or a dependency fails: it returns an
	// error that ends the connection with 1011 or refuses it with 500, or
	// panics.
	Error func(ev ErrorEvent)
	// InvalidMessage is called when Conn.Dispatch answers a message that
	// is not valid JSON, has an unknown type or fails validation.
	InvalidMessage func(ev InvalidMessageEvent)
	// TypedMessage is called before Conn.Dispatch runs an On handler: the
	// context it returns is the handler's (a span per message, say), and
	// end, when not nil, is called with the handler's result.
	TypedMessage func(ctx context.Context, ev TypedMessageEvent) (_ context.Context, end func(err error))
	// Broadcast is called, on a Manager with this observer, once per
	// broadcast delivered to this process's clients, whether sent here or
	// received from the broker.
	Broadcast func(ev BroadcastEvent)
}

// HandshakeEvent describes a handshake: the route's full pattern, such as
// "/items/{item_id}/ws", the connection's id, and, in HandshakeEnd, how it
// was answered.
type HandshakeEvent struct {
	Route  string
	ConnID uint64 // 0 when refused before a connection existed (a bad handshake, the origin, MaxConnections)
	Start  time.Time
	// Set in HandshakeEnd:
	Accepted bool
	Status   int       // 101, or the refusal's HTTP status
	Refusal  CloseCode // the refusal's close code; 0 when accepted
	Err      error     // why it was refused, when it was an error (a dependency's or a handler's)
}

// Direction says whether a message was received or sent.
type Direction uint8

// Message directions.
const (
	Received Direction = iota + 1
	Sent
)

// String returns "received" or "sent".
func (d Direction) String() string {
	if d == Sent {
		return "sent"
	}
	return "received"
}

// MessageEvent describes one data message of a connection.
type MessageEvent struct {
	Route     string
	ConnID    uint64
	Direction Direction
	Type      MessageType
	Size      int // payload bytes, before compression
}

// ConnEndEvent describes the end of an accepted connection: the close code
// that ended it (see DisconnectError.Code) and how long it was open.
type ConnEndEvent struct {
	Route    string
	ConnID   uint64
	Code     CloseCode
	Reason   string
	Duration time.Duration
}

// ErrorEvent describes a failure of a handler or a dependency. Err is the
// error, or one describing the panic; it is never sent to the client.
type ErrorEvent struct {
	Route    string
	ConnID   uint64
	Err      error
	Panicked bool
	Accepted bool // the failure came after Accept
}

// InvalidMessageEvent describes a message Conn.Dispatch answered with an
// error message: its type when it named one, and the failures.
type InvalidMessageEvent struct {
	Route   string
	ConnID  uint64
	Type    string
	Failure *ValidationError
}

// TypedMessageEvent describes a message Conn.Dispatch hands to its handler.
type TypedMessageEvent struct {
	Route  string
	ConnID uint64
	Type   string
	Size   int
}

// BroadcastEvent describes one broadcast on one process: how many of its
// clients it was queued for, dropped for (OverflowDrop) or closed for
// (the other policies, when their queue was full).
type BroadcastEvent struct {
	Topic      string
	Room       string // "" for a broadcast to everyone
	Remote     bool   // it came from another process through the broker
	Type       MessageType
	Size       int
	Delivered  int
	Dropped    int
	Overflowed int
}

// observeHandshake reports how a handshake was answered.
func (a *App) observeHandshake(ctx context.Context, ev HandshakeEvent) {
	if o := a.obs; o != nil && o.HandshakeEnd != nil {
		o.HandshakeEnd(ctx, ev)
	}
}

// accepted reports an accepted handshake, and logs it at debug level. It
// runs on the goroutine serving the handshake, off the handler's stack.
func (a *App) accepted(c *Conn) {
	if a.logger.Enabled(context.Background(), slog.LevelDebug) {
		a.logger.Debug("wsapi: connection accepted", "route", c.route.pattern, "conn", c.id,
			"remote", c.remoteAddr(), "subprotocol", c.Subprotocol())
	}
	a.observeHandshake(c.requestContext(), HandshakeEvent{Route: c.route.pattern, ConnID: c.id,
		Start: time.Unix(0, c.started), Accepted: true, Status: http.StatusSwitchingProtocols})
}

// observeEnd reports the end of an accepted connection, and logs it at
// debug level.
func (c *Conn) observeEnd(d *DisconnectError) {
	if c.opened == 0 {
		return // refused, or ended in the handshake
	}
	a := c.app
	dur := time.Duration(time.Now().UnixNano() - c.opened)
	if a.logger.Enabled(context.Background(), slog.LevelDebug) {
		// A close reason the client sent is the client's text: it is never
		// logged (see the security guide). The reasons this side sent are.
		reason := ""
		if c.localClose.Load() {
			reason = d.Reason
		}
		a.logger.Debug("wsapi: connection closed", "route", c.route.pattern, "conn", c.id,
			"code", int(d.Code), "reason", reason, "duration", dur)
	}
	if o := a.obs; o != nil && o.ConnEnd != nil {
		o.ConnEnd(ConnEndEvent{Route: c.route.pattern, ConnID: c.id, Code: d.Code, Reason: d.Reason, Duration: dur})
	}
}

// observeError reports a handler's or a dependency's failure.
func (c *Conn) observeError(err error, panicked bool) {
	if o := c.app.obs; o != nil && o.Error != nil {
		o.Error(ErrorEvent{Route: c.route.pattern, ConnID: c.id, Err: err, Panicked: panicked, Accepted: c.opened != 0})
	}
}

// observeMessage reports a data message received or sent.
func (c *Conn) observeMessage(dir Direction, op ws.OpCode, size int) {
	if o := c.app.obs; o != nil && o.Message != nil {
		o.Message(MessageEvent{Route: c.route.pattern, ConnID: c.id, Direction: dir, Type: MessageType(op), Size: size})
	}
}
