package redisbroker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/brokertest"
	"github.com/wsapi-go/wsapi/redisbroker"
	"github.com/wsapi-go/wsapi/redisbroker/redistest"
	"github.com/wsapi-go/wsapi/wsapitest"
	"go.uber.org/goleak"
)

// topic is the managers' default topic, the Redis channel they share.
const topic = "wsapi"

func dial(t *testing.T, srv *redistest.Server, opts *redisbroker.Options) *redisbroker.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := redisbroker.Dial(ctx, srv.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestDialUnreachable: Dial pings, so a server that is not there is a
// clear error at start naming the address.
// TestBroker runs the behaviour every broker owes the managers.
func TestBroker(t *testing.T) {
	srv := redistest.Start(t)
	brokertest.Run(t, func(t *testing.T) wsapi.Broker { return dial(t, srv, nil) })
}

func TestDialUnreachable(t *testing.T) {
	port := redistest.FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := redisbroker.Dial(ctx, fmt.Sprintf("redis://127.0.0.1:%d", port), nil)
	if err == nil {
		b.Close()
		t.Fatal("Dial succeeded with no server listening")
	}
	want := fmt.Sprintf("redisbroker: cannot reach redis at 127.0.0.1:%d: ", port)
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Dial error %q, want it to start with %q", err, want)
	}
	if _, err := redisbroker.Dial(ctx, "http://127.0.0.1:1", nil); err == nil || !strings.Contains(err.Error(), "redisbroker: parsing the redis URL") {
		t.Fatalf("Dial of a non-redis URL: %v", err)
	}
}

// TestOutage: with Redis killed, Broadcast returns an error while the
// manager's own clients still get the message; the subscriptions log the
// loss. Restarted on the same port, the subscriptions come back by
// themselves (logged) and broadcasts flow both ways again; what was
// published during the outage is lost for the other process. No payload is
// ever logged.
func TestOutage(t *testing.T) {
	srv := redistest.Start(t)
	logger, logs := brokertest.NewLogger(t)
	opts := &redisbroker.Options{Logger: logger, MaxReconnectWait: 200 * time.Millisecond}
	a := brokertest.NewProcess(t, "A", dial(t, srv, opts))
	b := brokertest.NewProcess(t, "B", dial(t, srv, opts))
	a1, b1 := a.Join(t, a.Client), b.Join(t, b.Client)
	brokertest.Broadcast(t, a, "before the outage")
	brokertest.Expect(t, a1, "before the outage")
	brokertest.Expect(t, b1, "before the outage")

	srv.Kill()
	start := time.Now()
	for _, c := range []struct {
		p   *brokertest.Process
		own *wsapitest.Conn
	}{{a, a1}, {b, b1}} {
		msg := "during the outage from " + c.p.Name
		err := c.p.Manager.Broadcast(context.Background(), msg)
		if err == nil {
			t.Fatalf("%s: Broadcast returned nil with Redis down", c.p.Name)
		}
		t.Logf("%s: Broadcast with Redis down: %v", c.p.Name, err)
		brokertest.Expect(t, c.own, msg) // local clients still get it
	}
	t.Logf("two broadcasts failed in %v", time.Since(start))
	brokertest.WaitFor(t, "both subscriptions to log the loss", 5*time.Second, func() bool {
		return logs.Count("redisbroker: lost the subscription") == 2
	})

	srv.Restart()
	start = time.Now()
	brokertest.WaitFor(t, "both managers to resubscribe", 10*time.Second, func() bool { return srv.NumSub(topic) == 2 })
	t.Logf("resubscribed %v after the restart", time.Since(start))
	// b1 and a1 receive these first: the outage's broadcasts were lost
	// for the other process, not delivered late.
	brokertest.Broadcast(t, a, "after the restart from A")
	brokertest.Expect(t, a1, "after the restart from A")
	brokertest.Expect(t, b1, "after the restart from A")
	brokertest.Broadcast(t, b, "after the restart from B")
	brokertest.Expect(t, b1, "after the restart from B")
	brokertest.Expect(t, a1, "after the restart from B")

	brokertest.WaitFor(t, "both subscriptions to log the recovery", 5*time.Second, func() bool {
		return logs.Count("redisbroker: resubscribed") == 2
	})
	if s := logs.String(); strings.Contains(s, "outage") || strings.Contains(s, "restart") {
		t.Fatalf("a payload was logged:\n%s", s)
	}
}

// TestSilentConnection: a subscription whose connection stays open but
// gets no answer (here: Redis paused with CLIENT PAUSE) is noticed by the
// health check, replaced, and resubscribed once Redis answers again.
func TestSilentConnection(t *testing.T) {
	srv := redistest.Start(t)
	logger, logs := brokertest.NewLogger(t)
	opts := &redisbroker.Options{Logger: logger, HealthCheckInterval: 150 * time.Millisecond, MaxReconnectWait: 100 * time.Millisecond}
	a := brokertest.NewProcess(t, "A", dial(t, srv, opts))
	b := brokertest.NewProcess(t, "B", dial(t, srv, opts))
	a1, b1 := a.Join(t, a.Client), b.Join(t, b.Client)
	time.Sleep(400 * time.Millisecond) // a few health checks on a healthy connection
	if n := logs.Count("level=WARN"); n != 0 {
		t.Fatalf("the health check of a healthy connection logged %d warnings", n)
	}

	if err := srv.Do("client", "pause", 1500, "all"); err != nil {
		t.Fatal(err)
	}
	brokertest.WaitFor(t, "the health checks to notice", 5*time.Second, func() bool {
		return logs.Count("did not answer a ping") == 2
	})
	brokertest.WaitFor(t, "both subscriptions to come back", 10*time.Second, func() bool {
		return logs.Count("redisbroker: resubscribed") == 2
	})
	brokertest.Broadcast(t, b, "after the pause")
	brokertest.Expect(t, b1, "after the pause")
	brokertest.Expect(t, a1, "after the pause")
	brokertest.Broadcast(t, a, "after the pause from A")
	brokertest.Expect(t, a1, "after the pause from A")
	brokertest.Expect(t, b1, "after the pause from A")
}

// TestClose: Close ends every subscription of the broker (on the server
// too) and its goroutines, closes a client Dial made but not one given to
// New, and makes Publish and Subscribe fail with wsapi.ErrBrokerClosed.
func TestClose(t *testing.T) {
	srv := redistest.Start(t)
	before := goleak.IgnoreCurrent()
	ctx := context.Background()

	b := dial(t, srv, nil)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer client.Close()
	nb := redisbroker.New(client, nil)
	var managers []*wsapi.Manager
	for _, br := range []*redisbroker.Broker{b, b, nb} {
		m := wsapi.NewManager(nil)
		if err := m.UseBroker(ctx, br); err != nil {
			t.Fatal(err)
		}
		managers = append(managers, m)
	}
	if n := srv.NumSub(topic); n != 3 {
		t.Fatalf("redis counts %d subscribers, want 3", n)
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
	brokertest.WaitFor(t, "the server to drop the subscriptions", 5*time.Second, func() bool { return srv.NumSub(topic) == 0 })
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("Close closed the client given to New: %v", err)
	}
	if err := b.Client().Ping(ctx).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("Ping on the client Dial made, after Close: %v, want redis.ErrClosed", err)
	}
	for _, br := range []*redisbroker.Broker{b, nb} {
		if err := br.Publish(ctx, topic, []byte("x")); !errors.Is(err, wsapi.ErrBrokerClosed) {
			t.Fatalf("Publish after Close: %v", err)
		}
		if _, err := br.Subscribe(ctx, topic, func([]byte) {}); !errors.Is(err, wsapi.ErrBrokerClosed) {
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
	client.Close()
	goleak.VerifyNone(t, before)
}
