package wsapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gobwas/ws"
)

// Micro-benchmarks of the hot paths. Compare runs with benchstat; none of
// them is pass/fail on time. The peer comparison lives in the bench module.

// rawClient is a minimal client over a real socket, so that allocations
// reported are the server's.
type rawClient struct {
	nc  net.Conn
	br  *bufio.Reader
	buf []byte
}

func dialRaw(b *testing.B, url, path string, header string) *rawClient {
	nc, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n", path, header)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("handshake: %v %v", err, resp)
	}
	return &rawClient{nc: nc, br: br}
}

// roundTrip writes a prebuilt frame and reads one server frame back,
// allocating nothing once warm.
func (c *rawClient) roundTrip(b *testing.B, frame []byte) {
	if _, err := c.nc.Write(frame); err != nil {
		b.Fatal(err)
	}
	if cap(c.buf) < 10 {
		c.buf = make([]byte, 10)
	}
	if _, err := io.ReadFull(c.br, c.buf[:2]); err != nil {
		b.Fatal(err)
	}
	n := int(c.buf[1] & 0x7f)
	switch n {
	case 126:
		io.ReadFull(c.br, c.buf[:2])
		n = int(binary.BigEndian.Uint16(c.buf))
	case 127:
		io.ReadFull(c.br, c.buf[:8])
		n = int(binary.BigEndian.Uint64(c.buf))
	}
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	if _, err := io.ReadFull(c.br, c.buf[:n]); err != nil {
		b.Fatal(err)
	}
}

func echoApp(obs *Observer) *App {
	app := New(quietOptions(Options{Observer: obs}))
	app.WS("/echo", func(ctx context.Context, c *Conn) error {
		if err := c.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			t, data, err := c.Receive(ctx)
			if err != nil {
				return err
			}
			if err := c.Send(ctx, t, data); err != nil {
				return err
			}
		}
	})
	app.WS("/echo-func", func(ctx context.Context, c *Conn) error {
		if err := c.Accept(ctx, nil); err != nil {
			return err
		}
		echo := func(t MessageType, data []byte) error { return c.Send(ctx, t, data) }
		for {
			if err := c.ReceiveFunc(ctx, echo); err != nil {
				return err
			}
		}
	})
	return app
}

// BenchmarkEcho echoes messages through Receive and ReceiveFunc, with no
// Observer and with one that counts every message (what a metrics
// exporter does): the observer's cost per message, and its allocations,
// which must be none.
func BenchmarkEcho(b *testing.B) {
	var msgs, bytes atomic.Int64
	counting := &Observer{Message: func(ev MessageEvent) {
		msgs.Add(1)
		bytes.Add(int64(ev.Size))
	}}
	plain, observed := httptest.NewServer(echoApp(nil)), httptest.NewServer(echoApp(counting))
	defer plain.Close()
	defer observed.Close()
	for _, tc := range []struct {
		path string
		size int
		obs  bool
	}{{"/echo", 32, false}, {"/echo", 32, true}, {"/echo", 16 << 10, false}, {"/echo", 16 << 10, true},
		{"/echo-func", 32, false}, {"/echo-func", 16 << 10, false}} {
		size := tc.size
		srv, name := plain, "observer=none"
		if tc.obs {
			srv, name = observed, "observer=counting"
		}
		b.Run(fmt.Sprintf("%s/%dB/%s", strings.TrimPrefix(tc.path, "/"), size, name), func(b *testing.B) {
			c := dialRaw(b, srv.URL, tc.path, "")
			defer c.nc.Close()
			op := ws.OpText
			if size > 1024 {
				op = ws.OpBinary
			}
			frame := clientFrame(true, 0, op, []byte(strings.Repeat("a", size)))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				c.roundTrip(b, frame)
			}
		})
	}
}

type benchAuth struct {
	Token string `query:"token"`
	User  string
}

func (a *benchAuth) Resolve(ctx context.Context) error {
	if a.Token == "" {
		return Reject(ClosePolicyViolation, "token required")
	}
	a.User = "u-" + a.Token
	return nil
}

// benchParams is the handshake benchmark's 5-field params struct with one
// dependency.
type benchParams struct {
	Room    string `path:"room"`
	Page    int    `query:"page"`
	Limit   int    `query:"limit" default:"10" validate:"min=1,max=100"`
	Agent   string `header:"User-Agent"`
	Session string `cookie:"session"`
	Auth    benchAuth
}

func BenchmarkHandshake(b *testing.B) {
	app := New(quietOptions(Options{}))
	app.WS("/bare", func(ctx context.Context, c *Conn) error { return c.Accept(ctx, nil) })
	Route(app, "/hs/{room}", func(ctx context.Context, c *Conn, p *benchParams) error { return c.Accept(ctx, nil) })
	srv := httptest.NewServer(app)
	defer srv.Close()
	for _, tc := range []struct{ name, path, header string }{
		{"bare", "/bare", ""},
		{"params5+dep", "/hs/lobby?page=2&token=t", "User-Agent: bench\r\nCookie: session=s\r\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c := dialRaw(b, srv.URL, tc.path, tc.header)
				c.nc.Close()
			}
		})
	}
}

// BenchmarkBind runs only the dependency plan of the handshake benchmark,
// with no network: what binding and validation cost per connection.
func BenchmarkBind(b *testing.B) {
	app := New(quietOptions(Options{}))
	plan := planFor(reflect.TypeFor[benchParams]())
	r := httptest.NewRequest("GET", "/hs/lobby?page=2&token=t", nil)
	r.SetPathValue("room", "lobby")
	r.Header.Set("User-Agent", "bench")
	r.Header.Set("Cookie", "session=s")
	rt := &route{app: app, pattern: "/hs/{room}"}
	b.ReportAllocs()
	for b.Loop() {
		c := &Conn{app: app, route: rt}
		st := &depState{app: app, pattern: rt.pattern, c: c, r: r, base: r.Context()}
		var p benchParams
		if err := st.resolveRoot(r.Context(), plan, reflect.ValueOf(&p)); err != nil || len(st.errs) > 0 || p.Auth.User != "u-t" {
			b.Fatal(err, st.errs)
		}
	}
}

func BenchmarkReadMessage(b *testing.B) {
	for _, size := range []int{32, 16 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			frame := clientFrame(true, 0, ws.OpBinary, make([]byte, size))
			lc := &loopConn{discardConn: *newDiscardConn(), data: frame}
			c := newOpenConn(New(quietOptions(Options{})), lc)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				c.beginReceive()
				_, _, _, err := c.next(context.Background(), false)
				c.endReceive()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReceiveText reads text messages from a connection whose socket
// replays them: the copies and allocations of ReceiveText per message, and
// what an Observer counting each message adds, with no network to hide it.
func BenchmarkReceiveText(b *testing.B) {
	var msgs atomic.Int64
	counting := &Observer{Message: func(ev MessageEvent) { msgs.Add(int64(ev.Size)) }}
	for _, tc := range []struct {
		size int
		obs  *Observer
	}{{32, nil}, {32, counting}, {16 << 10, nil}, {16 << 10, counting}} {
		size, name := tc.size, "observer=none"
		if tc.obs != nil {
			name = "observer=counting"
		}
		b.Run(fmt.Sprintf("%dB/%s", size, name), func(b *testing.B) {
			frame := clientFrame(true, 0, ws.OpText, bytes.Repeat([]byte{'x'}, size))
			lc := &loopConn{discardConn: *newDiscardConn(), data: frame}
			c := newOpenConn(New(quietOptions(Options{Observer: tc.obs})), lc)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.ReceiveText(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	c := newOpenConn(New(quietOptions(Options{})), newDiscardConn())
	ctx := context.Background()
	b.Run("text32B", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.SendText(ctx, "0123456789abcdef0123456789abcdef"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text16KiB", func(b *testing.B) {
		s := strings.Repeat("x", 16<<10)
		b.SetBytes(int64(len(s)))
		b.ReportAllocs()
		for b.Loop() {
			if err := c.SendText(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("binary16KiB", func(b *testing.B) {
		p := make([]byte, 16<<10)
		b.SetBytes(int64(len(p)))
		b.ReportAllocs()
		for b.Loop() {
			if err := c.SendBytes(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		v := struct {
			Type string `json:"type"`
			Text string `json:"text"`
			N    int    `json:"n"`
		}{"chat", "hello, 世界", 42}
		b.ReportAllocs()
		for b.Loop() {
			if err := c.SendJSON(ctx, v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBroadcast fans one 64-byte broadcast out to n connections whose
// sockets take everything at once. Allocations per broadcast must not grow
// with n.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			app := New(quietOptions(Options{}))
			m := NewManager(&ManagerOptions{MaxQueueBytes: -1})
			conns := make([]*Conn, n)
			for i := range conns {
				conns[i] = newOpenConn(app, newDiscardConn())
				if err := m.Connect(context.Background(), conns[i]); err != nil {
					b.Fatal(err)
				}
			}
			msg := strings.Repeat("m", 64)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Broadcast(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			for _, c := range conns {
				c.finish(&DisconnectError{Code: CloseGoingAway})
			}
		})
	}
}
