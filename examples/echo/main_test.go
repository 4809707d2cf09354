package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi/examples/internal/runtest"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

func TestEcho(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	ws := c.Connect("/ws", nil)
	for _, msg := range []string{"hello", "", "数据 ✓"} {
		ws.SendText(msg)
		if got, want := ws.ReceiveText(), "Message text was: "+msg; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	ws.Close()
}

func TestBinaryIsRefusedWith1003(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	ws := c.Connect("/ws", nil)
	ws.SendBytes([]byte{1, 2, 3})
	ws.ExpectClose(wsapi.CloseUnsupportedData)
}

func TestPageConnectsToSameHost(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	resp := c.Get("/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `location.host + "/ws"`) {
		t.Fatalf("the page does not connect to its own host:\n%s", body)
	}
	if resp := c.Get("/ws"); resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("plain GET /ws = %d, want 426", resp.StatusCode)
	}
}

// TestRunShutsDownGracefully runs the program as main does and stops it as
// SIGINT would: open connections are closed with 1001.
func TestRunShutsDownGracefully(t *testing.T) {
	prog := runtest.Start(t, run)
	ws, err := wsapitest.DialURL(t, prog.WS+"ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SendText("ping")
	if got := ws.ReceiveText(); got != "Message text was: ping" {
		t.Fatalf("got %q", got)
	}
	prog.Stop() // as Ctrl-C would
	if reason := ws.ExpectClose(wsapi.CloseGoingAway); reason != "server shutting down" {
		t.Fatalf("close reason %q", reason)
	}
	if err := prog.Wait(); err != nil {
		t.Fatalf("run: %v", err)
	}
}
