package wsapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// Connection lifecycle: origin checks, keepalive, timeouts, shutdown and
// the app's counters.

func TestOriginCheck(t *testing.T) {
	app, _ := quietApp(&wsapi.Options{OriginPatterns: []string{"*.example.com"}})
	app.WS("/ws", echo(""))
	c := wsapitest.New(t, app, nil)
	host := strings.TrimPrefix(c.URL(), "http://")
	for origin, want := range map[string]int{
		"":                         101,
		"http://" + host:           101,
		"https://app.example.com":  101,
		"https://evil.example.org": 403,
		"null":                     403,
	} {
		opts := &wsapitest.DialOptions{}
		if origin != "" {
			opts.Header = http.Header{"Origin": {origin}}
		}
		if status, body := handshakeStatus(t, c, "/ws", opts); status != want {
			t.Errorf("Origin %q: %d %s, want %d", origin, status, body, want)
		}
	}
	open, _ := quietApp(&wsapi.Options{InsecureSkipOriginCheck: true})
	open.WS("/ws", echo(""))
	if status, _ := handshakeStatus(t, wsapitest.New(t, open, nil), "/ws", &wsapitest.DialOptions{Header: http.Header{"Origin": {"https://evil.example.org"}}}); status != 101 {
		t.Errorf("InsecureSkipOriginCheck: %d", status)
	}
}

func TestShutdownClosesWith1001(t *testing.T) {
	app, _ := quietApp(nil)
	app.WS("/ws", echo(""))
	c := wsapitest.New(t, app, nil)
	a, b := c.Connect("/ws", nil), c.Connect("/ws", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Shutdown(ctx) }()
	a.ExpectClose(wsapi.CloseGoingAway)
	b.ExpectClose(wsapi.CloseGoingAway)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if status, _ := handshakeStatus(t, c, "/ws", nil); status != http.StatusServiceUnavailable {
		t.Fatalf("handshake after shutdown: %d, want 503", status)
	}
}

func TestPingsAndIdleTimeout(t *testing.T) {
	app, _ := quietApp(&wsapi.Options{PingInterval: 40 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	app.WS("/ws", echo(""))
	c := wsapitest.New(t, app, nil)

	// A client that answers pings (wsapitest does, while it reads) stays.
	ws := c.Connect("/ws", nil)
	deadline := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(deadline) {
		roundTrip(t, ws, "x", "x")
		time.Sleep(50 * time.Millisecond)
	}
	ws.Close()

	// A client that never answers is closed with 1001 "idle timeout".
	silent := c.Connect("/ws", nil)
	var pings atomic.Int32
	start := time.Now()
	for {
		f, err := silent.ReadFrame()
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		if f.Op == wsapitest.OpPing {
			pings.Add(1)
			continue
		}
		if f.Op != wsapitest.OpClose || !bytes.HasPrefix(f.Payload, []byte{0x03, 0xe9}) {
			t.Fatalf("unexpected frame %v %q, want a close with 1001", f.Op, f.Payload)
		}
		break
	}
	if pings.Load() == 0 {
		t.Fatal("the server never pinged the silent client")
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("closed after %v, before the idle timeout", d)
	}
}

func TestWriteTimeoutDropsAStuckClient(t *testing.T) {
	app, _ := quietApp(&wsapi.Options{WriteTimeout: 200 * time.Millisecond})
	result := make(chan error, 1)
	app.WS("/flood", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		big := strings.Repeat("x", 1<<20)
		for {
			if err := ws.SendText(ctx, big); err != nil {
				result <- err
				return err
			}
		}
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/flood", nil) // and never reads
	select {
	case err := <-result:
		var d *wsapi.DisconnectError
		if !errors.As(err, &d) || d.Code != wsapi.CloseAbnormalClosure || d.Reason != "write timeout" {
			t.Fatalf("SendText returned %v, want a 1006 DisconnectError for the write timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a client that never reads held the sender for 10s")
	}
	ws.Drop()
}

func TestStats(t *testing.T) {
	app, _ := quietApp(&wsapi.Options{MaxConnections: 2})
	app.WS("/ok", echo(""))
	app.WS("/fail", func(ctx context.Context, ws *wsapi.Conn) error {
		ws.Accept(ctx, nil)
		return errors.New("boom")
	})
	app.WS("/panic", func(ctx context.Context, ws *wsapi.Conn) error { panic("before accept") })
	c := wsapitest.New(t, app, nil)
	a := c.Connect("/ok", nil)
	handshakeStatus(t, c, "/panic", nil) // refused with 500, and a panic
	f := c.Connect("/fail", nil)
	f.ExpectClose(wsapi.CloseInternalServerError)
	f.Wait()
	handshakeStatus(t, c, "/ok", &wsapitest.DialOptions{Header: http.Header{"Sec-WebSocket-Version": {"8"}}}) // refused with 426
	waitFor(t, func() bool { return app.Stats().Open == 1 }, "one open connection")
	want := wsapi.Stats{Open: 1, Accepted: 2, Refused: 2, Failed: 1, Panics: 1}
	if got := app.Stats(); got != want {
		t.Fatalf("Stats %+v, want %+v", got, want)
	}
	a.Close()
}

// TestSendAfterTheEndReturnsDisconnect: with the handler's own context,
// which the end cancels, a Send still says why the connection ended.
func TestSendAfterTheEndReturnsDisconnect(t *testing.T) {
	app, _ := quietApp(nil)
	got := make(chan error, 1)
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		<-ctx.Done()
		err := ws.SendText(ctx, "too late")
		got <- err
		return err
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/ws", nil)
	ws.CloseWith(wsapi.CloseGoingAway, "bye")
	if err := <-got; wsapi.CloseStatus(err) != wsapi.CloseGoingAway {
		t.Fatalf("SendText after the end: %v, want the peer's *DisconnectError", err)
	}
}

// TestBackgroundReaderHandsOverMessages: a handler that stops reading for a
// while gets a background reader, which answers pings meanwhile and hands
// the messages that arrived to the handler, in order, when it reads again.
func TestBackgroundReaderHandsOverMessages(t *testing.T) {
	app, _ := quietApp(nil)
	resume := make(chan struct{})
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		<-resume // busy elsewhere: not reading
		for {
			msg, err := ws.ReceiveText(ctx)
			if err != nil {
				return err
			}
			if err := ws.SendText(ctx, "late:"+msg); err != nil {
				return err
			}
		}
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/ws", nil)
	time.Sleep(1500 * time.Millisecond) // long enough for the housekeeper to start a reader
	if err := ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpPing, Payload: []byte("still there?")}); err != nil {
		t.Fatal(err)
	}
	f, err := ws.ReadFrame()
	if err != nil || f.Op != wsapitest.OpPong || string(f.Payload) != "still there?" {
		t.Fatalf("no pong while the handler was busy: %v %v %q", err, f.Op, f.Payload)
	}
	for _, m := range []string{"a", "b", "c"} {
		ws.SendText(m)
	}
	close(resume)
	for _, m := range []string{"a", "b", "c"} {
		if got := ws.ReceiveText(); got != "late:"+m {
			t.Fatalf("got %q, want %q", got, "late:"+m)
		}
	}
	ws.SendText("d")
	if got := ws.ReceiveText(); got != "late:d" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
}

type ctxKey struct{}

// TestRequestAfterAccept: the request an accepted connection rebuilds from
// its compact record says what the handshake said: method, URL, headers,
// path values, remote address, Host and the request context's values.
func TestRequestAfterAccept(t *testing.T) {
	app, _ := quietApp(nil)
	app.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "from middleware")))
		})
	})
	got := make(chan string, 2)
	app.WS("/items/{id}/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		before := describe(ws.Request())
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		got <- before
		got <- describe(ws.Request())
		_, err := ws.ReceiveText(ctx)
		return err
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/items/42/ws?q=a%20b&q=c", &wsapitest.DialOptions{
		Header:  http.Header{"X-Multi": {"one", "two"}, "User-Agent": {"tester"}},
		Cookies: []*http.Cookie{{Name: "session", Value: "s1"}},
	})
	before, after := <-got, <-got
	if before != after {
		t.Fatalf("before Accept: %s\nafter Accept:  %s", before, after)
	}
	for _, want := range []string{"GET", "/items/42/ws", `q=[a b c]`, "id=42", "X-Multi=[one two]", "User-Agent=[tester]", "session=s1", "from middleware", "127.0.0.1:"} {
		if !strings.Contains(after, want) {
			t.Errorf("rebuilt request lacks %q: %s", want, after)
		}
	}
	ws.Close()

	// The handshake's own headers in unusual (valid) forms come back as sent.
	ws = c.Connect("/items/7/ws", &wsapitest.DialOptions{
		Header:  http.Header{"Upgrade": {"WebSocket"}, "Connection": {"keep-alive, Upgrade"}},
		Cookies: []*http.Cookie{{Name: "session", Value: "s2"}},
	})
	before, after = <-got, <-got
	if before != after {
		t.Fatalf("before Accept: %s\nafter Accept:  %s", before, after)
	}
	for _, want := range []string{"Upgrade:[WebSocket]", "Connection:[keep-alive, Upgrade]", "Sec-Websocket-Version:[13]"} {
		if !strings.Contains(after, want) {
			t.Errorf("rebuilt request lacks %q: %s", want, after)
		}
	}
	ws.Close()
}

func describe(r *http.Request) string {
	ck, _ := r.Cookie("session")
	return fmt.Sprintf("%s %s q=%v id=%s X-Multi=%v User-Agent=%v session=%s ctx=%v host=%s remote=%s proto=%s header=%v",
		r.Method, r.URL.Path, r.URL.Query()["q"], r.PathValue("id"), r.Header["X-Multi"], r.Header["User-Agent"],
		ck.Value, r.Context().Value(ctxKey{}), r.Host, r.RemoteAddr, r.Proto, r.Header)
}

type serveKey struct{}

// TestServeConnectionContext: a connection served by App.Serve has, in its
// context and in its rebuilt request's, the values of Serve's ctx, of
// net/http (the server, the local address) and of middleware, with or
// without middleware on its way, before and after Accept.
func TestServeConnectionContext(t *testing.T) {
	for _, withMiddleware := range []bool{false, true} {
		t.Run(fmt.Sprintf("middleware=%v", withMiddleware), func(t *testing.T) {
			app, _ := quietApp(nil)
			if withMiddleware {
				app.Use(func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "from middleware")))
					})
				})
			}
			got := make(chan string, 4)
			values := func(ctx context.Context) string {
				srv, _ := ctx.Value(http.ServerContextKey).(*http.Server)
				addr, _ := ctx.Value(http.LocalAddrContextKey).(net.Addr)
				return fmt.Sprintf("serve=%v server=%v local=%v mw=%v", ctx.Value(serveKey{}), srv != nil, addr, ctx.Value(ctxKey{}))
			}
			app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
				got <- values(ctx)
				if err := ws.Accept(ctx, nil); err != nil {
					return err
				}
				got <- values(ctx)
				got <- values(ws.Request().Context())
				got <- fmt.Sprint(ws.Request().Context() == ws.Context())
				_, err := ws.ReceiveText(ctx)
				return err
			})
			nc := dialServed(t, app, context.WithValue(context.Background(), serveKey{}, "from Serve"))
			io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
			mw := "<nil>"
			if withMiddleware {
				mw = "from middleware"
			}
			want := fmt.Sprintf("serve=from Serve server=true local=%v mw=%s", nc.RemoteAddr(), mw)
			for _, when := range []string{"before Accept", "after Accept", "in the rebuilt request"} {
				if v := <-got; v != want {
					t.Errorf("%s: %s, want %s", when, v, want)
				}
			}
			if same := <-got; same != "true" {
				t.Errorf("the rebuilt request's context is not the connection's")
			}
		})
	}
}
