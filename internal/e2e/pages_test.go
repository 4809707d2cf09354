package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/wsapi-go/wsapi/internal/exampleproc"
)

// TestEchoPage: the echo example's page connects to /ws; a message typed and
// submitted comes back as "Message text was: <text>" in #messages.
func TestEchoPage(t *testing.T) {
	base := exampleproc.StartURL(t, "echo")
	tab := newBrowser(t)
	do(t, tab, "opening "+base, chromedp.Navigate(base))
	waitSocketOpen(t, tab)

	// Submitted with the Send button, then with Enter.
	first, second := "hello from Chromium ✓", "second message"
	do(t, tab, "typing and clicking Send",
		chromedp.SendKeys(chromedp.ID("messageText"), first),
		chromedp.Click(chromedp.CSS("form button")))
	waitMessage(t, tab, "Message text was: "+first)
	if v := eval[string](t, tab, `document.getElementById("messageText").value`); v != "" {
		t.Errorf("the input holds %q after sending, want it cleared", v)
	}
	do(t, tab, "typing and pressing Enter",
		chromedp.SendKeys(chromedp.ID("messageText"), second+kb.Enter))
	waitMessage(t, tab, "Message text was: "+second)

	want := []string{"Message text was: " + first, "Message text was: " + second}
	if got := messages(t, tab); !slices.Equal(got, want) {
		t.Fatalf("#messages = %q, want %q", got, want)
	}
}

// TestEchoPageServerShutdown: with the page open, SIGINT makes the example
// close the page's socket with 1001, and exit with status 0.
func TestEchoPageServerShutdown(t *testing.T) {
	srv := exampleproc.Start(t, "echo")
	tab := newBrowser(t)
	do(t, tab, "opening "+srv.URL, chromedp.Navigate(srv.URL))
	waitSocketOpen(t, tab)
	eval[bool](t, tab, `(ws.addEventListener("close", e => { window.closeEvent = {code: e.code, reason: e.reason, wasClean: e.wasClean} }), true)`)
	start := time.Now()
	srv.Interrupt()
	waitFor(t, tab, "the close event", `window.closeEvent !== undefined`, `ws.readyState`)
	type closeEvent struct {
		Code     int
		Reason   string
		WasClean bool
	}
	ev := eval[closeEvent](t, tab, `window.closeEvent`)
	t.Logf("the page's socket closed after %v: %+v", time.Since(start).Round(time.Millisecond), ev)
	if ev.Code != 1001 || !ev.WasClean {
		t.Fatalf("close event %+v, want a clean close with code 1001", ev)
	}
	srv.Wait(15 * time.Second)
	t.Logf("the example exited %v after SIGINT", time.Since(start).Round(time.Millisecond))
}

const depsStatusJS = `document.getElementById("status").textContent`

// TestDepsPage: with the page's default token, Connect reaches "connected"
// and a message is answered with "Session or token: some-key-token"; then,
// with the token cleared, Connect ends with the page showing
// "closed (1006)".
func TestDepsPage(t *testing.T) {
	base := exampleproc.StartURL(t, "items")
	tab := newBrowser(t)
	do(t, tab, "opening "+base, chromedp.Navigate(base))
	if s := eval[string](t, tab, depsStatusJS); s != "not connected" {
		t.Fatalf("#status before connecting = %q, want \"not connected\"", s)
	}
	if tok := eval[string](t, tab, `document.getElementById("token").value`); tok != "some-key-token" {
		t.Fatalf("default token %q, want some-key-token", tok)
	}

	do(t, tab, "clicking Connect", chromedp.Click(chromedp.ID("connect")))
	waitFor(t, tab, `#status "connected"`, depsStatusJS+` === "connected"`, depsStatusJS)

	do(t, tab, "typing and clicking Send",
		chromedp.SendKeys(chromedp.ID("messageText"), "hi"),
		chromedp.Click(chromedp.ID("send")))
	waitMessage(t, tab, "Session or token: some-key-token")
	do(t, tab, "sending again with Enter", chromedp.SendKeys(chromedp.ID("messageText"), "again"+kb.Enter))
	waitFor(t, tab, "two answers", messagesJS+".length === 2", messagesJS)
	want := []string{"Session or token: some-key-token", "Session or token: some-key-token"}
	if got := messages(t, tab); !slices.Equal(got, want) {
		t.Fatalf("#messages = %q, want %q", got, want)
	}

	// Then without a token: Connect closes the open socket (1005, no status)
	// and opens one that the server refuses, which the page shows last.
	eval[bool](t, tab, `(window.previousSocket = ws, true)`)
	do(t, tab, "clearing the token and clicking Connect",
		chromedp.Clear(chromedp.ID("token")),
		chromedp.Click(chromedp.ID("connect")))
	waitFor(t, tab, "both sockets to close",
		`ws !== previousSocket && previousSocket.readyState === WebSocket.CLOSED && ws.readyState === WebSocket.CLOSED`,
		depsStatusJS)
	waitFor(t, tab, `#status "closed (1006)"`, depsStatusJS+` === "closed (1006)"`, depsStatusJS)
	if got := messages(t, tab); !slices.Equal(got, want) {
		t.Fatalf("#messages = %q after the refused connection, want %q", got, want)
	}
}

// TestDepsPageRefused: with the token cleared, Connect is refused (403 on the
// wire); a browser cannot read that status and reports close code 1006, which
// the page shows as "closed (1006)". No message arrives.
func TestDepsPageRefused(t *testing.T) {
	base := exampleproc.StartURL(t, "items")
	tab := newBrowser(t)
	do(t, tab, "opening "+base, chromedp.Navigate(base))
	do(t, tab, "clearing the token and clicking Connect",
		chromedp.Clear(chromedp.ID("token")),
		chromedp.Click(chromedp.ID("connect")))
	waitFor(t, tab, "the refused socket to close",
		`ws !== null && ws.readyState === WebSocket.CLOSED`, depsStatusJS)
	if s := eval[string](t, tab, depsStatusJS); s != "closed (1006)" {
		t.Fatalf("#status = %q, want \"closed (1006)\"", s)
	}
	if got := messages(t, tab); len(got) != 0 {
		t.Fatalf("#messages = %q after a refused connection", got)
	}
}

// TestChatPage: two tabs of one browser chat; when one tab closes, the other
// reads that its client left.
func TestChatPage(t *testing.T) {
	base := exampleproc.StartURL(t, "chat")
	browser := newBrowser(t)
	a, b := newTab(t, browser), newTab(t, browser)
	const idJS = `document.getElementById("ws-id").textContent`

	do(t, a, "opening "+base+" in tab A", chromedp.Navigate(base))
	waitSocketOpen(t, a)
	idA := eval[string](t, a, idJS)
	var idB string
	for range 5 { // the page picks a random id: make sure the two differ
		do(t, b, "opening "+base+" in tab B", chromedp.Navigate(base))
		waitSocketOpen(t, b)
		if idB = eval[string](t, b, idJS); idB != idA {
			break
		}
	}
	if idA == "" || idB == "" || idA == idB {
		t.Fatalf("client ids %q and %q: want two different ids", idA, idB)
	}
	t.Logf("tab A is client #%s, tab B client #%s", idA, idB)

	do(t, a, "sending hello from tab A",
		chromedp.SendKeys(chromedp.ID("messageText"), "hello"),
		chromedp.Click(chromedp.CSS("form button")))
	waitMessage(t, b, "Client #"+idA+" says: hello")
	waitMessage(t, a, "Client #"+idA+" says: hello")

	do(t, b, "sending hi from tab B", chromedp.SendKeys(chromedp.ID("messageText"), "hi"+kb.Enter))
	waitMessage(t, a, "Client #"+idB+" says: hi")
	waitMessage(t, b, "Client #"+idB+" says: hi")

	wantA := []string{"You wrote: hello", "Client #" + idA + " says: hello", "Client #" + idB + " says: hi"}
	if got := messages(t, a); !slices.Equal(got, wantA) {
		t.Fatalf("tab A shows %q, want %q", got, wantA)
	}

	closeTab(t, a)
	waitMessage(t, b, "Client #"+idA+" left the chat")
	wantB := []string{"Client #" + idA + " says: hello", "You wrote: hi", "Client #" + idB + " says: hi", "Client #" + idA + " left the chat"}
	if got := messages(t, b); !slices.Equal(got, wantB) {
		t.Fatalf("tab B shows %q, want %q", got, wantB)
	}
}
