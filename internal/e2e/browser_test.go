package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	logpkg "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/wsapi-go/wsapi/internal/exampleproc"
)

// Timeouts: waitTimeout bounds one wait for the page; testTimeout bounds a
// whole test, browser included, in case something hangs outside a wait.
const (
	waitTimeout = 10 * time.Second
	testTimeout = 45 * time.Second
)

// chromiumFlags are the only flags the browser gets (chromedp adds
// --user-data-dir, --remote-debugging-pipe and about:blank).
var chromiumFlags = []string{
	"headless",
	"no-sandbox",
	"disable-gpu",
	"disable-background-networking",
	"disable-component-update",
	"no-first-run",
	"disable-quic",
	"disable-sync",
}

// chromiumPath finds Debian's chromium: /usr/bin/chromium, else chromium in
// PATH. When there is none, the test is skipped, or fails with WSAPI_CI=1.
func chromiumPath(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	const msg = "chromium not found (neither /usr/bin/chromium nor chromium in PATH): install it, e.g. apt-get install -y chromium"
	if os.Getenv("WSAPI_CI") == "1" {
		t.Fatal(msg + " (WSAPI_CI=1: failing instead of skipping)")
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless Chromium with a fresh user-data-dir for the
// test and returns the context of its first tab. The browser is closed, and
// the directory removed, when the test ends. Open more tabs with newTab.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	dir, err := os.MkdirTemp("", "wsapi-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Chromium's helper processes can write a little after it exits.
		var err error
		for range 20 {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("removing the user-data-dir %s: %v", dir, err)
	})

	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe), chromedp.UserDataDir(dir)}
	for _, f := range chromiumFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	output := new(exampleproc.Buffer)
	opts = append(opts, chromedp.CombinedOutput(output))

	// Cleanups run last-in first-out: the browser stops before the directory
	// is removed.
	timeout, cancelTimeout := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancelTimeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(timeout, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing the browser: %v", err)
		}
		cancel()
		if out := filterOutput(output.String()); t.Failed() && out != "" {
			t.Logf("chromium output:\n%s", out)
		}
	})
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v\n%s", exe, err, output)
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	return watchPage(t, ctx, "tab")
}

// chromiumNoise matches the lines of Chromium's output that say nothing
// about the test: D-Bus is absent in containers and CI.
var chromiumNoise = regexp.MustCompile(`(?i)dbus|unexpected operator`)

// filterOutput drops chromiumNoise lines.
func filterOutput(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" && !chromiumNoise.MatchString(l) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// pageLog records what a tab's pages report: uncaught JavaScript exceptions,
// which fail the test (an example page must not throw), and console errors
// and warnings, which are only logged (a refused WebSocket logs one).
type pageLog struct {
	name                string
	mu                  sync.Mutex
	exceptions, console []string
}

type pageLogKey struct{}

func (l *pageLog) add(list *[]string, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*list = append(*list, s)
}

func (l *pageLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.exceptions {
		fmt.Fprintf(&b, "\n  %s: uncaught exception: %s", l.name, e)
	}
	for _, c := range l.console {
		fmt.Fprintf(&b, "\n  %s: console: %s", l.name, c)
	}
	return b.String()
}

// watchPage records the tab's exceptions and console messages, fails the
// test at its end for any uncaught exception, and returns the tab's context
// carrying the log (waitFor reports it when it times out).
func watchPage(t testing.TB, tab context.Context, name string) context.Context {
	t.Helper()
	l := &pageLog{name: name}
	err := chromedp.Listen(tab, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := fmt.Sprintf("%s (%s:%d:%d)", d.Text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Text + " " + d.Exception.Description // with the stack
			}
			l.add(&l.exceptions, msg)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range ev.Args {
					if a.Description != "" {
						parts = append(parts, a.Description)
					} else {
						parts = append(parts, string(a.Value))
					}
				}
				l.add(&l.console, string(ev.Type)+": "+strings.Join(parts, " "))
			}
		case *logpkg.EventEntryAdded: // browser messages, such as a failed WebSocket handshake
			if ev.Entry.Level == logpkg.EntryLevelError || ev.Entry.Level == logpkg.EntryLevelWarning {
				l.add(&l.console, string(ev.Entry.Level)+": "+ev.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatalf("listening to the %s: %v", name, err)
	}
	if _, err := chromedp.Run(tab, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, logpkg.Enable, cdp.Empty{})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatalf("enabling the log of the %s: %v", name, err)
	}
	t.Cleanup(func() {
		l.mu.Lock()
		n := len(l.exceptions)
		l.mu.Unlock()
		if n > 0 {
			t.Errorf("the page threw:%s", l)
		} else if t.Failed() && l.String() != "" {
			t.Logf("the page reported:%s", l)
		}
	})
	return context.WithValue(tab, pageLogKey{}, l)
}

var tabs int // numbers the tabs in logs; tests do not run in parallel

// newTab opens another tab in the browser of ctx (from newBrowser). The tab
// closes when the test ends, or earlier with closeTab.
func newTab(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("opening a tab: %v", err)
	}
	tabs++
	return watchPage(t, ctx, fmt.Sprintf("tab %d", tabs))
}

// closeTab closes a tab from newTab, as a user closing it does, and waits
// until the browser has closed it.
func closeTab(t testing.TB, tab context.Context) {
	t.Helper()
	if err := chromedp.Cancel(tab); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("closing the tab: %v", err)
	}
}

// do runs actions in the tab, failing the test on error or after
// waitTimeout.
func do(t testing.TB, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the tab and decodes its value.
func eval[T any](t testing.TB, tab context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls the JavaScript condition cond in the tab from Go until it is
// true, failing the test after waitTimeout with what and the value of the
// JavaScript expression state (which may be ""). Polling from Go works in
// background tabs too, where the page's timers and animation frames are
// throttled.
func waitFor(t testing.TB, tab context.Context, what, cond, state string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(tab, waitTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+cond+")"))
		cancel()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			msg := "timed out after " + waitTimeout.String() + " waiting for " + what
			if state != "" {
				msg += "; the page shows: " + eval[string](t, tab, "JSON.stringify("+state+")")
			}
			if l, ok := tab.Value(pageLogKey{}).(*pageLog); ok {
				msg += l.String()
			}
			t.Fatal(msg)
		}
		select {
		case <-tick.C:
		case <-tab.Done():
			t.Fatalf("waiting for %s: %v", what, tab.Err())
		}
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Helpers for the example pages, which list received messages as
// <ul id="messages"><li>...</li></ul>.

const messagesJS = `Array.from(document.querySelectorAll("#messages li"), li => li.textContent)`

// messages returns the texts of the #messages list.
func messages(t testing.TB, tab context.Context) []string {
	t.Helper()
	return eval[[]string](t, tab, messagesJS)
}

// waitMessage waits until the #messages list holds text.
func waitMessage(t testing.TB, tab context.Context, text string) {
	t.Helper()
	waitFor(t, tab, "the message "+jsString(text),
		messagesJS+".includes("+jsString(text)+")", messagesJS)
}

// waitSocketOpen waits until the page's global WebSocket `ws` is open: the
// example pages keep their socket in `var ws`, and show no state of their
// own (except items, which has #status).
func waitSocketOpen(t testing.TB, tab context.Context) {
	t.Helper()
	waitFor(t, tab, "the page's WebSocket to open",
		`typeof ws !== "undefined" && ws !== null && ws.readyState === WebSocket.OPEN`,
		`typeof ws === "undefined" || ws === null ? "no socket" : "readyState " + ws.readyState`)
}
