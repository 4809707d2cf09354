// Package wsapi is a WebSocket framework with the ergonomics of FastAPI:
// declare a route and what the connection needs, and get a connection with
// text, binary and JSON methods, a clear disconnect error, broadcasting,
// and a test client (package wsapitest). It is built on github.com/gobwas/ws
// for the protocol and github.com/go-playground/validator for validation.
//
// # Routes
//
// New returns an App, an http.Handler. WebSocket routes use net/http
// ServeMux patterns and live beside plain HTTP routes, such as the page
// that opens the connection:
//
//	app := wsapi.New(nil)
//	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
//		if err := ws.Accept(ctx, nil); err != nil {
//			return err
//		}
//		for {
//			data, err := ws.ReceiveText(ctx)
//			if err != nil {
//				return err // a *wsapi.DisconnectError ends the handler quietly
//			}
//			if err := ws.SendText(ctx, "Message text was: "+data); err != nil {
//				return err
//			}
//		}
//	})
//	app.Handle("GET /{$}", http.FileServerFS(static))
//
// An upgrade request goes to the WebSocket route of its path, never to a
// plain route such as a catch-all page; an upgrade for a path without a
// WebSocket route gets 404, and a plain request to a WebSocket route gets
// 426 Upgrade Required. Group and NewRouter with Include give prefixes,
// as FastAPI's APIRouter and include_router do; Use adds standard
// func(http.Handler) http.Handler middleware, which sees the handshake.
// The App mounts in any mux, under http.StripPrefix when it has a prefix.
//
// # Dependencies
//
// Route registers a handler that takes a params struct. Its fields bind from
// the handshake request by tag: path, query, header, cookie, or protocol (a
// value carried in Sec-WebSocket-Protocol after a marker, for browser
// tokens). Supported types are strings, bools, integers and floats of every
// size, time.Duration, time.Time (RFC 3339), types implementing
// encoding.TextUnmarshaler, slices of those (repeated query keys and
// headers) and pointers to them (optional values). A field without a
// pointer and without a default tag is required. validate tags are checked
// with go-playground/validator.
//
// A struct field without a tag is a dependency: FastAPI's Depends. Its own
// fields are bound the same way, its sub-dependencies resolved first, and
// its Resolve method (see Resolver) runs last. Each dependency type is
// resolved once per connection and shared; a Close method runs after the
// handler returns, in reverse order of resolution, and Close(ctx) gets a
// context that keeps the connection's values but is not cancelled by its
// end (it expires after 10 seconds). A pointer field shares the
// connection's one instance; a value field gets a copy. Depends adds a
// dependency to every route of an app or group; Override replaces one in
// tests. Fields of type *http.Request and *Conn are filled in; unexported
// struct fields are left alone.
//
// What lives as long as the app (a database pool, configuration, a
// Manager) is app state: Provide stores a value under its type, and
// State[T] returns it from the ctx of a Resolve method, a handler, or an
// HTTP request the app serves. HTTPRoute registers a plain HTTP route whose
// params struct binds and resolves as a WebSocket route's, so one
// dependency type serves both.
//
// All of it runs before the handshake is accepted. Registration inspects the
// struct once; a wrong declaration (an unsupported type, a misspelt tag, a
// path name the pattern lacks) panics at registration, naming the field.
//
// # Refusing a connection
//
// Before Accept, a refusal is an HTTP response with a JSON body: Reject
// (FastAPI's WebSocketException) answers 403 with the close code and reason;
// values that fail to bind or validate answer 422 listing each one, with
// "loc", "msg" and "type" as FastAPI does. Browsers cannot read the status
// of a refused handshake, so Options.RejectAfterAccept accepts instead and
// closes with the code and reason. After Accept, returning a *RejectError
// closes the connection with its code. A RejectError may also carry the
// refusal's headers and its own body (a 401 with WWW-Authenticate, say).
//
// Errors that are not yours become refusals or close codes of your choice
// through error handlers, FastAPI's exception_handlers: HandleError matches
// an error type, HandleErrorIs a sentinel value such as sql.ErrNoRows.
//
// # Messages
//
// Conn has ReceiveText, ReceiveBytes, ReceiveJSON (decoded, then validated;
// a bad message returns a *ValidationError and keeps the connection open),
// Receive for either type, the generic ReceiveAs, and iterators (Messages,
// Texts, MessagesAs) that end quietly when the connection ends. SendText,
// SendBytes, SendJSON and Send write whole messages; JSON is compact UTF-8
// without HTML escaping. ReceiveFunc lends each message from a reused
// buffer, so an echo or a relay of large messages allocates nothing.
//
// On a route with typed messages (On, Emits), Conn.Dispatch dispatches each
// JSON message on its "type" field to its handler, validates it, and
// answers a bad one with an error message without closing.
//
// # Disconnects and close codes
//
// Once the connection has ended, every Receive and Send method returns a
// *DisconnectError carrying the close code and reason (FastAPI's
// WebSocketDisconnect); IsDisconnect tests for it. A handler that returns
// nil closes with CloseNormalClosure (1000); one that returns another error,
// or panics, is logged and closes with CloseInternalServerError (1011),
// and the server goes on serving. Protocol violations close with the code
// RFC 6455 gives them: 1002 for a malformed frame, 1007 for invalid UTF-8,
// 1009 for a message over Options.ReadLimit, 1003 for a message of the
// wrong type for ReceiveText or ReceiveBytes. 1005, 1006 and 1015 are only
// reported, never sent.
//
// # Broadcasting
//
// Manager is the tutorial's ConnectionManager: Connect, DisconnectError,
// Broadcast, rooms and audiences. A broadcast encodes its frame once and
// queues it for each client; each connection drains its own queue, bounded
// in bytes (1 MiB by default), so a burst of thousands of messages reaches
// every reading client whole, a slow client never delays the others, and a
// client a whole bound behind is closed (or skipped). A broadcast never
// waits on clients, so its ctx's cancellation does not stop it: the
// handler's ctx still says goodbye after the client left. With UseBroker,
// managers on many processes share broadcasts and rooms through Redis or
// NATS (modules github.com/wsapi-go/wsapi/redisbroker and .../natsbroker).
//
// # Concurrency
//
// The Send methods and Close are safe from any goroutine: frames are never
// interleaved, and those of one goroutine keep their order. A Send that
// returns an error did not send its message and never will: one that gives
// up on its ctx is taken out of the queue. Receive methods are for one
// goroutine at a time; a second call while one runs panics. A Receive that
// gives up on its ctx loses nothing, and ReceiveFunc's message stays as it
// arrived until the callback returns. A handler's context is cancelled when the
// connection ends, even if the handler never reads: when it stops reading
// for a while, a background reader takes over, answers pings and notices
// the peer leaving. Each connection runs its handler on a goroutine of its
// own, with no other goroutine while idle.
//
// # Security
//
// By default the handshake must come from the page's own origin (see
// Options.OriginPatterns), which stops Cross-Site WebSocket Hijacking;
// messages are limited to 1 MiB; writes time out; silent peers are pinged
// and dropped after Options.IdleTimeout; App.Serve sets a header timeout
// against slow handshakes; App.Shutdown closes every connection with
// CloseGoingAway. wsapi never logs query strings, cookies or header values.
package wsapi
