package wsapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// logBuffer is a concurrency-safe log sink for asserting what was logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func quietApp(opts *wsapi.Options) (*wsapi.App, *logBuffer) {
	logs := &logBuffer{}
	o := wsapi.Options{}
	if opts != nil {
		o = *opts
	}
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return wsapi.New(&o), logs
}

func TestMessageKinds(t *testing.T) {
	app, _ := quietApp(nil)
	type Item struct {
		Name  string `json:"name" validate:"required"`
		Count int    `json:"count" validate:"min=1"`
	}
	app.WS("/kinds", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		b, err := ws.ReceiveBytes(ctx)
		if err != nil {
			return err
		}
		if err := ws.SendBytes(ctx, append([]byte("bin:"), b...)); err != nil {
			return err
		}
		for {
			var item Item
			err := ws.ReceiveJSON(ctx, &item)
			var ve *wsapi.ValidationError
			if errors.As(err, &ve) {
				if err := ws.SendJSON(ctx, ve); err != nil { // answer and keep going
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			return ws.SendJSON(ctx, map[string]any{"got": item.Name, "html": "<b>&</b>", "text": "数据"})
		}
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/kinds", nil)
	ws.SendBytes([]byte{0, 1, 2})
	if got := ws.ReceiveBytes(); !bytes.Equal(got, []byte("bin:\x00\x01\x02")) {
		t.Fatalf("binary echo %q", got)
	}
	ws.SendText(`{"name": 5}`)
	if got := ws.ReceiveText(); !strings.Contains(got, `"loc":["message","name"]`) || !strings.Contains(got, `"type":"type_error"`) {
		t.Fatalf("type error reply %s", got)
	}
	ws.SendText(`{"name": "x", "count": 0`)
	if got := ws.ReceiveText(); !strings.Contains(got, `"type":"json_invalid"`) {
		t.Fatalf("syntax error reply %s", got)
	}
	ws.SendText(`{"count": 0}`)
	got := ws.ReceiveText()
	if !strings.Contains(got, `"loc":["message","name"]`) || !strings.Contains(got, `"loc":["message","count"]`) {
		t.Fatalf("validation reply %s", got)
	}
	ws.SendBytes([]byte(`{"name": "ok", "count": 2}`)) // JSON may come in a binary message
	if got := ws.ReceiveText(); got != `{"got":"ok","html":"<b>&</b>","text":"数据"}` {
		t.Fatalf("JSON is not compact UTF-8 without HTML escaping: %s", got)
	}
	ws.ExpectClose(wsapi.CloseNormalClosure)
}

func TestWrongMessageTypeCloses1003(t *testing.T) {
	app, _ := quietApp(nil)
	app.WS("/text", echo(""))
	app.WS("/bytes", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		_, err := ws.ReceiveBytes(ctx)
		return err
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/text", nil)
	ws.SendBytes([]byte("x"))
	ws.ExpectClose(wsapi.CloseUnsupportedData)
	ws = c.Connect("/bytes", nil)
	ws.SendText("x")
	ws.ExpectClose(wsapi.CloseUnsupportedData)
}

func TestProtocolErrorCodes(t *testing.T) {
	app, _ := quietApp(&wsapi.Options{ReadLimit: 1024})
	app.WS("/ws", echo(""))
	tests := []struct {
		name string
		send func(ws *wsapitest.Conn)
		code wsapi.CloseCode
	}{
		{"invalid UTF-8", func(ws *wsapitest.Conn) {
			ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpText, Payload: []byte{0xff, 0xfe}})
		}, wsapi.CloseInvalidFramePayloadData},
		{"UTF-8 split invalid across fragments", func(ws *wsapitest.Conn) {
			ws.WriteFrame(wsapitest.Frame{Fin: false, Op: wsapitest.OpText, Payload: []byte{0xe2, 0x82}})
			ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpContinuation, Payload: []byte{0x28}})
		}, wsapi.CloseInvalidFramePayloadData},
		{"over the read limit", func(ws *wsapitest.Conn) { ws.SendText(strings.Repeat("a", 1025)) }, wsapi.CloseMessageTooBig},
		{"over the limit in fragments", func(ws *wsapitest.Conn) {
			ws.WriteFrame(wsapitest.Frame{Fin: false, Op: wsapitest.OpBinary, Payload: make([]byte, 600)})
			ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpContinuation, Payload: make([]byte, 600)})
		}, wsapi.CloseMessageTooBig},
		{"continuation without start", func(ws *wsapitest.Conn) {
			ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpContinuation, Payload: []byte("x")})
		}, wsapi.CloseProtocolError},
		{"reserved opcode", func(ws *wsapitest.Conn) { ws.WriteFrame(wsapitest.Frame{Fin: true, Op: 3, Payload: nil}) }, wsapi.CloseProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := wsapitest.New(t, app, nil).Connect("/ws", nil)
			tt.send(ws)
			ws.ExpectClose(tt.code)
			ws.Close()
		})
	}
	// The server kept serving through all of that.
	roundTrip(t, wsapitest.New(t, app, nil).Connect("/ws", nil), "still", "still")
}

func TestFragmentsAndControlFramesBetweenThem(t *testing.T) {
	app, _ := quietApp(nil)
	app.WS("/ws", echo("got:"))
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/ws", nil)
	ws.WriteFrame(wsapitest.Frame{Fin: false, Op: wsapitest.OpText, Payload: []byte("hel")})
	ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpPing, Payload: []byte("p")})
	ws.WriteFrame(wsapitest.Frame{Fin: false, Op: wsapitest.OpContinuation, Payload: []byte("lo ")})
	ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpPong, Payload: nil}) // unsolicited: ignored
	ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpContinuation, Payload: []byte("数据")})
	if got := ws.ReceiveText(); got != "got:hello 数据" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
}

func TestHandlerEndings(t *testing.T) {
	app, logs := quietApp(nil)
	ended := make(chan string, 10)
	app.WS("/nil", func(ctx context.Context, ws *wsapi.Conn) error { return ws.Accept(ctx, nil) })
	app.WS("/error", func(ctx context.Context, ws *wsapi.Conn) error {
		ws.Accept(ctx, nil)
		return errors.New("database is down")
	})
	app.WS("/panic", func(ctx context.Context, ws *wsapi.Conn) error {
		ws.Accept(ctx, nil)
		panic("boom")
	})
	app.WS("/reject", func(ctx context.Context, ws *wsapi.Conn) error {
		ws.Accept(ctx, nil)
		return wsapi.Reject(4000, strings.Repeat("é", 100)) // 200 bytes: cut to 123
	})
	app.WS("/refuse", func(ctx context.Context, ws *wsapi.Conn) error { return nil }) // never accepts
	app.WS("/panic-before", func(ctx context.Context, ws *wsapi.Conn) error { panic("early") })
	app.WS("/disconnect", func(ctx context.Context, ws *wsapi.Conn) error {
		ws.Accept(ctx, nil)
		_, err := ws.ReceiveText(ctx)
		var d *wsapi.DisconnectError
		if errors.As(err, &d) {
			ended <- fmt.Sprintf("%d %s", d.Code, d.Reason)
		}
		return err
	})
	c := wsapitest.New(t, app, nil)

	c.Connect("/nil", nil).ExpectClose(wsapi.CloseNormalClosure)

	ws := c.Connect("/error", nil)
	if reason := ws.ExpectClose(wsapi.CloseInternalServerError); strings.Contains(reason, "database") {
		t.Fatalf("the close reason leaks the error: %q", reason)
	}
	if err := ws.Wait(); err == nil || !strings.Contains(err.Error(), "database is down") {
		t.Fatalf("Wait = %v", err)
	}

	ws = c.Connect("/panic", nil)
	ws.ExpectClose(wsapi.CloseInternalServerError)
	if err := ws.Wait(); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Wait = %v", err)
	}

	ws = c.Connect("/reject", nil)
	reason := ws.ExpectClose(4000)
	if len(reason) > 123 || !strings.HasPrefix(reason, "éé") || !utf8Valid(reason) {
		t.Fatalf("reason %d bytes %q: want at most 123 bytes of valid UTF-8", len(reason), reason)
	}

	if status, body := handshakeStatus(t, c, "/refuse", nil); status != http.StatusForbidden {
		t.Fatalf("handler returned without accepting: %d %s", status, body)
	}
	if status, body := handshakeStatus(t, c, "/panic-before", nil); status != http.StatusInternalServerError || strings.Contains(body, "early") {
		t.Fatalf("panic before accept: %d %s", status, body)
	}

	ws = c.Connect("/disconnect", nil)
	ws.CloseWith(wsapi.CloseGoingAway, "Going Away")
	if got := <-ended; got != "1001 Going Away" {
		t.Fatalf("handler saw %q, want the peer's code and reason exactly", got)
	}

	out := logs.String()
	for _, want := range []string{"database is down", "boom", "early"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	roundTripAfter(t, c)
}

func roundTripAfter(t *testing.T, c *wsapitest.Client) {
	t.Helper()
	ws, err := c.Dial("/disconnect", nil)
	if err != nil {
		t.Fatalf("the server stopped serving: %v", err)
	}
	ws.Close()
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestContextCancelledWhenPeerLeavesAndHandlerNeverReads(t *testing.T) {
	app, _ := quietApp(nil)
	cause := make(chan error, 1)
	app.WS("/send-only", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				cause <- context.Cause(ctx)
				return nil
			case <-tick.C:
				// Sending would eventually fail too; do nothing, to prove
				// the context alone notices the disconnect.
			}
		}
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/send-only", nil)
	ws.CloseWith(wsapi.CloseGoingAway, "bye")
	select {
	case err := <-cause:
		var d *wsapi.DisconnectError
		if !errors.As(err, &d) || d.Code != wsapi.CloseGoingAway || d.Reason != "bye" {
			t.Fatalf("cause %v, want the peer's DisconnectError", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ctx was not cancelled after the peer closed")
	}

	ws = c.Connect("/send-only", nil)
	ws.Drop() // no close frame at all
	select {
	case err := <-cause:
		if wsapi.CloseStatus(err) != wsapi.CloseAbnormalClosure {
			t.Fatalf("cause %v, want 1006", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ctx was not cancelled after the peer dropped")
	}
}

func TestConcurrentSenders(t *testing.T) {
	app, _ := quietApp(nil)
	const senders, each = 8, 200
	app.WS("/fan", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := ws.SendText(ctx, fmt.Sprintf("%d:%d:%s", s, i, strings.Repeat("x", i*37%5000))); err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		_, err := ws.ReceiveText(ctx)
		return err
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/fan", nil)
	next := make([]int, senders)
	for range senders * each {
		var s, i int
		var pad string
		msg := ws.ReceiveText()
		if _, err := fmt.Sscanf(msg, "%d:%d:%s", &s, &i, &pad); err != nil && !strings.HasSuffix(msg, ":") {
			t.Fatalf("garbled message %q: %v", msg, err)
		}
		if i != next[s] {
			t.Fatalf("sender %d: got message %d, want %d (each sender's order must hold)", s, i, next[s])
		}
		next[s]++
	}
	ws.Close()
}

func TestReceiveWithTimeoutKeepsConnection(t *testing.T) {
	app, _ := quietApp(nil)
	app.WS("/slow", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := ws.ReceiveText(tctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("want a deadline error, got %v", err)
		}
		if err := ws.SendText(ctx, "timed out"); err != nil {
			return err
		}
		msg, err := ws.ReceiveText(ctx)
		if err != nil {
			return err
		}
		return ws.SendText(ctx, "then got "+msg)
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/slow", nil)
	if got := ws.ReceiveText(); got != "timed out" {
		t.Fatalf("got %q", got)
	}
	ws.SendText("late")
	if got := ws.ReceiveText(); got != "then got late" {
		t.Fatalf("got %q", got)
	}
	ws.ExpectClose(wsapi.CloseNormalClosure)
}

func TestAcceptSubprotocolAndHeaders(t *testing.T) {
	app, _ := quietApp(nil)
	app.WS("/proto", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, &wsapi.AcceptOptions{Subprotocol: "nope"}); err == nil {
			return errors.New("accepted a subprotocol the client did not offer")
		}
		err := ws.Accept(ctx, &wsapi.AcceptOptions{Subprotocol: "chat.v2", Header: http.Header{"X-Extra": {"1"}}})
		if err != nil {
			return err
		}
		return ws.SendText(ctx, strings.Join(ws.Subprotocols(), ","))
	})
	type Bearer struct {
		Token string `protocol:"bearer"`
	}
	wsapi.Route(app, "/bearer", func(ctx context.Context, ws *wsapi.Conn, p *Bearer) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.SendText(ctx, "token="+p.Token)
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/proto", &wsapitest.DialOptions{Subprotocols: []string{"chat.v1", "chat.v2"}})
	if ws.Subprotocol() != "chat.v2" || ws.Header().Get("X-Extra") != "1" {
		t.Fatalf("subprotocol %q, X-Extra %q", ws.Subprotocol(), ws.Header().Get("X-Extra"))
	}
	if got := ws.ReceiveText(); got != "chat.v1,chat.v2" {
		t.Fatalf("offered %q", got)
	}
	ws = c.Connect("/bearer", &wsapitest.DialOptions{Subprotocols: []string{"bearer", "s3cr3t"}})
	if ws.Subprotocol() != "bearer" {
		t.Fatalf("agreed on %q: the server must answer the marker, never the token", ws.Subprotocol())
	}
	if got := ws.ReceiveText(); got != "token=s3cr3t" {
		t.Fatalf("got %q", got)
	}
}

// TestReceiveFuncReusesBuffersSafely echoes messages of many sizes through
// ReceiveFunc, whose buffers are reused: every echo must be exact.
func TestReceiveFuncReusesBuffersSafely(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			app, _ := quietApp(&wsapi.Options{ReadLimit: 8 << 20, Compression: wsapi.CompressionNoContextTakeover})
			app.WS("/echo", func(ctx context.Context, ws *wsapi.Conn) error {
				if err := ws.Accept(ctx, nil); err != nil {
					return err
				}
				for {
					err := ws.ReceiveFunc(ctx, func(t wsapi.MessageType, data []byte) error {
						if t == wsapi.MessageText {
							return ws.SendText(ctx, string(data))
						}
						return ws.SendBytes(ctx, data)
					})
					if err != nil {
						return err
					}
				}
			})
			ws := wsapitest.New(t, app, nil).Connect("/echo", &wsapitest.DialOptions{Compression: compress})
			for i, size := range []int{0, 1, 31, 4095, 4096, 4097, 16 << 10, 100_000, 1 << 20, 32, 70_000} {
				msg := make([]byte, size)
				for j := range msg {
					msg[j] = byte(i*7 + j*13)
				}
				if i%2 == 0 {
					// Fragmented, so the message is assembled across frames.
					half := size / 2
					ws.WriteFrame(wsapitest.Frame{Fin: false, Op: wsapitest.OpBinary, Payload: msg[:half]})
					ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpContinuation, Payload: msg[half:]})
				} else {
					ws.SendBytes(msg)
				}
				if got := ws.ReceiveBytes(); !bytes.Equal(got, msg) {
					t.Fatalf("message %d (%d bytes) came back different", i, size)
				}
			}
			ws.Close()
		})
	}
}
