package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

func TestMountedUnderAPI(t *testing.T) {
	c := wsapitest.New(t, newMux(newApp(nil), nil), nil)
	ws := c.Connect("/api/ws", nil)
	if got := ws.ReceiveText(); got != "hello 127.0.0.1" {
		t.Fatalf("got %q", got)
	}
	ws.SendText("hi")
	if got := ws.ReceiveText(); got != "2 bytes" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
	body, _ := io.ReadAll(c.Get("/healthz").Body)
	if string(body) != "ok\n" {
		t.Fatalf("GET /healthz = %q", body)
	}
}

func TestClientIPFromTheProxy(t *testing.T) {
	c := wsapitest.New(t, newMux(newApp(nil), nil), nil) // the test client connects from 127.0.0.1, as a local proxy would
	ws := c.Connect("/api/ws", &wsapitest.DialOptions{Header: http.Header{"X-Forwarded-For": {"198.51.100.9, 203.0.113.7"}}})
	if got := ws.ReceiveText(); got != "hello 203.0.113.7" {
		t.Fatalf("got %q: want the last hop, the one the proxy added", got)
	}
	ws.Close()
}

func TestOrigins(t *testing.T) {
	c := wsapitest.New(t, newMux(newApp(nil), nil), nil)
	host := strings.TrimPrefix(c.URL(), "http://")
	for origin, want := range map[string]int{
		"http://" + host:           http.StatusSwitchingProtocols, // the app's own page
		"https://example.com":      http.StatusSwitchingProtocols,
		"https://app.example.com":  http.StatusSwitchingProtocols,
		"https://example.com.evil": http.StatusForbidden,
		"https://attacker.example": http.StatusForbidden,
		"https://example.com:8443": http.StatusForbidden, // the pattern has no port
	} {
		ws, err := c.Dial("/api/ws", &wsapitest.DialOptions{Header: http.Header{"Origin": {origin}}})
		var he *wsapitest.HandshakeError
		switch {
		case err == nil && want == http.StatusSwitchingProtocols:
			ws.Close()
		case errors.As(err, &he) && he.StatusCode == want:
			if string(he.Body) != `{"detail":"origin not allowed"}` {
				t.Errorf("%s: body %s", origin, he.Body)
			}
		default:
			t.Errorf("Origin %s: got %v, want %d", origin, err, want)
		}
	}
}

func TestReadLimit(t *testing.T) {
	ws := wsapitest.New(t, newMux(newApp(nil), nil), nil).Connect("/api/ws", nil)
	ws.ReceiveText()
	ws.SendText(strings.Repeat("x", 64<<10)) // exactly the limit: fine
	if got := ws.ReceiveText(); got != "65536 bytes" {
		t.Fatalf("got %q", got)
	}
	ws.SendText(strings.Repeat("x", 64<<10+1))
	if reason := ws.ExpectClose(wsapi.CloseMessageTooBig); reason != "message exceeds the read limit" {
		t.Fatalf("reason %q", reason)
	}
}

func TestInvalidUTF8Closes1007(t *testing.T) {
	ws := wsapitest.New(t, newMux(newApp(nil), nil), nil).Connect("/api/ws", nil)
	ws.ReceiveText()
	ws.WriteFrame(wsapitest.Frame{Fin: true, Op: 1, Payload: []byte{0xff, 0xfe}}) // a text frame that is not UTF-8
	ws.ExpectClose(wsapi.CloseInvalidFramePayloadData)
}

func TestGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	ws, err := wsapitest.DialURL(t, regexp.MustCompile(`ws://\S+/api/ws`).FindString(line), nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.ReceiveText()
	cancel() // as SIGTERM would
	if reason := ws.ExpectClose(wsapi.CloseGoingAway); reason != "server shutting down" {
		t.Fatalf("reason %q", reason)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
