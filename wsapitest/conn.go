package wsapitest

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/internal/testhook"
)

// ErrTimeout is returned by Conn.Receive when no message arrives in time.
var ErrTimeout = errors.New("wsapitest: timed out waiting for a message")

// Conn is the client end of one connection. Its Send and Receive methods
// fail the test on error; Receive and Wait return errors instead.
type Conn struct {
	t           testing.TB
	nc          net.Conn
	br          *bufio.Reader
	timeout     time.Duration
	results     chan testhook.Result // nil for DialURL connections
	header      http.Header
	subprotocol string

	wmu       sync.Mutex // serializes writes, including pong and close replies
	closeSent bool

	// permessage-deflate, when the server agreed to it.
	deflate       bool
	serverContext bool   // the server keeps its window between messages
	dict          []byte // the last 32 KiB inflated, with serverContext

	mu        sync.Mutex // guards the fields below
	serverEnd *wsapi.DisconnectError
	result    *testhook.Result
	collected bool // the test read the handler's result with Wait
	finished  bool // Close or Drop ran
}

// SetTimeout changes how long this connection's receives and handler waits
// may take; a short one lets a test check that nothing more arrives.
func (c *Conn) SetTimeout(d time.Duration) { c.timeout = d }

// Subprotocol returns the subprotocol the server agreed on, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Header returns the headers of the server's 101 response.
func (c *Conn) Header() http.Header { return c.header }

// NetConn returns the underlying TCP connection, for tests that write raw
// bytes. Reads must go through the Conn, which may have buffered data.
func (c *Conn) NetConn() net.Conn { return c.nc }

// SendText sends a text message.
func (c *Conn) SendText(s string) {
	c.t.Helper()
	if err := c.write(ws.OpText, []byte(s)); err != nil {
		c.t.Fatalf("wsapitest: SendText: %v", err)
	}
}

// SendBytes sends a binary message.
func (c *Conn) SendBytes(b []byte) {
	c.t.Helper()
	if err := c.write(ws.OpBinary, b); err != nil {
		c.t.Fatalf("wsapitest: SendBytes: %v", err)
	}
}

// SendJSON sends v as JSON in a text message.
func (c *Conn) SendJSON(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatalf("wsapitest: SendJSON: %v", err)
	}
	if err := c.write(ws.OpText, b); err != nil {
		c.t.Fatalf("wsapitest: SendJSON: %v", err)
	}
}

// OpCode is a frame's opcode (RFC 6455, section 5.2).
type OpCode byte

// The opcodes of RFC 6455; the others are reserved.
const (
	OpContinuation OpCode = 0x0
	OpText         OpCode = 0x1
	OpBinary       OpCode = 0x2
	OpClose        OpCode = 0x8
	OpPing         OpCode = 0x9
	OpPong         OpCode = 0xa
)

// Frame is one frame as it travels, for tests of fragmentation, control
// frames and malformed input.
type Frame struct {
	Fin              bool
	Rsv1, Rsv2, Rsv3 bool // reserved bits; Rsv1 marks a compressed message
	Op               OpCode
	Payload          []byte
}

// WriteFrame writes f as given, masked as a client must: a fragment, a
// control frame, reserved bits or opcodes. Messages are better sent with
// SendText and SendBytes, which also compress when agreed.
func (c *Conn) WriteFrame(f Frame) error {
	wf := ws.NewFrame(ws.OpCode(f.Op), f.Fin, f.Payload)
	wf.Header.Rsv = ws.Rsv(f.Rsv1, f.Rsv2, f.Rsv3)
	return c.writeFrame(wf)
}

func (c *Conn) write(op ws.OpCode, p []byte) error {
	if c.deflate && (op == ws.OpText || op == ws.OpBinary) {
		f := ws.NewFrame(op, true, deflateMessage(p))
		f.Header.Rsv = ws.Rsv(true, false, false)
		return c.writeFrame(f)
	}
	return c.writeFrame(ws.NewFrame(op, true, p))
}

func (c *Conn) writeFrame(f ws.Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return errors.New("wsapitest: write after the close frame")
	}
	if f.Header.OpCode == ws.OpClose {
		c.closeSent = true
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	f.Payload = append([]byte(nil), f.Payload...) // masking works in place
	return ws.WriteFrame(c.nc, ws.MaskFrameInPlace(f))
}

// ReceiveText returns the next message, failing the test unless it is text.
func (c *Conn) ReceiveText() string {
	c.t.Helper()
	t, b := c.mustReceive("ReceiveText")
	if t != wsapi.MessageText {
		c.t.Fatalf("wsapitest: ReceiveText: got a %s message %q", t, b)
	}
	return string(b)
}

// ReceiveBytes returns the next message, failing the test unless it is binary.
func (c *Conn) ReceiveBytes() []byte {
	c.t.Helper()
	t, b := c.mustReceive("ReceiveBytes")
	if t != wsapi.MessageBinary {
		c.t.Fatalf("wsapitest: ReceiveBytes: got a %s message %q", t, b)
	}
	return b
}

// ReceiveJSON decodes the next message into v, failing the test on error.
func (c *Conn) ReceiveJSON(v any) {
	c.t.Helper()
	_, b := c.mustReceive("ReceiveJSON")
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatalf("wsapitest: ReceiveJSON: %v in %q", err, b)
	}
}

func (c *Conn) mustReceive(what string) (wsapi.MessageType, []byte) {
	c.t.Helper()
	t, b, err := c.Receive()
	if err != nil {
		c.t.Fatalf("wsapitest: %s: %v", what, err)
	}
	return t, b
}

// Receive returns the next data message. It answers pings on the way. When
// the server closes the connection it returns a *wsapi.DisconnectError with the
// server's code and reason (CloseAbnormalClosure if the socket closed with
// no close frame); ErrTimeout when nothing arrives in time.
func (c *Conn) Receive() (wsapi.MessageType, []byte, error) {
	if d := c.ended(); d != nil {
		return 0, nil, d
	}
	var op ws.OpCode
	var data []byte
	var compressed bool
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.timeout))
		h, err := ws.ReadHeader(c.br)
		if err == nil && h.Masked {
			err = errors.New("wsapitest: the server sent a masked frame (RFC 6455, section 5.1)")
		}
		if err == nil && h.Length > maxFrame {
			err = fmt.Errorf("wsapitest: the server announced a %d-byte frame, over the test client's %d", h.Length, maxFrame)
		}
		var payload []byte
		if err == nil {
			payload = make([]byte, h.Length)
			_, err = io.ReadFull(c.br, payload)
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, nil, ErrTimeout
			}
			return 0, nil, c.end(&wsapi.DisconnectError{Code: wsapi.CloseAbnormalClosure, Reason: err.Error()})
		}
		switch h.OpCode {
		case ws.OpPing:
			c.write(ws.OpPong, payload)
		case ws.OpPong:
		case ws.OpClose:
			d := &wsapi.DisconnectError{Code: wsapi.CloseNoStatusReceived}
			if len(payload) >= 2 {
				d.Code = wsapi.CloseCode(binary.BigEndian.Uint16(payload))
				d.Reason = string(payload[2:])
			}
			c.wmu.Lock()
			echo := !c.closeSent
			c.wmu.Unlock()
			if echo {
				c.writeFrame(ws.NewCloseFrame(payload[:min(len(payload), 2)]))
			}
			return 0, nil, c.end(d)
		case ws.OpText, ws.OpBinary:
			if op != 0 {
				return 0, nil, errors.New("wsapitest: the server started a message inside another")
			}
			op, data = h.OpCode, payload
			compressed = h.Rsv1()
			if compressed && !c.deflate {
				return 0, nil, errors.New("wsapitest: the server sent a compressed message without permessage-deflate")
			}
		case ws.OpContinuation:
			if op == 0 {
				return 0, nil, errors.New("wsapitest: the server sent a continuation frame outside a message")
			}
			data = append(data, payload...)
		default:
			return 0, nil, fmt.Errorf("wsapitest: the server sent reserved opcode %d", h.OpCode)
		}
		if op != 0 && h.Fin && (h.OpCode == op || h.OpCode == ws.OpContinuation) {
			if compressed {
				var err error
				if data, err = c.inflate(data); err != nil {
					return 0, nil, err
				}
			}
			if op == ws.OpText && !utf8.Valid(data) {
				return 0, nil, errors.New("wsapitest: the server sent a text message that is not valid UTF-8")
			}
			return wsapi.MessageType(op), data, nil
		}
	}
}

// ReadFrame reads one frame exactly as the server sent it, answering
// nothing: for tests of pings, fragmentation and close frames. Mixing it
// with Receive in the middle of a fragmented message is up to the test.
func (c *Conn) ReadFrame() (Frame, error) {
	c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	var f Frame
	h, err := ws.ReadHeader(c.br)
	if err == nil && h.Length > maxFrame {
		err = fmt.Errorf("wsapitest: the server announced a %d-byte frame, over the test client's %d", h.Length, maxFrame)
	}
	if err == nil {
		f = Frame{Fin: h.Fin, Rsv1: h.Rsv1(), Rsv2: h.Rsv2(), Rsv3: h.Rsv3(), Op: OpCode(h.OpCode)}
		f.Payload = make([]byte, h.Length)
		_, err = io.ReadFull(c.br, f.Payload)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return f, ErrTimeout
	}
	return f, err
}

// maxFrame bounds what the test client allocates for one frame.
const maxFrame = 256 << 20

// end records how the server ended the connection and closes the socket.
func (c *Conn) end(d *wsapi.DisconnectError) *wsapi.DisconnectError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.serverEnd == nil {
		c.serverEnd = d
		c.nc.Close()
	}
	return c.serverEnd
}

func (c *Conn) ended() *wsapi.DisconnectError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serverEnd
}

// ExpectClose reads until the server closes the connection and fails the
// test unless it closed with code; data messages on the way fail it too. It
// returns the close reason.
func (c *Conn) ExpectClose(code wsapi.CloseCode) string {
	c.t.Helper()
	t, b, err := c.Receive()
	var d *wsapi.DisconnectError
	switch {
	case err == nil:
		c.t.Fatalf("wsapitest: expected a close with %v, got a %s message %q", code, t, b)
	case !errors.As(err, &d):
		c.t.Fatalf("wsapitest: expected a close with %v: %v", code, err)
	case d.Code != code:
		c.t.Fatalf("wsapitest: expected a close with %v, got %v %q", code, d.Code, d.Reason)
	}
	return d.Reason
}

// Close closes the connection with CloseNormalClosure, completes the close
// handshake and waits for the server's handler to return. Calling it again
// does nothing.
func (c *Conn) Close() {
	c.t.Helper()
	c.CloseWith(wsapi.CloseNormalClosure, "")
}

// CloseWith closes the connection with code and reason, as Close does.
func (c *Conn) CloseWith(code wsapi.CloseCode, reason string) {
	c.t.Helper()
	if !c.markEnded() {
		return
	}
	if c.ended() == nil {
		payload := make([]byte, 2+len(reason))
		binary.BigEndian.PutUint16(payload, uint16(code))
		copy(payload[2:], reason)
		if err := c.writeFrame(ws.NewCloseFrame(payload)); err == nil {
			for {
				if _, _, err := c.Receive(); err != nil {
					if err == ErrTimeout {
						c.t.Errorf("wsapitest: the server did not answer the close frame within %v", c.timeout)
					}
					break
				}
			}
		}
	}
	c.nc.Close()
	if c.results != nil {
		c.report(c.waitHandler())
	}
}

// Drop closes the TCP connection without a close frame, as a client whose
// network vanished would, and waits for the server's handler to return.
func (c *Conn) Drop() {
	c.t.Helper()
	if !c.markEnded() {
		return
	}
	c.nc.Close()
	if c.results != nil {
		c.report(c.waitHandler())
	}
}

func (c *Conn) markEnded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return false
	}
	c.finished = true
	return true
}

// Wait waits for the server's handler to return and returns its error: nil
// for a normal end or a disconnect, the handler's error, or an error
// describing its panic. Waiting marks the error as seen by the test.
func (c *Conn) Wait() error {
	c.t.Helper()
	res := c.waitHandler()
	c.mu.Lock()
	c.collected = true
	c.mu.Unlock()
	if res == nil {
		return errors.New("wsapitest: the handler did not return in time")
	}
	if res.Panic != nil {
		return fmt.Errorf("wsapitest: handler panicked: %v", res.Panic)
	}
	return res.Err
}

func (c *Conn) waitHandler() *testhook.Result {
	c.t.Helper()
	if c.results == nil {
		return nil
	}
	c.mu.Lock()
	if c.result != nil {
		defer c.mu.Unlock()
		return c.result
	}
	c.mu.Unlock()
	select {
	case res := <-c.results:
		c.mu.Lock()
		c.result = &res
		c.mu.Unlock()
		return &res
	case <-time.After(c.timeout):
		c.t.Errorf("wsapitest: the server's handler did not return within %v", c.timeout)
		return nil
	}
}

// report fails the test for a handler error or panic the test did not
// collect with Wait.
func (c *Conn) report(res *testhook.Result) {
	c.t.Helper()
	c.mu.Lock()
	collected := c.collected
	c.mu.Unlock()
	if res == nil || collected || res.Refused {
		return
	}
	switch {
	case res.Panic != nil:
		c.t.Errorf("wsapitest: the handler panicked: %v (collect it with Wait to expect it)", res.Panic)
	case res.Err != nil:
		c.t.Errorf("wsapitest: the handler returned an error: %v (collect it with Wait to expect it)", res.Err)
	}
}

// deflateMessage compresses one message on its own (RFC 7692, section 7.2.1).
func deflateMessage(p []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// inflate decompresses a message from the server, keeping the window when
// the server keeps its own.
func (c *Conn) inflate(p []byte) ([]byte, error) {
	tail := []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(p), bytes.NewReader(tail)), c.dict)
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("wsapitest: the server sent invalid compressed data: %w", err)
	}
	if c.serverContext {
		c.dict = append(c.dict, out...)
		if len(c.dict) > 32<<10 {
			c.dict = c.dict[len(c.dict)-32<<10:]
		}
	}
	return out, nil
}
