package wsapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wsapi-go/wsapi/internal/frame"
)

// CloseCode is a WebSocket close status code (RFC 6455, section 7.4).
type CloseCode int

// Close codes defined by RFC 6455 and the IANA registry. 1005, 1006 and 1015
// are reserved for reporting: wsapi never sends them on the wire.
const (
	CloseNormalClosure           CloseCode = 1000 // the purpose of the connection was fulfilled
	CloseGoingAway               CloseCode = 1001 // server shutting down, peer navigating away, idle timeout
	CloseProtocolError           CloseCode = 1002 // the peer broke RFC 6455
	CloseUnsupportedData         CloseCode = 1003 // a message type the endpoint cannot accept
	CloseNoStatusReceived        CloseCode = 1005 // reported when a close frame carried no code
	CloseAbnormalClosure         CloseCode = 1006 // reported when the TCP connection ended without a close frame
	CloseInvalidFramePayloadData CloseCode = 1007 // e.g. invalid UTF-8 in a text message
	ClosePolicyViolation         CloseCode = 1008 // generic refusal, e.g. failed authentication
	CloseMessageTooBig           CloseCode = 1009 // a message exceeded the read limit
	CloseMandatoryExtension      CloseCode = 1010 // the client needed an extension the server did not offer
	CloseInternalServerError     CloseCode = 1011 // the handler failed or panicked
	CloseServiceRestart          CloseCode = 1012 // the server is restarting
	CloseTryAgainLater           CloseCode = 1013 // temporary overload, e.g. a full send queue
	CloseBadGateway              CloseCode = 1014 // a gateway got an invalid response upstream
	CloseTLSHandshake            CloseCode = 1015 // reported when the TLS handshake failed
)

var closeCodeNames = map[CloseCode]string{
	CloseNormalClosure:           "normal closure",
	CloseGoingAway:               "going away",
	CloseProtocolError:           "protocol error",
	CloseUnsupportedData:         "unsupported data",
	CloseNoStatusReceived:        "no status received",
	CloseAbnormalClosure:         "abnormal closure",
	CloseInvalidFramePayloadData: "invalid frame payload data",
	ClosePolicyViolation:         "policy violation",
	CloseMessageTooBig:           "message too big",
	CloseMandatoryExtension:      "mandatory extension",
	CloseInternalServerError:     "internal server error",
	CloseServiceRestart:          "service restart",
	CloseTryAgainLater:           "try again later",
	CloseBadGateway:              "bad gateway",
	CloseTLSHandshake:            "TLS handshake",
}

// String returns the code and its RFC 6455 name, such as "1008 (policy violation)".
func (c CloseCode) String() string {
	if name, ok := closeCodeNames[c]; ok {
		return strconv.Itoa(int(c)) + " (" + name + ")"
	}
	return strconv.Itoa(int(c))
}

// sendable reports whether c may appear in a close frame on the wire
// (RFC 6455, section 7.4.1 and 7.4.2).
func (c CloseCode) sendable() bool { return c >= 0 && c <= 0xffff && frame.Sendable(uint16(c)) }

// DisconnectError reports that the connection is over: the peer closed it, the
// server closed it, or the network dropped it. Every Receive and Send method
// returns a *DisconnectError once the connection has ended; it is FastAPI's
// WebSocketDisconnect. A handler that returns a *DisconnectError ends quietly.
//
// Code is the code of the close frame that ended the connection: the peer's
// code when the peer closed first (CloseNoStatusReceived when its close frame
// carried none), the server's code when the server closed first, and
// CloseAbnormalClosure when the TCP connection ended without a close frame.
type DisconnectError struct {
	Code   CloseCode
	Reason string
}

// Error describes the end of the connection with its code and reason.
func (d *DisconnectError) Error() string {
	if d.Reason == "" {
		return "wsapi: connection closed: " + d.Code.String()
	}
	return fmt.Sprintf("wsapi: connection closed: %s %q", d.Code, d.Reason)
}

// IsDisconnect reports whether err, or an error it wraps, is a *DisconnectError.
func IsDisconnect(err error) bool {
	var d *DisconnectError
	return errors.As(err, &d)
}

// CloseStatus returns the close code of the *DisconnectError or *RejectError in
// err's chain, or -1 when there is none.
func CloseStatus(err error) CloseCode {
	var d *DisconnectError
	if errors.As(err, &d) {
		return d.Code
	}
	var r *RejectError
	if errors.As(err, &r) {
		return r.Code
	}
	return -1
}

// RejectError refuses a connection: it is FastAPI's WebSocketException.
// Returned by a dependency's Resolve method or by a handler before Accept, it
// answers the handshake with an HTTP error (Status, 403 Forbidden when zero),
// its Header, and a JSON body {"code": Code, "detail": Reason} or its own
// Body: Starlette's send_denial_response. After Accept, it closes the
// connection with Code and Reason.
//
//	return &wsapi.RejectError{
//		Code:   wsapi.ClosePolicyViolation,
//		Reason: "token required",
//		Status: http.StatusUnauthorized,
//		Header: http.Header{"WWW-Authenticate": {`Bearer realm="chat"`}},
//	}
//
// With Options.RejectAfterAccept set, a rejection before Accept also accepts
// the connection and then closes it with Code and Reason, because browsers
// cannot read the status of a refused handshake; Header and Body are then
// unused.
type RejectError struct {
	Code   CloseCode // close code; ClosePolicyViolation when zero or not sendable
	Reason string    // sent to the client; keep secrets out of it
	Status int       // HTTP status before Accept, 403 when zero

	// Header holds headers for the refusal's HTTP response, such as
	// WWW-Authenticate for a 401. Unused after Accept.
	Header http.Header
	// Body, when not nil, is the refusal's HTTP body instead of the JSON
	// one, with Header's Content-Type (text/plain; charset=utf-8 when it has
	// none). Unused after Accept.
	Body []byte
}

// Reject returns a *RejectError with the given close code and reason.
//
//	if token == "" {
//		return wsapi.Reject(wsapi.ClosePolicyViolation, "token required")
//	}
func Reject(code CloseCode, reason string) error {
	return &RejectError{Code: code, Reason: reason}
}

// Error describes the refusal with its code and reason.
func (e *RejectError) Error() string {
	if e.Reason == "" {
		return "wsapi: connection rejected: " + e.code().String()
	}
	return fmt.Sprintf("wsapi: connection rejected: %s %q", e.code(), e.Reason)
}

// code is the close code to send: ClosePolicyViolation when Code is zero
// or may not appear on the wire (1005, 1006, 1015, or out of range).
func (e *RejectError) code() CloseCode {
	if !e.Code.sendable() {
		return ClosePolicyViolation
	}
	return e.Code
}

func (e *RejectError) status() int {
	if e.Status == 0 {
		return http.StatusForbidden
	}
	return e.Status
}

// FieldError describes one value that failed to bind or validate. Its JSON
// form matches FastAPI's: {"loc": ["query", "token"], "msg": "...", "type": "missing"}.
type FieldError struct {
	// Loc is the value's location: its source ("path", "query", "header",
	// "cookie", "protocol" or "message") followed by its name or JSON path.
	Loc []string `json:"loc"`
	// Msg says what is wrong, in English.
	Msg string `json:"msg"`
	// Type is a short machine-readable kind: "missing", "int_parsing",
	// "bool_parsing", "value_error", or the failing validate tag ("min", "email", ...).
	Type string `json:"type"`
}

// ValidationError lists the values of a handshake or a message that failed to
// bind or validate. Before Accept, it answers the handshake with 422 and a
// JSON body {"detail": [FieldError...], "endpoint": "WS /items/{item_id}"};
// returned by Conn.ReceiveJSON, it leaves the connection open so the handler
// can answer it.
type ValidationError struct {
	Errors []FieldError `json:"detail"`
	// Endpoint names the route whose handshake or request failed, as "WS "
	// or an HTTP method followed by its full pattern, such as
	// "WS /sub/ws/{item_id}"; empty for a message. The 422 body carries it
	// as "endpoint".
	Endpoint string `json:"-"`
}

// Error lists each failing value as "source.name: message".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("wsapi: invalid ")
	if len(e.Errors) == 1 {
		b.WriteString("value")
	} else {
		b.WriteString("values")
	}
	if e.Endpoint != "" {
		b.WriteString(" for ")
		b.WriteString(e.Endpoint)
	}
	b.WriteString(": ")
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(strings.Join(fe.Loc, "."))
		b.WriteString(": ")
		b.WriteString(fe.Msg)
	}
	return b.String()
}

// locations lists where each failing value was, such as "query.limit", for
// logs: never the values, which may be secrets.
func (e *ValidationError) locations() []string {
	locs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		locs[i] = strings.Join(fe.Loc, ".")
	}
	return locs
}

// truncateReason cuts s to at most 123 bytes, the room a close frame leaves
// after its code, without splitting a UTF-8 sequence; invalid UTF-8 is replaced.
func truncateReason(s string) string {
	const max = 123
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
