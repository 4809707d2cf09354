package natsbroker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/brokertest"
	"github.com/wsapi-go/wsapi/natsbroker"
	"github.com/wsapi-go/wsapi/wsapitest"
	"go.uber.org/goleak"
)

func dial(t *testing.T, srv *natsServer, opts *natsbroker.Options) *natsbroker.Broker {
	t.Helper()
	b, err := natsbroker.Dial(t.Context(), srv.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// serverSubs returns how many subscriptions the server counts for the
// broker's connection.
func serverSubs(srv *natsServer, b *natsbroker.Broker) int {
	cid, err := b.Conn().GetClientID()
	if err != nil {
		return -1
	}
	return srv.numSubs(cid)
}

// TestBroker runs the behaviour every broker owes the managers.
func TestBroker(t *testing.T) {
	srv := startNATS(t)
	brokertest.Run(t, func(t *testing.T) wsapi.Broker { return dial(t, srv, nil) })
}

// TestDialUnreachable: a server that is not there is a clear error at
// start, naming the URL without its credentials.
func TestDialUnreachable(t *testing.T) {
	srv := startNATS(t)
	port := srv.port
	srv.shutdown() // nothing listens on port now
	b, err := natsbroker.Dial(t.Context(), fmt.Sprintf("nats://wsapi:s3cret@127.0.0.1:%d", port), nil)
	if err == nil {
		b.Close()
		t.Fatal("Dial succeeded with no server listening")
	}
	want := fmt.Sprintf("natsbroker: cannot reach nats at nats://127.0.0.1:%d: ", port)
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Dial error %q, want it to start with %q", err, want)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Dial error %q shows the password", err)
	}
}

// TestDialConfiguresReconnects: the connection Dial makes reconnects
// forever and buffers nothing while disconnected.
func TestDialConfiguresReconnects(t *testing.T) {
	srv := startNATS(t)
	b := dial(t, srv, nil)
	o := b.Conn().Opts
	if o.MaxReconnect != -1 || o.ReconnectBufSize != -1 || !o.AllowReconnect {
		t.Fatalf("MaxReconnect %d, ReconnectBufSize %d, AllowReconnect %v; want -1, -1, true", o.MaxReconnect, o.ReconnectBufSize, o.AllowReconnect)
	}
	if o.Name != "wsapi" {
		t.Fatalf("connection name %q, want wsapi", o.Name)
	}
}

// TestOutage: with the server shut down, Broadcast returns an error
// (natsbroker.ErrDisconnected) while the manager's own clients still get
// the message; the disconnection is logged. Started again on the same
// port, the connections come back by themselves with their subscriptions
// (logged) and broadcasts flow both ways again; what was broadcast during
// the outage is lost for the other process, not delivered late. No payload
// is ever logged.
func TestOutage(t *testing.T) {
	srv := startNATS(t)
	logger, logs := brokertest.NewLogger(t)
	opts := &natsbroker.Options{Logger: logger, ReconnectWait: 100 * time.Millisecond}
	ba, bb := dial(t, srv, opts), dial(t, srv, opts)
	a, b := brokertest.NewProcess(t, "A", ba), brokertest.NewProcess(t, "B", bb)
	a1, b1 := a.Join(t, a.Client), b.Join(t, b.Client)
	brokertest.Broadcast(t, a, "before the outage")
	brokertest.Expect(t, a1, "before the outage")
	brokertest.Expect(t, b1, "before the outage")

	srv.shutdown()
	// A publish in the instant before the client notices the loss cannot
	// fail (NATS publishes are not acknowledged): wait until it has.
	brokertest.WaitFor(t, "both connections to notice the outage", 5*time.Second, func() bool {
		return ba.Conn().IsReconnecting() && bb.Conn().IsReconnecting()
	})
	for _, c := range []struct {
		p   *brokertest.Process
		own *wsapitest.Conn
	}{{a, a1}, {b, b1}} {
		msg := "during the outage from " + c.p.Name
		err := c.p.Manager.Broadcast(context.Background(), msg)
		if !errors.Is(err, natsbroker.ErrDisconnected) {
			t.Fatalf("%s: Broadcast with NATS down returned %v, want natsbroker.ErrDisconnected", c.p.Name, err)
		}
		t.Logf("%s: Broadcast with NATS down: %v", c.p.Name, err)
		brokertest.Expect(t, c.own, msg) // local clients still get it
	}
	brokertest.WaitFor(t, "both disconnections to be logged", 5*time.Second, func() bool {
		return logs.Count("natsbroker: disconnected from nats") == 2
	})

	srv.start()
	start := time.Now()
	brokertest.WaitFor(t, "both connections to come back", 10*time.Second, func() bool {
		return ba.Conn().IsConnected() && bb.Conn().IsConnected()
	})
	for _, br := range []*natsbroker.Broker{ba, bb} {
		// The round trip makes sure the server has the resent subscription.
		if err := br.Conn().FlushTimeout(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		if n := serverSubs(srv, br); n != 1 {
			t.Fatalf("after the reconnection the server counts %d subscriptions for a broker, want 1", n)
		}
	}
	t.Logf("reconnected %v after the restart", time.Since(start))
	brokertest.Broadcast(t, a, "after the restart from A")
	brokertest.Expect(t, a1, "after the restart from A")
	brokertest.Expect(t, b1, "after the restart from A")
	brokertest.Broadcast(t, b, "after the restart from B")
	brokertest.Expect(t, b1, "after the restart from B")
	brokertest.Expect(t, a1, "after the restart from B")

	brokertest.WaitFor(t, "both reconnections to be logged", 5*time.Second, func() bool {
		return logs.Count("natsbroker: reconnected to nats") == 2
	})
	if s := logs.String(); strings.Contains(s, "outage") || strings.Contains(s, "restart") {
		t.Fatalf("a payload was logged:\n%s", s)
	}
}

// TestClose: Close ends every subscription of the broker (on the server
// too) and its goroutines, closes a connection Dial made but not one given
// to New, and makes Publish and Subscribe fail with wsapi.ErrBrokerClosed.
func TestClose(t *testing.T) {
	srv := startNATS(t)
	before := goleak.IgnoreCurrent()
	ctx := context.Background()

	logger, logs := brokertest.NewLogger(t)
	b := dial(t, srv, &natsbroker.Options{Logger: logger})
	nc, err := nats.Connect(srv.url(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nb := natsbroker.New(nc, nil)
	var managers []*wsapi.Manager
	for _, br := range []*natsbroker.Broker{b, b, nb} {
		m := wsapi.NewManager(nil)
		if err := m.UseBroker(ctx, br); err != nil {
			t.Fatal(err)
		}
		managers = append(managers, m)
	}
	if n, m := serverSubs(srv, b), serverSubs(srv, nb); n != 2 || m != 1 {
		t.Fatalf("the server counts %d and %d subscriptions, want 2 and 1", n, m)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := nb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !b.Conn().IsClosed() {
		t.Fatal("Close left the connection Dial made open")
	}
	if !nc.IsConnected() {
		t.Fatal("Close closed the connection given to New")
	}
	brokertest.WaitFor(t, "the closed connection to be logged", 5*time.Second, func() bool {
		return logs.Count("natsbroker: connection closed") == 1
	})
	if n := logs.Count("level=WARN"); n != 0 {
		t.Fatalf("Close logged %d warnings, as if the connection had been lost", n)
	}
	brokertest.WaitFor(t, "the server to drop the subscriptions of the connection given to New", 5*time.Second, func() bool {
		return serverSubs(srv, nb) == 0
	})
	for _, br := range []*natsbroker.Broker{b, nb} {
		if err := br.Publish(ctx, "wsapi", []byte("x")); !errors.Is(err, wsapi.ErrBrokerClosed) {
			t.Fatalf("Publish after Close: %v", err)
		}
		if _, err := br.Subscribe(ctx, "wsapi", func([]byte) {}); !errors.Is(err, wsapi.ErrBrokerClosed) {
			t.Fatalf("Subscribe after Close: %v", err)
		}
	}
	if err := managers[0].Broadcast(ctx, "x"); !errors.Is(err, wsapi.ErrBrokerClosed) {
		t.Fatalf("Broadcast on a closed broker: %v, want wsapi.ErrBrokerClosed", err)
	}
	for _, m := range managers {
		if err := m.Close(); err != nil {
			t.Fatalf("Manager.Close after the broker's Close: %v", err)
		}
	}
	nc.Close()
	goleak.VerifyNone(t, before)
}

// TestUnsubscribeWaitsForHandler: once unsubscribe returns, the handler is
// not running and is not called again.
func TestUnsubscribeWaitsForHandler(t *testing.T) {
	srv := startNATS(t)
	b := dial(t, srv, nil)
	ctx := context.Background()
	entered, release := make(chan struct{}), make(chan struct{})
	var calls, after int
	var done bool
	unsub, err := b.Subscribe(ctx, "t", func([]byte) {
		calls++
		if done {
			after++
		}
		if calls == 1 {
			close(entered)
			<-release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "t", []byte("1")); err != nil {
		t.Fatal(err)
	}
	<-entered
	returned := make(chan error)
	go func() { returned <- unsub() }()
	select {
	case <-returned:
		t.Fatal("unsubscribe returned while the handler was running")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-returned; err != nil {
		t.Fatal(err)
	}
	done = true // the race detector flags this if a handler call could overlap
	for range 3 {
		b.Publish(ctx, "t", []byte("2"))
	}
	b.Conn().Flush()
	time.Sleep(50 * time.Millisecond)
	if calls != 1 || after != 0 {
		t.Fatalf("handler called %d times, %d after unsubscribe returned; want 1 and 0", calls, after)
	}
}
