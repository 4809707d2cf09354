package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/wsapi-go/wsapi/internal/exampleproc"
)

// waitLog waits until an entry of the typed page's #log holds text.
func waitLog(t *testing.T, tab context.Context, text string) {
	t.Helper()
	waitFor(t, tab, "a log entry with "+jsString(text),
		`Array.from(document.querySelectorAll("#log li")).some(li => li.textContent.includes(`+jsString(text)+`))`,
		`Array.from(document.querySelectorAll("#log li")).map(li => li.textContent)`)
}

// TestTypedPage: two tabs of the typed chat. A message typed in one reaches
// the other through their room; an invalid message and an unknown type are
// answered with error entries, and the connection stays open.
func TestTypedPage(t *testing.T) {
	base := exampleproc.StartURL(t, "typed")
	a := newBrowser(t)
	b := newTab(t, a)
	for _, tab := range []struct {
		ctx  context.Context
		name string
	}{{a, "ann"}, {b, "bob"}} {
		do(t, tab.ctx, "connecting as "+tab.name,
			chromedp.Navigate(base),
			chromedp.SetValue("#name", tab.name),
			chromedp.Click("#connect"))
		waitLog(t, tab.ctx, "welcome, "+tab.name)
	}
	waitLog(t, a, "bob joined") // ann sees bob arrive in the lobby

	do(t, a, "saying hello", chromedp.SendKeys("#say-text", "hello bob"+kb.Enter))
	waitLog(t, b, "ann: hello bob")
	waitLog(t, a, "ann: hello bob")

	// The raw form's default message has an empty text: it fails validation.
	do(t, b, "sending an invalid message", chromedp.SendKeys("#raw", kb.Enter))
	waitLog(t, b, "error: message.text")
	do(t, b, "sending an unknown type", chromedp.Click("#unknown"))
	waitLog(t, b, "unknown message type")

	do(t, b, "answering", chromedp.SendKeys("#say-text", "still here"+kb.Enter))
	waitLog(t, a, "bob: still here")
}

// TestAsyncAPIPage: the typed example's /asyncapi page renders its AsyncAPI
// document with the vendored component, offline (the browser reaches
// nothing but 127.0.0.1): the route's channel, an operation for every
// message each way, and every message.
func TestAsyncAPIPage(t *testing.T) {
	base := exampleproc.StartURL(t, "typed")
	tab := newBrowser(t)
	do(t, tab, "opening the docs", chromedp.Navigate(base+"asyncapi"))
	waitFor(t, tab, "the document to render",
		`document.querySelector("#asyncapi[data-state=rendered]") !== null && document.querySelector("#operations") !== null`,
		`document.querySelector("#asyncapi") && document.querySelector("#asyncapi").dataset.state`)
	if title := eval[string](t, tab, `document.querySelector("#introduction").textContent`); !strings.Contains(title, "wsapi typed chat") {
		t.Errorf("#introduction = %q, want the document's title", title)
	}
	for _, op := range []string{"receive-join", "receive-leave", "receive-say", "receive-nick", "receive-react",
		"send-welcome", "send-joined", "send-presence", "send-message", "send-reaction", "send-error"} {
		text := eval[string](t, tab, `(document.querySelector("#operation-`+op+`") || {textContent: ""}).textContent`)
		if text == "" {
			t.Errorf("no #operation-%s on the page", op)
		} else if !strings.Contains(text, "/chat") {
			t.Errorf("#operation-%s does not name the channel /chat: %.80q", op, text)
		}
	}
	if foreign := eval[[]string](t, tab, `performance.getEntriesByType("resource").map(e => e.name).filter(u => !u.startsWith(location.origin))`); len(foreign) > 0 {
		t.Errorf("the page loaded resources from elsewhere: %q", foreign)
	}
	for _, msg := range []string{"join", "leave", "say", "nick", "react", "welcome", "joined", "presence", "message", "reaction", "error"} {
		if !eval[bool](t, tab, `document.querySelector("#messages #message-`+msg+`") !== null`) {
			t.Errorf("no #message-%s on the page", msg)
		}
	}
}
