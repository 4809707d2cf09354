package wsapi_test

// The promises the documentation makes about a Conn and a Manager, each run
// under adversarial timing: callbacks that sleep while messages arrive,
// contexts cancelled in the middle of calls, many clients at once, and
// closes, sends, broadcasts and shutdowns racing each other. Run them with
// -race; before changing the read or write path, run them with -count=20:
//
//	go test -race -count=20 -run 'TestPromise' .

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// fastHousekeeping makes the housekeeper tick every 25ms, so that it starts
// a background reader for a handler that has not read for about 50ms: a
// callback that sleeps a few hundred milliseconds is, to it, a handler that
// stopped reading.
var fastHousekeeping = &wsapi.Options{PingInterval: 100 * time.Millisecond, IdleTimeout: time.Minute}

// TestPromiseReceiveFuncLendsUntilItReturns: the data ReceiveFunc lends
// stays as it arrived for as long as the callback runs, while the client
// sends more, for messages in the read buffer and in pooled buffers; the
// messages that arrived meanwhile come next, whole and in order.
func TestPromiseReceiveFuncLendsUntilItReturns(t *testing.T) {
	app, _ := quietApp(fastHousekeeping)
	app.WS("/slow", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			err := ws.ReceiveFunc(ctx, func(t wsapi.MessageType, data []byte) error {
				before := bytes.Clone(data)
				time.Sleep(300 * time.Millisecond) // a database call
				if !bytes.Equal(before, data) {
					return ws.SendText(ctx, "changed under the callback")
				}
				return ws.Send(ctx, t, data)
			})
			if err != nil {
				return err
			}
		}
	})
	c := wsapitest.New(t, app, nil)
	const conns = 16
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		ws := c.Connect("/slow", nil)
		size := 100 // in the read buffer
		if i%2 == 1 {
			size = 64 << 10 // in a pooled buffer
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := [][]byte{
				bytes.Repeat([]byte{'a'}, size),
				bytes.Repeat([]byte{'b'}, size),
				bytes.Repeat([]byte{'c'}, size),
			}
			for j, m := range msgs {
				if err := ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpBinary, Payload: m}); err != nil {
					errs <- err
					return
				}
				if j == 0 {
					time.Sleep(100 * time.Millisecond) // the callback is running now
				}
			}
			for _, m := range msgs {
				_, got, err := ws.Receive()
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, m) {
					errs <- fmt.Errorf("%d-byte message: got %.40q..., want %.40q...", size, got, m)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPromiseMisuseIsDetectedExactly: a second Receive while one runs, or a
// Receive inside ReceiveFunc's callback, panics at once; a correct handler
// never does, however its goroutine is scheduled.
func TestPromiseMisuseIsDetectedExactly(t *testing.T) {
	app, _ := quietApp(nil)
	app.WS("/twice", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		// Two goroutines call Receive at once: whichever comes second
		// panics, the other blocks until the client's one message comes.
		panics := make(chan any, 2)
		for range 2 {
			go func() { panics <- recovered(func() { ws.Receive(ctx) }) }()
		}
		first := <-panics // the second call's panic, at once
		if first == nil {
			return ws.SendText(ctx, "a Receive returned before any message")
		}
		if err := ws.SendText(ctx, "second Receive panicked"); err != nil {
			return err
		}
		if p := <-panics; p != nil { // the first call, after the message
			return ws.SendText(ctx, fmt.Sprint("both panicked: ", p))
		}
		return ws.SendText(ctx, "first Receive got the message")
	})
	app.WS("/inside", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		var p any
		err := ws.ReceiveFunc(ctx, func(wsapi.MessageType, []byte) error {
			p = recovered(func() { ws.Receive(ctx) })
			return nil
		})
		if err != nil {
			return err
		}
		if p == nil {
			return ws.SendText(ctx, "no panic")
		}
		return ws.SendText(ctx, "Receive inside ReceiveFunc panicked")
	})
	c := wsapitest.New(t, app, nil)
	a := c.Connect("/twice", nil)
	if got := a.ReceiveText(); got != "second Receive panicked" {
		t.Fatalf("got %q", got)
	}
	a.SendText("x")
	if got := a.ReceiveText(); got != "first Receive got the message" {
		t.Fatalf("got %q", got)
	}
	a.Close()
	b := c.Connect("/inside", nil)
	b.SendText("x")
	if got := b.ReceiveText(); got != "Receive inside ReceiveFunc panicked" {
		t.Fatalf("got %q", got)
	}
	b.Close()
}

func recovered(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// TestPromiseCancelledSendIsNeverWritten: a send whose ctx expires while its
// frame waits behind a large write returns ctx's error, and its frame never
// reaches the client, so a retry sends it once.
func TestPromiseCancelledSendIsNeverWritten(t *testing.T) {
	app, _ := quietApp(nil)
	big := strings.Repeat("x", 32<<20) // more than the socket buffers hold
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		bigDone := make(chan error, 1)
		go func() { bigDone <- ws.SendText(ctx, big) }() // blocks until the client reads
		time.Sleep(50 * time.Millisecond)
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		err := ws.SendText(tctx, "gave up")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("SendText behind a blocked write returned %v, want a deadline error", err)
		}
		if err := ws.SendText(ctx, "retried"); err != nil {
			return err
		}
		if err := <-bigDone; err != nil {
			return err
		}
		_, err = ws.ReceiveText(ctx)
		return err
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/ws", nil)
	time.Sleep(300 * time.Millisecond) // the send gives up meanwhile
	if got := ws.ReceiveText(); len(got) != len(big) {
		t.Fatalf("first message has %d bytes, want the big one", len(got))
	}
	if got := ws.ReceiveText(); got != "retried" {
		t.Fatalf("got %q after the big message, want only the retry: a send that gave up was written", got)
	}
	ws.Close()
	if err := ws.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestPromiseCancelledSendsUnderLoad: many senders with random deadlines
// race one slow reader; every send reported as failed is absent from what
// the client reads, every send reported as written is present, once, in
// each sender's order.
func TestPromiseCancelledSendsUnderLoad(t *testing.T) {
	app, _ := quietApp(nil)
	const senders, each = 8, 100
	var sent sync.Map // "s:i" -> true when SendText returned nil
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					d := time.Duration(rand.IntN(3000)) * time.Microsecond
					sctx, cancel := context.WithTimeout(ctx, d)
					err := ws.SendText(sctx, fmt.Sprintf("%d:%d:%s", s, i, strings.Repeat("p", rand.IntN(40000))))
					cancel()
					if err == nil {
						sent.Store(fmt.Sprintf("%d:%d", s, i), true)
					}
				}
			}()
		}
		wg.Wait()
		return ws.SendText(ctx, "end")
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/ws", nil)
	got := map[string]bool{}
	last := make([]int, senders)
	for i := range last {
		last[i] = -1
	}
	for {
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond) // a slow reader
		msg := ws.ReceiveText()
		if msg == "end" {
			break
		}
		var s, i int
		if _, err := fmt.Sscanf(msg, "%d:%d:", &s, &i); err != nil {
			t.Fatalf("garbled %.30q", msg)
		}
		key := fmt.Sprintf("%d:%d", s, i)
		if got[key] {
			t.Fatalf("%s arrived twice", key)
		}
		if i <= last[s] {
			t.Fatalf("sender %d: %d after %d", s, i, last[s])
		}
		got[key], last[s] = true, i
	}
	sent.Range(func(k, _ any) bool {
		if !got[k.(string)] {
			t.Errorf("%s was reported written but never arrived", k)
		}
		return true
	})
	for k := range got {
		if _, ok := sent.Load(k); !ok {
			t.Errorf("%s arrived though its send reported a failure", k)
		}
	}
	ws.ExpectClose(wsapi.CloseNormalClosure)
}

// TestPromiseReceiveCancelledLosesNothing: a Receive whose ctx ends leaves
// the connection usable and loses nothing, even in the middle of a message,
// however often it happens: with receives timing out every few hundred
// microseconds while the client sends at random intervals, some messages
// in two frames, every message arrives once, whole, in order.
func TestPromiseReceiveCancelledLosesNothing(t *testing.T) {
	app, _ := quietApp(nil)
	const n = 300
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for want := 0; want < n; {
			rctx, cancel := context.WithTimeout(ctx, time.Duration(50+rand.IntN(500))*time.Microsecond)
			msg, err := ws.ReceiveText(rctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				continue
			}
			if err != nil {
				return ws.Close(4000, fmt.Sprintf("after %d: %v", want, err))
			}
			if msg != fmt.Sprint(want) {
				return ws.Close(4000, fmt.Sprintf("got %q, want %d", msg, want))
			}
			want++
		}
		return ws.SendText(ctx, "all in order")
	})
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/ws", nil)
	for i := range n {
		if i%10 == 0 {
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		}
		if i%7 == 0 {
			// In two frames, with a pause between: receives time out in the
			// middle of the message, and lose nothing.
			s := fmt.Sprint(i)
			ws.WriteFrame(wsapitest.Frame{Fin: false, Op: wsapitest.OpText, Payload: []byte(s[:1])})
			time.Sleep(time.Millisecond)
			ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpContinuation, Payload: []byte(s[1:])})
			continue
		}
		ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpText, Payload: []byte(fmt.Sprint(i))})
	}
	if _, got, err := ws.Receive(); err != nil || string(got) != "all in order" {
		t.Fatalf("got %q, %v", got, err)
	}
	ws.ExpectClose(wsapi.CloseNormalClosure)
}

// TestPromiseHandlerContextAfterTheEnd: the handler's ctx is cancelled when
// the client leaves, even mid-send, and every Send and Receive with it then
// returns the *DisconnectError, never a bare context error.
func TestPromiseHandlerContextAfterTheEnd(t *testing.T) {
	app, _ := quietApp(nil)
	results := make(chan error, 64)
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		chunk := strings.Repeat("z", 256<<10)
		var wg sync.WaitGroup
		for range 4 { // senders blocked on a client that stopped reading
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if err := ws.SendText(ctx, chunk); err != nil {
						results <- err
						return
					}
				}
			}()
		}
		_, err := ws.ReceiveText(ctx)
		results <- err
		wg.Wait()
		return err
	})
	c := wsapitest.New(t, app, nil)
	for range 5 {
		ws := c.Connect("/ws", nil)
		time.Sleep(20 * time.Millisecond)
		ws.Drop()
		for range 5 {
			if err := <-results; !wsapi.IsDisconnect(err) {
				t.Fatalf("after the client left: %v, want a *DisconnectError", err)
			}
		}
	}
}

// TestPromiseConcurrentEnds: Close, Send, Broadcast, Shutdown and new
// handshakes race on many connections. Nothing panics or deadlocks, every
// handler returns, every call returns nil or a *DisconnectError, and every
// client sees one close code of those the calls asked for.
func TestPromiseConcurrentEnds(t *testing.T) {
	app, _ := quietApp(nil)
	m := wsapi.NewManager(nil)
	var handlers sync.WaitGroup
	bad := make(chan error, 1000)
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		handlers.Add(1)
		defer handlers.Done()
		if err := m.Connect(ctx, ws); err != nil {
			return err
		}
		var wg sync.WaitGroup
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					var err error
					switch {
					case g == 0:
						err = ws.SendText(ctx, "send")
					case g == 1:
						err = m.Broadcast(ctx, "broadcast")
					case i == 20:
						err = ws.Close(4000+wsapi.CloseCode(rand.IntN(2)), "closed by the server")
					}
					if err != nil && !wsapi.IsDisconnect(err) {
						bad <- err
					}
					if ws.State() == wsapi.StateClosed || err != nil {
						return
					}
					time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
				}
			}()
		}
		for {
			if _, _, err := ws.Receive(ctx); err != nil {
				wg.Wait()
				if !wsapi.IsDisconnect(err) {
					bad <- err
				}
				return nil
			}
		}
	})
	c := wsapitest.New(t, app, &wsapitest.Options{Timeout: 10 * time.Second})
	const conns = 60
	var clients sync.WaitGroup
	codes := make(chan wsapi.CloseCode, conns)
	for i := range conns {
		clients.Add(1)
		go func() {
			defer clients.Done()
			ws, err := c.Dial("/ws", nil)
			if err != nil {
				codes <- 0 // refused: Shutdown came first (503)
				return
			}
			if i%3 == 0 {
				ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpText, Payload: []byte("hello")})
			}
			for {
				_, _, err := ws.Receive()
				var d *wsapi.DisconnectError
				if errors.As(err, &d) {
					codes <- d.Code
					return
				}
				if err != nil {
					bad <- err
					return
				}
			}
		}()
		if i == conns/2 {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := app.Shutdown(ctx); err != nil {
					bad <- fmt.Errorf("Shutdown: %v", err)
				}
			}()
		}
	}
	clients.Wait()
	handlers.Wait()
	close(codes)
	close(bad)
	for err := range bad {
		t.Error(err)
	}
	for code := range codes {
		switch code {
		case 0, wsapi.CloseGoingAway, 4000, 4001:
		default:
			t.Errorf("a client saw close code %v", code)
		}
	}
}

// TestPromiseNegotiationDuringBroadcasts: connections negotiate compression
// and a subprotocol while broadcasts flow to every registered connection,
// those still connecting included (Manager.Connect registers before it
// accepts). Each client inflates every broadcast, and Subprotocol, read
// from the broadcasting goroutine, is "" or the agreed one, never torn.
func TestPromiseNegotiationDuringBroadcasts(t *testing.T) {
	app, _ := quietApp(&wsapi.Options{Compression: wsapi.CompressionNoContextTakeover})
	m := wsapi.NewManager(nil)
	type Token struct {
		Value string `protocol:"v1"` // agreed on as "v1" by Accept
	}
	wsapi.Route(app, "/ws", func(ctx context.Context, ws *wsapi.Conn, p *Token) error {
		if err := m.Connect(ctx, ws); err != nil { // registers, then accepts
			return err
		}
		for {
			if _, _, err := ws.Receive(ctx); err != nil {
				return err
			}
		}
	})
	stop := make(chan struct{})
	broadcasting := make(chan struct{})
	var torn atomic.Int64
	go func() {
		defer close(broadcasting)
		payload := strings.Repeat("compressible ", 40)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m.Broadcast(context.Background(), fmt.Sprintf("%d %s", i, payload))
			time.Sleep(100 * time.Microsecond) // a busy chat, not a flood that every queue overflows
			for ws := range m.Conns() {
				if p := ws.Subprotocol(); p != "" && p != "v1" {
					torn.Add(1)
				}
			}
		}
	}()
	c := wsapitest.New(t, app, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := &wsapitest.DialOptions{Subprotocols: []string{"v1", fmt.Sprintf("token-%d", i)}, Compression: i%2 == 0}
			ws, err := c.Dial("/ws", opts)
			if err != nil {
				errs <- err
				return
			}
			if ws.Subprotocol() != "v1" {
				errs <- fmt.Errorf("agreed on %q, want v1", ws.Subprotocol())
			}
			for range 20 {
				_, data, err := ws.Receive()
				if err != nil {
					errs <- err
					return
				}
				if !strings.HasSuffix(string(data), "compressible ") {
					errs <- fmt.Errorf("broadcast garbled: %.40q", data)
					return
				}
			}
			ws.Close()
		}()
	}
	wg.Wait()
	close(stop)
	<-broadcasting
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := torn.Load(); n > 0 {
		t.Errorf("Subprotocol disagreed with the handshake %d times", n)
	}
}

// chatApp is the tutorial's chat (sections F and G) written as its pages
// teach it: the handler's ctx throughout, the goodbye included.
func chatApp(manager *wsapi.Manager) *wsapi.App {
	app, _ := quietApp(nil)
	type ChatParams struct {
		ClientID int `path:"client_id"`
	}
	wsapi.Route(app, "/ws/{client_id}", func(ctx context.Context, ws *wsapi.Conn, p *ChatParams) error {
		if err := manager.Connect(ctx, ws); err != nil {
			return err
		}
		defer manager.Disconnect(ws)
		err := func() error {
			for {
				data, err := ws.ReceiveText(ctx)
				if err != nil {
					return err
				}
				if err := manager.SendPersonal(ctx, ws, "You wrote: "+data); err != nil {
					return err
				}
				if err := manager.Broadcast(ctx, fmt.Sprintf("Client #%d says: %s", p.ClientID, data)); err != nil {
					return err
				}
			}
		}()
		if wsapi.IsDisconnect(err) {
			manager.Disconnect(ws)
			return manager.Broadcast(ctx, fmt.Sprintf("Client #%d left the chat", p.ClientID))
		}
		return err
	})
	return app
}

// TestPromiseChatBurst: 200 clients each send 5 messages at once to the
// tutorial's chat on a default Manager. Every client gets all 1,000 "says"
// exactly once, in each sender's order, and its own 5 "You wrote"; then 100
// leave in different ways, and each of the 100 others gets every goodbye
// once.
func TestPromiseChatBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 200 connections")
	}
	manager := wsapi.NewManager(nil)
	c := wsapitest.New(t, chatApp(manager), &wsapitest.Options{Timeout: 20 * time.Second})
	const clients, each = 200, 5
	conns := make([]*wsapitest.Conn, clients)
	for i := range conns {
		conns[i] = c.Connect(fmt.Sprintf("/ws/%d", i), nil)
	}
	waitFor(t, func() bool { return manager.Len() == clients }, "every client to register")
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	read := func(ws *wsapitest.Conn, id, says, wrote int, prefix string, check func(msg string) error) {
		defer wg.Done()
		for n := 0; n < says+wrote; n++ {
			_, data, err := ws.Receive()
			if err != nil {
				errs <- fmt.Errorf("client %d after %d messages: %v", id, n, err)
				return
			}
			if err := check(string(data)); err != nil {
				errs <- fmt.Errorf("client %d: %v", id, err)
				return
			}
		}
	}
	for i, ws := range conns {
		next := make([]int, clients)
		wrote := 0
		wg.Add(1)
		go read(ws, i, clients*each, each, "", func(msg string) error {
			var from, k int
			if _, err := fmt.Sscanf(msg, "You wrote: m%d", &k); err == nil {
				if k != wrote {
					return fmt.Errorf("You wrote m%d, want m%d", k, wrote)
				}
				wrote++
				return nil
			}
			if _, err := fmt.Sscanf(msg, "Client #%d says: m%d", &from, &k); err != nil {
				return fmt.Errorf("unexpected %q", msg)
			}
			if k != next[from] {
				return fmt.Errorf("from %d: m%d, want m%d (a loss, a duplicate or a reordering)", from, k, next[from])
			}
			next[from]++
			return nil
		})
	}
	for _, ws := range conns {
		go func() {
			for k := range each {
				ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpText, Payload: fmt.Appendf(nil, "m%d", k)})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// 100 leave: a close frame, a dropped socket, or a message then a drop.
	errs = make(chan error, clients)
	for i := range clients / 2 {
		ws := conns[clients/2+i]
		switch i % 3 {
		case 0:
			ws.Close()
		case 1:
			ws.Drop()
		case 2:
			ws.WriteFrame(wsapitest.Frame{Fin: true, Op: wsapitest.OpText, Payload: []byte("bye")})
			ws.Drop()
		}
	}
	for i, ws := range conns[:clients/2] {
		left := map[int]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(left) < clients/2 {
				_, data, err := ws.Receive()
				if err != nil {
					var missing []int
					for id := clients / 2; id < clients; id++ {
						if !left[id] {
							missing = append(missing, id)
						}
					}
					errs <- fmt.Errorf("stayer %d after %d goodbyes: %v; missing %v", i, len(left), err, missing)
					return
				}
				var id int
				if _, err := fmt.Sscanf(string(data), "Client #%d left the chat", &id); err != nil {
					continue // "bye" from a leaver
				}
				if left[id] {
					errs <- fmt.Errorf("stayer %d: client %d left twice", i, id)
					return
				}
				left[id] = true
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, ws := range conns[:clients/2] {
		ws.Close()
	}
}

// TestPromiseDependencyCleanupContext: Close(ctx) of a dependency gets a
// live context carrying the connection's values, whether the connection was
// accepted and ended or refused.
func TestPromiseDependencyCleanupContext(t *testing.T) {
	app, _ := quietApp(nil)
	got := make(chan string, 2)
	type P struct {
		Res  closerDep
		Deny bool `query:"deny" default:"false"`
	}
	wsapi.Route(app, "/ws", func(ctx context.Context, ws *wsapi.Conn, p *P) error {
		if p.Deny {
			return wsapi.Reject(wsapi.ClosePolicyViolation, "denied")
		}
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		_, _, err := ws.Receive(ctx)
		return err
	})
	app.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), cleanupKey{}, "request value")))
		})
	})
	closerResults = got
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/ws", nil)
	ws.Close()
	handshakeStatus(t, c, "/ws?deny=true", nil)
	for _, what := range []string{"accepted", "refused"} {
		select {
		case r := <-got:
			if r != "live, request value" {
				t.Errorf("%s connection: Close(ctx) saw %s", what, r)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s connection: Close was not called", what)
		}
	}
}

type cleanupKey struct{}

var closerResults chan string

type closerDep struct{}

func (closerDep) Close(ctx context.Context) error {
	state := "live"
	if ctx.Err() != nil {
		state = "cancelled"
	}
	v, _ := ctx.Value(cleanupKey{}).(string)
	closerResults <- state + ", " + v
	return nil
}

// TestPromiseRoutesRegisteredWhileServing: a route registered while the app
// serves handshakes is reachable at once, and serving never sees it half
// made.
func TestPromiseRoutesRegisteredWhileServing(t *testing.T) {
	app, _ := quietApp(nil)
	app.WS("/ws/0", echo(""))
	c := wsapitest.New(t, app, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if ws, err := c.Dial("/ws/0", nil); err == nil {
				ws.Close()
			}
		}
	}()
	for i := 1; i <= 30; i++ {
		app.WS(fmt.Sprintf("/ws/%d", i), echo(""))
		ws := c.Connect(fmt.Sprintf("/ws/%d", i), nil)
		ws.SendText("hi")
		if got := ws.ReceiveText(); got != "hi" {
			t.Fatalf("route %d: got %q", i, got)
		}
		ws.Close()
	}
	close(stop)
	wg.Wait()
}
