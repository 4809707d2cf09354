package main

import (
	"testing"

	"github.com/wsapi-go/wsapi/wsapitest"
)

func TestQuickstart(t *testing.T) {
	ws := wsapitest.New(t, newApp(), nil).Connect("/ws", nil)
	ws.SendText("hi")
	if got := ws.ReceiveText(); got != "Message text was: hi" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
}
