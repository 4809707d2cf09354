package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

func TestEcho(t *testing.T) {
	c := wsapitest.New(t, newApp())
	ws := c.Connect("/ws")
	for _, msg := range []string{"hello", "", "数据 ✓"} {
		ws.SendText(msg)
		if got, want := ws.ReceiveText(), "Message text was: "+msg; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	ws.Close()
}

func TestBinaryIsRefusedWith1003(t *testing.T) {
	c := wsapitest.New(t, newApp())
	ws := c.Connect("/ws")
	ws.SendBytes([]byte{1, 2, 3})
	ws.ExpectClose(wsapi.CloseUnsupportedData)
}

func TestPageConnectsToSameHost(t *testing.T) {
	c := wsapitest.New(t, newApp())
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
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := regexp.MustCompile(`http://\S+/`).FindString(line)
	if url == "" {
		t.Fatalf("no URL in %q", line)
	}
	ws, err := wsapitest.DialURL(t, strings.Replace(url, "http", "ws", 1)+"ws")
	if err != nil {
		t.Fatal(err)
	}
	ws.SendText("ping")
	if got := ws.ReceiveText(); got != "Message text was: ping" {
		t.Fatalf("got %q", got)
	}
	cancel()
	if reason := ws.ExpectClose(wsapi.CloseGoingAway); reason != "server shutting down" {
		t.Fatalf("close reason %q", reason)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
}
