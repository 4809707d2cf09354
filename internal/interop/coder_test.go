package interop

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsapi-go/wsapi/internal/exampleproc"
)

func coderDial(t *testing.T, url string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, resp
}

func coderWrite(t *testing.T, c *websocket.Conn, typ websocket.MessageType, p []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, typ, p); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func coderRead(t *testing.T, c *websocket.Conn, wantType websocket.MessageType, want []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, got, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v (want %q)", err, abbrev(want))
	}
	if typ != wantType || !bytes.Equal(got, want) {
		t.Fatalf("got %v %q, want %v %q", typ, abbrev(got), wantType, abbrev(want))
	}
}

// coderClose runs the close handshake; coder/websocket's Close fails unless
// the server answers with a close frame in time.
func coderClose(t *testing.T, c *websocket.Conn, code websocket.StatusCode, reason string) {
	t.Helper()
	if err := c.Close(code, reason); err != nil {
		t.Fatalf("close %d: %v", code, err)
	}
}

func TestCoderEcho(t *testing.T) {
	srv := exampleproc.Start(t, "echo")
	c, _ := coderDial(t, srv.WSURL()+"ws", nil)
	for _, msg := range []string{echoText, "", "second"} {
		coderWrite(t, c, websocket.MessageText, []byte(msg))
		coderRead(t, c, websocket.MessageText, []byte("Message text was: "+msg))
	}
	coderClose(t, c, websocket.StatusNormalClosure, "")
}

func TestCoderDepsToken(t *testing.T) {
	srv := exampleproc.Start(t, "items")
	c, _ := coderDial(t, srv.WSURL()+"items/foo/ws?token="+token, nil)
	for range 2 {
		coderWrite(t, c, websocket.MessageText, []byte("hi"))
		coderRead(t, c, websocket.MessageText, []byte("Session or token: "+token))
	}
	coderClose(t, c, websocket.StatusNormalClosure, "")
}

func TestCoderDepsCookieWins(t *testing.T) {
	srv := exampleproc.Start(t, "items")
	for _, url := range []string{"items/foo/ws", "items/foo/ws?token=" + token} {
		c, _ := coderDial(t, srv.WSURL()+url, &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {"session=" + cookie}}})
		coderWrite(t, c, websocket.MessageText, []byte("hi"))
		coderRead(t, c, websocket.MessageText, []byte("Session or token: "+cookie))
		coderClose(t, c, websocket.StatusNormalClosure, "")
	}
}

func TestCoderDepsRefused(t *testing.T) {
	srv := exampleproc.Start(t, "items")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, srv.WSURL()+"items/foo/ws", nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("the handshake without cookie or token was accepted")
	}
	if resp == nil {
		t.Fatalf("dial: %v, without the refusal's response", err)
	}
	checkRefusal(t, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Body)
}

func TestCoderChat(t *testing.T) {
	srv := exampleproc.Start(t, "chat")
	a, _ := coderDial(t, srv.WSURL()+"ws/7", nil)
	b, _ := coderDial(t, srv.WSURL()+"ws/8", nil)
	text := func(s string) []byte { return []byte(s) }

	coderWrite(t, a, websocket.MessageText, text("hello"))
	coderRead(t, a, websocket.MessageText, text("You wrote: hello"))
	coderRead(t, a, websocket.MessageText, text("Client #7 says: hello"))
	coderRead(t, b, websocket.MessageText, text("Client #7 says: hello"))

	coderWrite(t, b, websocket.MessageText, text("hi 7"))
	coderRead(t, b, websocket.MessageText, text("You wrote: hi 7"))
	coderRead(t, b, websocket.MessageText, text("Client #8 says: hi 7"))
	coderRead(t, a, websocket.MessageText, text("Client #8 says: hi 7"))

	coderClose(t, a, websocket.StatusNormalClosure, "")
	coderRead(t, b, websocket.MessageText, text("Client #7 left the chat"))
	coderClose(t, b, websocket.StatusNormalClosure, "")
}

func TestCoderAutobahn(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode websocket.CompressionMode
		ext  string // the exact Sec-WebSocket-Extensions answer, once parsed
	}{
		{"ContextTakeover", websocket.CompressionContextTakeover, "permessage-deflate"},
		{"NoContextTakeover", websocket.CompressionNoContextTakeover, "permessage-deflate;server_no_context_takeover;client_no_context_takeover"},
		{"Disabled", websocket.CompressionDisabled, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := exampleproc.Start(t, "autobahn")
			c, resp := coderDial(t, srv.URL, &websocket.DialOptions{CompressionMode: tc.mode})
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if norm := strings.ReplaceAll(ext, " ", ""); !sameParams(norm, tc.ext) {
				t.Fatalf("Sec-WebSocket-Extensions %q, want %q", ext, tc.ext)
			}
			t.Logf("negotiated: %q", ext)
			c.SetReadLimit(4 << 20) // coder's default is 32 KiB
			shortText, longText, small, big := payloads()
			for range 2 { // twice: the second round reuses the compression context
				coderWrite(t, c, websocket.MessageText, []byte(shortText))
				coderRead(t, c, websocket.MessageText, []byte(shortText))
				coderWrite(t, c, websocket.MessageText, []byte(longText))
				coderRead(t, c, websocket.MessageText, []byte(longText))
				coderWrite(t, c, websocket.MessageBinary, small)
				coderRead(t, c, websocket.MessageBinary, small)
				coderWrite(t, c, websocket.MessageBinary, big)
				coderRead(t, c, websocket.MessageBinary, big)
			}
			coderClose(t, c, websocket.StatusNormalClosure, "")
		})
	}
}

// sameParams compares two extension values ignoring the order of their
// parameters.
func sameParams(a, b string) bool {
	pa, pb := strings.Split(a, ";"), strings.Split(b, ";")
	if len(pa) != len(pb) || pa[0] != pb[0] {
		return false
	}
	seen := map[string]int{}
	for _, p := range pa[1:] {
		seen[p]++
	}
	for _, p := range pb[1:] {
		seen[p]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestCoderCloseGoingAway: the client leaves with 1001 "Going Away" and the
// close handshake completes.
func TestCoderCloseGoingAway(t *testing.T) {
	srv := exampleproc.Start(t, "echo")
	c, _ := coderDial(t, srv.WSURL()+"ws", nil)
	coderWrite(t, c, websocket.MessageText, []byte("bye"))
	coderRead(t, c, websocket.MessageText, []byte("Message text was: bye"))
	coderClose(t, c, websocket.StatusGoingAway, "Going Away")
}

// TestCoderServerShutdown: SIGINT makes the example close the open
// connection with 1001, then exit with status 0.
func TestCoderServerShutdown(t *testing.T) {
	srv := exampleproc.Start(t, "echo")
	c, _ := coderDial(t, srv.WSURL()+"ws", nil)
	coderWrite(t, c, websocket.MessageText, []byte("ping"))
	coderRead(t, c, websocket.MessageText, []byte("Message text was: ping"))
	srv.Interrupt()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx) // coder answers the close frame itself
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Fatalf("after SIGINT: %v (close status %d), want close 1001", err, code)
	}
	srv.Stop()
}
