package main

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi/examples/internal/runtest"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

func TestText(t *testing.T) {
	ws := wsapitest.New(t, newApp(), nil).Connect("/text", nil)
	ws.SendText("hello, ñandú")
	if got := ws.ReceiveText(); got != "HELLO, ÑANDÚ" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
}

func TestBinaryToTextRouteCloses1003(t *testing.T) {
	ws := wsapitest.New(t, newApp(), nil).Connect("/text", nil)
	ws.SendBytes([]byte{1, 2, 3})
	if reason := ws.ExpectClose(wsapi.CloseUnsupportedData); reason != "expected a text message, got binary" {
		t.Fatalf("reason %q", reason)
	}
}

func TestBytes(t *testing.T) {
	ws := wsapitest.New(t, newApp(), nil).Connect("/bytes", nil)
	data := []byte{0, 1, 2, 0xff}
	ws.SendBytes(data)
	sum := sha256.Sum256(data)
	if got := ws.ReceiveBytes(); !bytes.Equal(got, sum[:]) {
		t.Fatalf("got %x, want %x", got, sum)
	}
	ws.SendText("text") // the wrong kind for ReceiveBytes
	ws.ExpectClose(wsapi.CloseUnsupportedData)
}

func TestOrders(t *testing.T) {
	ws := wsapitest.New(t, newApp(), nil).Connect("/orders", nil)
	exchange := []struct{ send, want string }{
		{`{"item": "tea", "quantity": 2}`, `{"item":"tea","quantity":2,"status":"accepted"}`},
		// Each bad message is answered, and the connection stays open.
		{`{"item": "tea", "quantity": 20}`, `{"detail":[{"loc":["message","quantity"],"msg":"quantity must be 10 or less","type":"max"}]}`},
		{`{"quantity": 0}`, `{"detail":[{"loc":["message","item"],"msg":"item is a required field","type":"required"},{"loc":["message","quantity"],"msg":"quantity must be 1 or greater","type":"min"}]}`},
		{`{"item": "tea", "quantity": "two"}`, `{"detail":[{"loc":["message","quantity"],"msg":"expected int, got JSON string","type":"type_error"}]}`},
		{`{"item": "tea"`, `{"detail":[{"loc":["message"],"msg":"invalid JSON: unexpected end of JSON input","type":"json_invalid"}]}`},
		{`{"item": "café", "quantity": 1}`, `{"item":"café","quantity":1,"status":"accepted"}`},
	}
	for _, e := range exchange {
		ws.SendText(e.send)
		if got := ws.ReceiveText(); got != e.want {
			t.Fatalf("sent %s\ngot  %s\nwant %s", e.send, got, e.want)
		}
	}
	// JSON may also come in a binary message.
	ws.SendBytes([]byte(`{"item": "milk", "quantity": 1}`))
	if got := ws.ReceiveText(); got != `{"item":"milk","quantity":1,"status":"accepted"}` {
		t.Fatalf("got %s", got)
	}
	ws.Close()
}

func TestAny(t *testing.T) {
	ws := wsapitest.New(t, newApp(), nil).Connect("/any", nil)
	ws.SendText("héllo")
	if got := ws.ReceiveText(); got != "text message, 6 bytes" {
		t.Fatalf("got %q", got)
	}
	ws.SendBytes([]byte{1, 2, 3})
	if got := ws.ReceiveText(); got != "binary message, 3 bytes" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
}

func TestPage(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	resp := c.Get("/")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "location.host + route") {
		t.Fatalf("GET / = %d\n%s", resp.StatusCode, body)
	}
}

// TestRunShutsDownGracefully runs the program as main does and stops it as
// Ctrl-C would: the open connection is closed with 1001.
func TestRunShutsDownGracefully(t *testing.T) {
	prog := runtest.Start(t, run)
	ws, err := wsapitest.DialURL(t, prog.WS+"text", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SendText("up")
	if got := ws.ReceiveText(); got != "UP" {
		t.Fatalf("got %q", got)
	}
	prog.Stop() // as Ctrl-C would
	if reason := ws.ExpectClose(wsapi.CloseGoingAway); reason != "server shutting down" {
		t.Fatalf("reason %q", reason)
	}
	if err := prog.Wait(); err != nil {
		t.Fatalf("run: %v", err)
	}
}
