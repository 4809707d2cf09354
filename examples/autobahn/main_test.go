package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi/wsapitest"
)

func TestEchoKeepsTypes(t *testing.T) {
	ws := wsapitest.New(t, newApp(), nil).Connect("/echo", &wsapitest.DialOptions{Compression: true})
	ws.SendText("text ✓")
	if got := ws.ReceiveText(); got != "text ✓" {
		t.Fatalf("got %q", got)
	}
	big := bytes.Repeat([]byte{0, 1, 2, 3}, 1<<20) // 4 MiB, compressed both ways
	ws.SendBytes(big)
	if got := ws.ReceiveBytes(); !bytes.Equal(got, big) {
		t.Fatalf("binary echo: %d bytes back, want %d", len(got), len(big))
	}
	if ext := ws.Header().Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(ext, "permessage-deflate") {
		t.Fatalf("compression not negotiated: %q", ext)
	}
	ws.Close()
}
