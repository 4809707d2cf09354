package wsapi

import (
	"fmt"
	"log/slog"
	"path"
	"time"
)

// Options configures an App. A nil *Options, or a zero field, means the
// default written on the field. Negative durations and limits turn a
// safeguard off; each field says what that risks.
type Options struct {
	// ReadLimit is the largest message, in bytes, that a connection accepts;
	// a larger one closes the connection with CloseMessageTooBig (1009).
	// Default 1 MiB. Negative: no limit, and one client can exhaust memory.
	ReadLimit int64

	// WriteTimeout bounds each write to a client. A client that does not
	// take a frame for this long is dropped, so a stuck client never holds
	// a sender for long. Default 10s. Negative: writes may block forever.
	WriteTimeout time.Duration

	// PingInterval is how long a connection may be silent before the server
	// pings it; browsers and clients answer pings by themselves. Default
	// 30s. Negative: no pings, and proxies may cut idle connections.
	PingInterval time.Duration

	// IdleTimeout closes, with CloseGoingAway (1001) and reason "idle
	// timeout", a connection that has sent nothing, not even a pong, for
	// this long. Keep it above PingInterval. Default 60s. Negative: a dead
	// peer whose network vanished without a FIN holds its connection forever.
	IdleTimeout time.Duration

	// HandshakeTimeout bounds how long App.Serve waits for a client to send
	// its handshake request headers (http.Server's ReadHeaderTimeout), so
	// slow clients (slowloris) cannot hold connections open for free.
	// Default 10s. It applies to App.Serve and App.ListenAndServe; set
	// ReadHeaderTimeout yourself on your own http.Server.
	HandshakeTimeout time.Duration

	// ShutdownTimeout is how long App.Serve and App.ListenAndServe give
	// connections and requests to finish once their context is done;
	// what remains then is dropped. Default 10s. Negative: drop at once.
	ShutdownTimeout time.Duration

	// MaxConnections caps the connections the app holds: those open, and
	// those whose handshake or handler is still running. Handshakes past
	// the cap are answered 503 Service Unavailable. Default 0: no cap
	// beyond the process's file limit.
	MaxConnections int

	// OriginPatterns lists the origins, besides the request's own host,
	// whose pages may open connections, as path.Match patterns over the
	// Origin's host[:port], such as "example.com" or "*.example.com:8443".
	// A handshake from any other origin is refused with 403, which stops
	// Cross-Site WebSocket Hijacking. Requests without an Origin header
	// (non-browser clients) are allowed.
	OriginPatterns []string

	// InsecureSkipOriginCheck accepts handshakes from every origin. Any web
	// page a user visits can then open connections with the user's cookies.
	InsecureSkipOriginCheck bool

	// Compression negotiates permessage-deflate (RFC 7692) with clients
	// that offer it. Default CompressionDisabled; see CompressionMode for
	// the trade-offs.
	Compression CompressionMode

	// RejectAfterAccept makes a refusal before Accept (a *RejectError, a
	// binding or validation error, or a failed handler) accept the
	// connection and close it with the close code and reason, instead of
	// answering with an HTTP status: browsers cannot read the status of a
	// refused handshake, but they do see a close code. Default false:
	// refusals are HTTP responses (403, 422, 500) with a JSON body.
	RejectAfterAccept bool

	// Observer receives the connections' events (handshakes, messages,
	// ends, errors), for metrics and traces: see the otelwsapi module.
	// Default none, which costs nothing.
	Observer *Observer

	// Logger receives handler errors and panics. Default slog.Default().
	// wsapi never logs query strings, cookies or header values.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with zero fields set to their defaults.
func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
		out.OriginPatterns = append([]string(nil), o.OriginPatterns...)
	}
	if out.ReadLimit == 0 {
		out.ReadLimit = 1 << 20
	}
	if out.WriteTimeout == 0 {
		out.WriteTimeout = 10 * time.Second
	}
	if out.HandshakeTimeout == 0 {
		out.HandshakeTimeout = 10 * time.Second
	}
	if out.ShutdownTimeout == 0 {
		out.ShutdownTimeout = 10 * time.Second
	}
	if out.PingInterval == 0 {
		out.PingInterval = 30 * time.Second
	}
	if out.IdleTimeout == 0 {
		out.IdleTimeout = 60 * time.Second
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	for _, p := range out.OriginPatterns {
		if _, err := path.Match(p, ""); err != nil {
			panic(fmt.Sprintf("wsapi: Options.OriginPatterns: bad pattern %q: %v", p, err))
		}
	}
	return out
}
