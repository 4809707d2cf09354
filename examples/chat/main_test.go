package main

import (
	"errors"
	"net/http"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// TestTranscript replays the tutorial's chat: two clients talk, one leaves.
func TestTranscript(t *testing.T) {
	manager := wsapi.NewManager(nil)
	c := wsapitest.New(t, newApp(manager), nil)
	a := c.Connect("/ws/7", nil)
	b := c.Connect("/ws/8", nil) // registered before the handshake completed

	a.SendText("hello")
	want(t, a, "You wrote: hello")
	want(t, a, "Client #7 says: hello")
	want(t, b, "Client #7 says: hello")

	b.SendText("hi 7")
	want(t, b, "You wrote: hi 7")
	want(t, b, "Client #8 says: hi 7")
	want(t, a, "Client #8 says: hi 7")

	a.Close()
	want(t, b, "Client #7 left the chat")
	if n := manager.Len(); n != 1 {
		t.Fatalf("manager holds %d connections after one left, want 1", n)
	}
	b.Close()
}

func TestNonIntegerClientIDIsRefused(t *testing.T) {
	c := wsapitest.New(t, newApp(wsapi.NewManager(nil)), nil)
	_, err := c.Dial("/ws/seven", nil)
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("want 422, got %v", err)
	}
}

func want(t *testing.T, ws *wsapitest.Conn, msg string) {
	t.Helper()
	if got := ws.ReceiveText(); got != msg {
		t.Fatalf("got %q, want %q", got, msg)
	}
}
