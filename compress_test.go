package wsapi_test

import (
	"bytes"
	"compress/flate"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

func compressApp(t *testing.T, mode wsapi.CompressionMode, limit int64) *wsapitest.Client {
	app, _ := quietApp(&wsapi.Options{Compression: mode, ReadLimit: limit})
	app.WS("/echo", echo(""))
	return wsapitest.New(t, app, nil)
}

func TestCompressionNegotiation(t *testing.T) {
	tests := []struct {
		mode  wsapi.CompressionMode
		offer string
		want  string // the Sec-WebSocket-Extensions answer
	}{
		{wsapi.CompressionDisabled, "permessage-deflate", ""},
		{wsapi.CompressionNoContextTakeover, "permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{wsapi.CompressionContextTakeover, "permessage-deflate", "permessage-deflate"},
		{wsapi.CompressionContextTakeover, "permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"},
		{wsapi.CompressionContextTakeover, "permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"},
		{wsapi.CompressionContextTakeover, "permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15"},
		// A window smaller than compress/flate's 32 KiB is declined; the next offer is taken.
		{wsapi.CompressionNoContextTakeover, "permessage-deflate; server_max_window_bits=10, permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{wsapi.CompressionNoContextTakeover, "permessage-deflate; server_max_window_bits=10", ""},
		{wsapi.CompressionNoContextTakeover, "permessage-deflate; bogus=1", ""},
		{wsapi.CompressionNoContextTakeover, "x-webkit-deflate-frame", ""},
	}
	for _, tt := range tests {
		t.Run(tt.offer, func(t *testing.T) {
			ws := compressApp(t, tt.mode, 0).Connect("/echo", &wsapitest.DialOptions{Header: http.Header{"Sec-WebSocket-Extensions": {tt.offer}}})
			if got := strings.ReplaceAll(ws.Header().Get("Sec-WebSocket-Extensions"), ";", "; "); got != tt.want {
				t.Fatalf("answered %q, want %q", got, tt.want)
			}
			ws.NetConn().Close() // the test client did not take part in negotiating
		})
	}
}

func TestCompressedMessages(t *testing.T) {
	for _, mode := range []wsapi.CompressionMode{wsapi.CompressionNoContextTakeover, wsapi.CompressionContextTakeover} {
		t.Run(map[wsapi.CompressionMode]string{1: "no-context-takeover", 2: "context-takeover"}[mode], func(t *testing.T) {
			ws := compressApp(t, mode, 0).Connect("/echo", &wsapitest.DialOptions{Compression: true})
			// Messages large enough to compress, similar enough that a window
			// carried over matters, and one small message sent plain.
			for i := range 5 {
				msg := strings.Repeat("the quick brown fox jumps over the lazy dog ", 40+i) + "数据"
				ws.SendText(msg)
				if got := ws.ReceiveText(); got != msg {
					t.Fatalf("message %d came back wrong (%d bytes, want %d)", i, len(got), len(msg))
				}
			}
			roundTrip(t, ws, "tiny", "tiny")
			// An uncompressed message from the client is fine too.
			ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpText, Payload: []byte(strings.Repeat("plain ", 50))})
			if got := ws.ReceiveText(); got != strings.Repeat("plain ", 50) {
				t.Fatalf("plain message: %q", got)
			}
			// On the wire, the server's answer to a large message is compressed.
			ws.SendText(strings.Repeat("z", 1000))
			f, err := ws.ReadFrame()
			if err != nil || !f.Rsv1 || len(f.Payload) >= 1000 {
				t.Fatalf("frame rsv1=%v, %d bytes, err %v: want a compressed frame", f.Rsv1, len(f.Payload), err)
			}
			ws.Close()
		})
	}
}

func TestDecompressionBombIsClosed1009(t *testing.T) {
	ws := compressApp(t, wsapi.CompressionNoContextTakeover, 64<<10).Connect("/echo", &wsapitest.DialOptions{Compression: true})
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(make([]byte, 16<<20)) // 16 MiB of zeros, a few KiB compressed
	w.Flush()
	payload := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
	if len(payload) > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed: it must fit the read limit to test inflation", len(payload))
	}
	if err := ws.WriteFrame(rsv1(wsapitest.Frame{Fin: true, Op: wsapitest.OpBinary, Payload: payload})); err != nil {
		t.Fatal(err)
	}
	ws.ExpectClose(wsapi.CloseMessageTooBig)
}

func TestCompressionBitMisuseIsClosed1002(t *testing.T) {
	for name, frames := range map[string][]wsapitest.Frame{
		"on a continuation": {wsapitest.Frame{Fin: false, Op: wsapitest.OpText, Payload: []byte("a")}, rsv1(wsapitest.Frame{Fin: true, Op: wsapitest.OpContinuation, Payload: []byte("b")})},
		"on a ping":         {rsv1(wsapitest.Frame{Fin: true, Op: wsapitest.OpPing, Payload: nil})},
	} {
		t.Run(name, func(t *testing.T) {
			ws := compressApp(t, wsapi.CompressionNoContextTakeover, 0).Connect("/echo", &wsapitest.DialOptions{Compression: true})
			for _, f := range frames {
				ws.WriteFrame(f)
			}
			ws.ExpectClose(wsapi.CloseProtocolError)
		})
	}
}

func TestBroadcastToCompressingAndPlainClients(t *testing.T) {
	m := wsapi.NewManager(nil)
	app, _ := quietApp(&wsapi.Options{Compression: wsapi.CompressionNoContextTakeover})
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := m.Connect(ctx, ws); err != nil {
			return err
		}
		_, err := ws.ReceiveText(ctx)
		return err
	})
	c := wsapitest.New(t, app, nil)
	zipped, plain := c.Connect("/ws", &wsapitest.DialOptions{Compression: true}), c.Connect("/ws", nil)
	msg := strings.Repeat("broadcast ", 100)
	m.Broadcast(context.Background(), msg)
	for _, ws := range []*wsapitest.Conn{zipped, plain} {
		if got := ws.ReceiveText(); got != msg {
			t.Fatalf("got %d bytes, want %d", len(got), len(msg))
		}
	}
}

func rsv1(f wsapitest.Frame) wsapitest.Frame {
	f.Rsv1 = true
	return f
}
