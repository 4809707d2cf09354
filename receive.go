package wsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/gobwas/ws"
)

// MessageType is the type of a data message: text (UTF-8) or binary.
type MessageType int

// The data message types, numbered as their RFC 6455 opcodes.
const (
	MessageText   MessageType = 1
	MessageBinary MessageType = 2
)

// String returns "text" or "binary".
func (t MessageType) String() string {
	switch t {
	case MessageText:
		return "text"
	case MessageBinary:
		return "binary"
	}
	return fmt.Sprintf("MessageType(%d)", int(t))
}

// Receive returns the next data message, text or binary. The returned
// slice belongs to the caller. After the connection ends it returns a
// *DisconnectError.
//
// If ctx is done first, Receive returns ctx.Err() and the connection stays
// usable: nothing is lost, even if a message had started to arrive; the
// next Receive returns it whole.
func (c *Conn) Receive(ctx context.Context) (MessageType, []byte, error) {
	c.beginReceive()
	defer c.endReceive()
	op, data, kind, err := c.next(ctx, false)
	if err != nil {
		return 0, nil, err
	}
	if kind != msgOwned || data == nil {
		data = append([]byte{}, data...)
	}
	return MessageType(op), data, nil
}

// ReceiveFunc calls f with the next data message, text or binary. data is
// lent to f: it sits in a buffer that is reused once f returns, which
// spares an allocation per message — worth it for large messages at high
// rates. Until f returns, nothing else reads from the connection, so data
// stays as it arrived however long f takes; but pings wait for f too, so
// keep f short (copy data and return before slow work). f may pass data to
// the Send methods (an echo costs no copy), must keep a copy (bytes.Clone)
// of anything it needs later, and must not receive on the connection.
// Errors are Receive's; f's error is returned.
func (c *Conn) ReceiveFunc(ctx context.Context, f func(t MessageType, data []byte) error) error {
	c.beginReceive()
	defer c.endReceive()
	op, data, kind, err := c.next(ctx, true)
	if err != nil {
		return err
	}
	if c.held {
		c.owner.lend()
	}
	err = f(MessageType(op), data)
	if kind == msgPooled {
		putMessageBuf(data)
	}
	return err
}

// ReceiveText returns the next message, which must be text. A binary
// message closes the connection with CloseUnsupportedData (1003) and returns
// a *DisconnectError. Text that is not valid UTF-8 closes it with
// CloseInvalidFramePayloadData (1007).
func (c *Conn) ReceiveText(ctx context.Context) (string, error) {
	c.beginReceive()
	defer c.endReceive()
	op, data, kind, err := c.next(ctx, false)
	if err != nil {
		return "", err
	}
	if op != ws.OpText {
		c.releaseRead() // the close handshake reads the peer's answer
		c.closeHandshake(CloseUnsupportedData, "expected a text message, got binary")
		return "", c.errClosed()
	}
	if kind == msgOwned && len(data) > 0 {
		// unsafe: an owned payload is a fresh allocation that nothing else
		// references or will write, so the string can share it instead of
		// copying it. BenchmarkReceiveText/16KiB: a second allocation of the
		// message's size spared.
		return unsafe.String(&data[0], len(data)), nil
	}
	return string(data), nil
}

// ReceiveBytes returns the next message, which must be binary. A text
// message closes the connection with CloseUnsupportedData (1003) and returns
// a *DisconnectError; use Receive to accept both.
func (c *Conn) ReceiveBytes(ctx context.Context) ([]byte, error) {
	c.beginReceive()
	defer c.endReceive()
	op, data, kind, err := c.next(ctx, false)
	if err != nil {
		return nil, err
	}
	if op != ws.OpBinary {
		c.releaseRead() // the close handshake reads the peer's answer
		c.closeHandshake(CloseUnsupportedData, "expected a binary message, got text")
		return nil, c.errClosed()
	}
	if kind != msgOwned || data == nil {
		data = append([]byte{}, data...)
	}
	return data, nil
}

// ReceiveJSON decodes the next message, text or binary, into v, then checks
// v's validate tags. A message that is not valid JSON, does not fit v, or
// fails validation returns a *ValidationError and leaves the connection
// open, so the handler can answer it (the error marshals to FastAPI's
// {"detail": [...]} shape).
func (c *Conn) ReceiveJSON(ctx context.Context, v any) error {
	c.beginReceive()
	defer c.endReceive()
	_, data, _, err := c.next(ctx, false)
	if err != nil {
		return err
	}
	err = json.Unmarshal(data, v)
	c.releaseRead()
	if err != nil {
		return jsonError(err)
	}
	return c.app.checker.messageErrors(v)
}

// jsonError describes a decoding failure as a *ValidationError.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		loc := []string{"message"}
		if te.Field != "" {
			loc = append(loc, strings.Split(te.Field, ".")...)
		}
		return &ValidationError{Errors: []FieldError{{
			Loc:  loc,
			Msg:  fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value),
			Type: "type_error",
		}}}
	}
	var ie *json.InvalidUnmarshalError
	if errors.As(err, &ie) {
		return fmt.Errorf("wsapi: ReceiveJSON needs a non-nil pointer: %w", err)
	}
	return &ValidationError{Errors: []FieldError{{
		Loc:  []string{"message"},
		Msg:  "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: "),
		Type: "json_invalid",
	}}}
}
