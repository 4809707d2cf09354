package natsbroker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi/natsbroker"
)

// TestDialContext: ctx bounds the connection attempt. Against a server
// that accepts the connection and never answers (nats.go would wait its
// 2s handshake timeout), Dial returns as soon as ctx is done, with an
// error that wraps ctx's error and its cause and names the URL without
// its credentials.
func TestDialContext(t *testing.T) {
	cause := errors.New("the test gave up")
	for _, tt := range []struct {
		name string
		ctx  func(t *testing.T) context.Context
		want []error
	}{
		{"cancelled before", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, []error{context.Canceled}},
		{"deadline", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, []error{context.DeadlineExceeded}},
		{"cancelled during", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancelCause(t.Context())
			time.AfterFunc(100*time.Millisecond, func() { cancel(cause) })
			t.Cleanup(func() { cancel(nil) })
			return ctx
		}, []error{context.Canceled, cause}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, "") // never answers
			ctx := tt.ctx(t)
			start := time.Now()
			b, err := natsbroker.Dial(ctx, p.url("wsapi:s3cret@"), nil)
			elapsed := time.Since(start)
			if err == nil {
				b.Close()
				t.Fatal("Dial succeeded against a server that never answers")
			}
			if elapsed > time.Second {
				t.Fatalf("Dial returned after %v, want at once once ctx is done", elapsed)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("Dial error %q does not wrap %q", err, w)
				}
			}
			prefix := fmt.Sprintf("natsbroker: cannot reach nats at %s: %s", p.url(""), tt.want[0])
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("Dial error %q, want it to start with %q", err, prefix)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Dial error %q shows the password", err)
			}
		})
	}
}

// TestDialContextAbandonedConnectionIsClosed: when ctx ends while the
// attempt is under way and the server answers afterwards, the connection
// that attempt makes is closed, not left open with nobody to close it.
func TestDialContextAbandonedConnectionIsClosed(t *testing.T) {
	srv := startNATS(t)
	p := startProxy(t, srv.url())
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	b, err := natsbroker.Dial(ctx, p.url(""), nil)
	if err == nil {
		b.Close()
		t.Fatal("Dial succeeded after ctx's deadline")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial error %q, want context.DeadlineExceeded", err)
	}
	p.release() // the server answers now: the handshake completes
	select {
	case <-p.clientClosed:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection of the abandoned attempt is still open 5s after the server answered")
	}
}

// proxy is a loopback listener that holds each connection it accepts
// until release, then pipes it to upstream (or, with no upstream, holds
// it until the test ends).
type proxy struct {
	ln           net.Listener
	upstream     string
	released     chan struct{}
	releaseOnce  sync.Once
	clientClosed chan struct{} // closed when a piped client closes its side
	closedOnce   sync.Once

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{
		ln:           ln,
		upstream:     strings.TrimPrefix(upstream, "nats://"),
		released:     make(chan struct{}),
		clientClosed: make(chan struct{}),
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url(userinfo string) string {
	return "nats://" + userinfo + p.ln.Addr().String()
}

func (p *proxy) release() { p.releaseOnce.Do(func() { close(p.released) }) }

func (p *proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		if p.upstream == "" {
			continue // held open, silent, until close
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			<-p.released
			up, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				return
			}
			p.track(up)
			go func() {
				io.Copy(c, up)
				c.Close()
			}()
			io.Copy(up, c) // returns when the client closes its side
			up.Close()
			p.closedOnce.Do(func() { close(p.clientClosed) })
		}()
	}
}

// close stops the listener and closes every connection, so an attempt
// still waiting on the proxy ends at once.
func (p *proxy) close() {
	p.release()
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
