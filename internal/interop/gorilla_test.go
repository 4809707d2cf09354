package interop

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsapi-go/wsapi/internal/exampleproc"
)

// Messages every client sends; the same ones are in node/client.mjs.
const (
	echoText = "héllo, wsapi ✓ 数据"
	token    = "tok-123"
	cookie   = "cookie-abc"
)

// payloads the autobahn echo tests send: a short text, a compressible text
// above the server's compression threshold, a short binary with a byte that
// is not UTF-8, and 1 MiB of pseudo-random (barely compressible) bytes.
func payloads() (shortText, longText string, small, big []byte) {
	shortText = "text ✓"
	longText = strings.Repeat("compress me, please: ✓ ", 400)
	small = []byte{0, 1, 2, 0xff, 0xfe}
	big = make([]byte, 1<<20)
	r := rand.NewChaCha8([32]byte{'w', 's', 'a', 'p', 'i'})
	r.Read(big)
	return
}

var gorillaDialer = &websocket.Dialer{HandshakeTimeout: 5 * time.Second}

func gorillaDial(t *testing.T, d *websocket.Dialer, url string, h http.Header) (*websocket.Conn, *http.Response) {
	t.Helper()
	c, resp, err := d.Dial(url, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c, resp
}

func gorillaRead(t *testing.T, c *websocket.Conn, wantType int, want []byte) {
	t.Helper()
	typ, got, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v (want %q)", err, abbrev(want))
	}
	if typ != wantType || !bytes.Equal(got, want) {
		t.Fatalf("got type %d %q, want type %d %q", typ, abbrev(got), wantType, abbrev(want))
	}
}

func gorillaWrite(t *testing.T, c *websocket.Conn, typ int, p []byte) {
	t.Helper()
	if err := c.WriteMessage(typ, p); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// gorillaClose closes with code and checks that the server answers with a
// close frame carrying the same code (RFC 6455, 5.5.1; wsapi echoes it),
// then ends the connection.
func gorillaClose(t *testing.T, c *websocket.Conn, code int, reason string) {
	t.Helper()
	if err := c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(5*time.Second)); err != nil {
		t.Fatalf("write close: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue // a message sent before our close: skip it
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("after our close %d: %v, want the server's close frame", code, err)
		}
		if ce.Code != code {
			t.Fatalf("server answered our close %d with %d %q", code, ce.Code, ce.Text)
		}
		break
	}
	// The server closes the TCP connection after the close handshake.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.UnderlyingConn().Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("after the close handshake the TCP read gave %v, want EOF", err)
	}
	c.Close()
}

func abbrev(p []byte) string {
	if len(p) > 64 {
		return string(p[:64]) + "…(" + itoa(len(p)) + " bytes)"
	}
	return string(p)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestGorillaEcho(t *testing.T) {
	srv := exampleproc.Start(t, "echo")
	c, _ := gorillaDial(t, gorillaDialer, srv.WSURL()+"ws", nil)
	for _, msg := range []string{echoText, "", "second"} {
		gorillaWrite(t, c, websocket.TextMessage, []byte(msg))
		gorillaRead(t, c, websocket.TextMessage, []byte("Message text was: "+msg))
	}
	gorillaClose(t, c, websocket.CloseNormalClosure, "")
}

func TestGorillaDepsToken(t *testing.T) {
	srv := exampleproc.Start(t, "items")
	c, _ := gorillaDial(t, gorillaDialer, srv.WSURL()+"items/foo/ws?token="+token, nil)
	for range 2 {
		gorillaWrite(t, c, websocket.TextMessage, []byte("hi"))
		gorillaRead(t, c, websocket.TextMessage, []byte("Session or token: "+token))
	}
	gorillaClose(t, c, websocket.CloseNormalClosure, "")
}

func TestGorillaDepsCookieWins(t *testing.T) {
	srv := exampleproc.Start(t, "items")
	for _, url := range []string{"items/foo/ws", "items/foo/ws?token=" + token} {
		c, _ := gorillaDial(t, gorillaDialer, srv.WSURL()+url, http.Header{"Cookie": {"session=" + cookie}})
		gorillaWrite(t, c, websocket.TextMessage, []byte("hi"))
		gorillaRead(t, c, websocket.TextMessage, []byte("Session or token: "+cookie))
		gorillaClose(t, c, websocket.CloseNormalClosure, "")
	}
}

func TestGorillaDepsRefused(t *testing.T) {
	srv := exampleproc.Start(t, "items")
	c, resp, err := gorillaDialer.Dial(srv.WSURL()+"items/foo/ws", nil)
	if err == nil {
		c.Close()
		t.Fatal("the handshake without cookie or token was accepted")
	}
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
		t.Fatalf("dial: %v, want a refused handshake with a response", err)
	}
	checkRefusal(t, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Body)
}

// checkRefusal checks the items example's refusal: 403 with the JSON body
// {"code":1008,"detail":...}.
func checkRefusal(t *testing.T, status int, contentType string, body io.Reader) {
	t.Helper()
	if status != http.StatusForbidden {
		t.Errorf("status %d, want 403", status)
	}
	if !strings.HasPrefix(contentType, "application/json") {
		t.Errorf("Content-Type %q, want application/json", contentType)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	var v struct {
		Code   *int    `json:"code"`
		Detail *string `json:"detail"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Code == nil || *v.Code != 1008 || v.Detail == nil || *v.Detail == "" {
		t.Errorf("body %s, want {\"code\":1008,\"detail\":\"...\"} (err %v)", raw, err)
	}
}

func TestGorillaChat(t *testing.T) {
	srv := exampleproc.Start(t, "chat")
	a, _ := gorillaDial(t, gorillaDialer, srv.WSURL()+"ws/7", nil)
	b, _ := gorillaDial(t, gorillaDialer, srv.WSURL()+"ws/8", nil)
	text := func(s string) []byte { return []byte(s) }

	gorillaWrite(t, a, websocket.TextMessage, text("hello"))
	gorillaRead(t, a, websocket.TextMessage, text("You wrote: hello"))
	gorillaRead(t, a, websocket.TextMessage, text("Client #7 says: hello"))
	gorillaRead(t, b, websocket.TextMessage, text("Client #7 says: hello"))

	gorillaWrite(t, b, websocket.TextMessage, text("hi 7"))
	gorillaRead(t, b, websocket.TextMessage, text("You wrote: hi 7"))
	gorillaRead(t, b, websocket.TextMessage, text("Client #8 says: hi 7"))
	gorillaRead(t, a, websocket.TextMessage, text("Client #8 says: hi 7"))

	gorillaClose(t, a, websocket.CloseNormalClosure, "")
	gorillaRead(t, b, websocket.TextMessage, text("Client #7 left the chat"))
	gorillaClose(t, b, websocket.CloseNormalClosure, "")
}

func TestGorillaAutobahnCompressed(t *testing.T) {
	srv := exampleproc.Start(t, "autobahn")
	d := *gorillaDialer
	d.EnableCompression = true // gorilla offers permessage-deflate without context takeover
	c, resp := gorillaDial(t, &d, srv.URL, nil)
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	if !strings.HasPrefix(ext, "permessage-deflate") {
		t.Fatalf("Sec-WebSocket-Extensions %q: compression not negotiated", ext)
	}
	t.Logf("negotiated: %s", ext)
	c.EnableWriteCompression(true)
	shortText, longText, small, big := payloads()
	for range 2 { // twice: the second round reuses the compression state
		for _, m := range []struct {
			typ int
			p   []byte
		}{
			{websocket.TextMessage, []byte(shortText)},
			{websocket.TextMessage, []byte(longText)},
			{websocket.BinaryMessage, small},
			{websocket.BinaryMessage, big},
		} {
			gorillaWrite(t, c, m.typ, m.p)
			gorillaRead(t, c, m.typ, m.p)
		}
	}
	gorillaClose(t, c, websocket.CloseNormalClosure, "")
}

func TestGorillaAutobahnUncompressed(t *testing.T) {
	srv := exampleproc.Start(t, "autobahn")
	c, resp := gorillaDial(t, gorillaDialer, srv.URL, nil)
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("Sec-WebSocket-Extensions %q without an offer", ext)
	}
	shortText, _, small, big := payloads()
	gorillaWrite(t, c, websocket.TextMessage, []byte(shortText))
	gorillaRead(t, c, websocket.TextMessage, []byte(shortText))
	gorillaWrite(t, c, websocket.BinaryMessage, small)
	gorillaRead(t, c, websocket.BinaryMessage, small)
	gorillaWrite(t, c, websocket.BinaryMessage, big)
	gorillaRead(t, c, websocket.BinaryMessage, big)
	gorillaClose(t, c, websocket.CloseNormalClosure, "")
}

// TestGorillaCloseGoingAway: the client leaves with 1001 "Going Away"; the
// server answers with 1001 and ends the connection.
func TestGorillaCloseGoingAway(t *testing.T) {
	srv := exampleproc.Start(t, "echo")
	c, _ := gorillaDial(t, gorillaDialer, srv.WSURL()+"ws", nil)
	gorillaWrite(t, c, websocket.TextMessage, []byte("bye"))
	gorillaRead(t, c, websocket.TextMessage, []byte("Message text was: bye"))
	gorillaClose(t, c, websocket.CloseGoingAway, "Going Away")
}

// TestGorillaServerShutdown: SIGINT makes the example close the open
// connection with 1001, then exit with status 0.
func TestGorillaServerShutdown(t *testing.T) {
	srv := exampleproc.Start(t, "echo")
	c, _ := gorillaDial(t, gorillaDialer, srv.WSURL()+"ws", nil)
	gorillaWrite(t, c, websocket.TextMessage, []byte("ping"))
	gorillaRead(t, c, websocket.TextMessage, []byte("Message text was: ping"))
	srv.Interrupt()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage() // gorilla answers the close frame itself
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("after SIGINT: %v, want close 1001", err)
	}
	t.Logf("server closed with %d %q", ce.Code, ce.Text)
	c.Close()
	srv.Stop()
}
