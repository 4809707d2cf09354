package wsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"unsafe"

	"github.com/gobwas/ws"
)

// SendText sends a text message. It is safe from any goroutine and returns
// when the message is written; after the connection ends it returns a
// *DisconnectError.
func (c *Conn) SendText(ctx context.Context, s string) error {
	// unsafe: the write path only reads the payload (it writes it to the
	// socket, or copies it into the queue or a compressor) and keeps no
	// reference to it once it returns, so s's bytes can stand in for a
	// []byte. BenchmarkWrite/text16KiB: the copy this spares is an
	// allocation per message.
	return c.writeMessage(ctx, ws.OpText, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// Send sends data as a message of type t, as SendText and SendBytes do; it
// is the counterpart of Receive and ReceiveFunc:
//
//	err := ws.ReceiveFunc(ctx, func(t wsapi.MessageType, data []byte) error {
//		return ws.Send(ctx, t, data) // an echo, without a copy
//	})
//
// Text must be valid UTF-8: clients close the connection on invalid text.
func (c *Conn) Send(ctx context.Context, t MessageType, data []byte) error {
	switch t {
	case MessageText:
		return c.writeMessage(ctx, ws.OpText, data)
	case MessageBinary:
		return c.writeMessage(ctx, ws.OpBinary, data)
	}
	return fmt.Errorf("wsapi: Send: %v is not a data message type", t)
}

// SendBytes sends a binary message, as SendText does.
func (c *Conn) SendBytes(ctx context.Context, b []byte) error {
	return c.writeMessage(ctx, ws.OpBinary, b)
}

// SendJSON sends v encoded as compact JSON in a text message. Strings are
// sent as UTF-8, without \u escapes for non-ASCII or HTML characters.
func (c *Conn) SendJSON(ctx context.Context, v any) error {
	buf, err := marshalJSON(v)
	if err != nil {
		return err
	}
	err = c.writeMessage(ctx, ws.OpText, buf.Bytes())
	putJSONBuffer(buf)
	return err
}

var jsonBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// marshalJSON encodes v as compact JSON without HTML escaping into a pooled buffer.
func marshalJSON(v any) (*bytes.Buffer, error) {
	buf := jsonBufPool.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		putJSONBuffer(buf)
		return nil, fmt.Errorf("wsapi: encoding JSON: %w", err)
	}
	buf.Truncate(buf.Len() - 1) // Encode ends with a newline
	return buf, nil
}

func putJSONBuffer(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		jsonBufPool.Put(b)
	}
}
