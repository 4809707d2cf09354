package redisbroker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsapi-go/wsapi"
	redisbroker "github.com/wsapi-go/wsapi/broker/redis"
	"github.com/wsapi-go/wsapi/wsapitest"
	"go.uber.org/goleak"
)

// topic is the managers' default topic, the Redis channel they share.
const topic = "wsapi"

func dial(t *testing.T, srv *redisServer, opts *redisbroker.Options) *redisbroker.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := redisbroker.Dial(ctx, srv.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestDialUnreachable: Dial pings, so a server that is not there is a
// clear error at start naming the address.
func TestDialUnreachable(t *testing.T) {
	port := freePort(t)
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

// TestFanOut: two processes (a broker, a manager and an app each), clients
// spread 3 and 2 over them. Every broadcast from either side reaches every
// client exactly once, alone and in a concurrent burst, in each sender's
// order, and nothing more arrives afterwards.
func TestFanOut(t *testing.T) {
	srv := startRedis(t)
	logger, logs := newLogger(t)
	a := newProcess(t, "A", dial(t, srv, &redisbroker.Options{Logger: logger}))
	b := newProcess(t, "B", dial(t, srv, &redisbroker.Options{Logger: logger}))
	conns := []*wsapitest.Conn{
		a.join(t, a.client), a.join(t, a.client), a.join(t, a.quiet),
		b.join(t, b.client), b.join(t, b.quiet),
	}
	if n := srv.numSub(topic); n != 2 {
		t.Fatalf("redis counts %d subscribers on %q, want 2 (one per manager)", n, topic)
	}

	for round, p := range []*process{a, b, b, a} {
		msg := fmt.Sprintf("round %d from %s", round, p.name)
		broadcast(t, p, msg)
		for i, ws := range conns {
			if got := ws.ReceiveText(); got != msg {
				t.Fatalf("conn %d received %q, want %q", i, got, msg)
			}
		}
	}
	burst(t, []*process{a, b}, conns, 100)
	expectSilence(t, conns[2]) // on A
	expectSilence(t, conns[4]) // on B
	if n := logs.count("level=WARN") + logs.count("level=ERROR"); n != 0 {
		t.Fatalf("%d warnings or errors logged with Redis up", n)
	}
}

// TestRooms: a room broadcast from either process reaches the room's
// members on both processes and no one else.
func TestRooms(t *testing.T) {
	srv := startRedis(t)
	a := newProcess(t, "A", dial(t, srv, nil))
	b := newProcess(t, "B", dial(t, srv, nil))
	type member struct {
		name string
		ws   *wsapitest.Conn
		want []string
	}
	blue := []string{"blue from A", "blue from B"}
	members := []member{
		{"A blue", a.join(t, a.client, "blue"), blue},
		{"A red", a.join(t, a.client, "red"), []string{"red from B"}},
		{"A blue+red", a.join(t, a.client, "blue", "red"), append(slices.Clone(blue), "red from B")},
		{"A none", a.join(t, a.client), nil},
		{"B blue", b.join(t, b.client, "blue"), blue},
		{"B none", b.join(t, b.client), nil},
	}
	ctx := context.Background()
	for _, err := range []error{
		a.m.BroadcastTo(ctx, "blue", "blue from A"),
		b.m.Room("blue").Broadcast(ctx, "blue from B"),
		b.m.BroadcastTo(ctx, "red", "red from B"),
		a.m.Room("green").Broadcast(ctx, "green from A"), // no members anywhere
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Each sender's messages arrive in order, so whatever a client was
	// wrongly sent arrives before that sender's sentinel.
	broadcast(t, a, "end A")
	broadcast(t, b, "end B")
	for _, m := range members {
		got := collectUntil(t, m.ws, "end A", "end B")
		slices.Sort(m.want)
		if !slices.Equal(got, m.want) {
			t.Errorf("%s received %q, want %q", m.name, got, m.want)
		}
	}
}

// TestOutage: with Redis killed, Broadcast returns an error while the
// manager's own clients still get the message; the subscriptions log the
// loss. Restarted on the same port, the subscriptions come back by
// themselves (logged) and broadcasts flow both ways again; what was
// published during the outage is lost for the other process. No payload is
// ever logged.
func TestOutage(t *testing.T) {
	srv := startRedis(t)
	logger, logs := newLogger(t)
	opts := &redisbroker.Options{Logger: logger, MaxReconnectWait: 200 * time.Millisecond}
	a := newProcess(t, "A", dial(t, srv, opts))
	b := newProcess(t, "B", dial(t, srv, opts))
	a1, b1 := a.join(t, a.client), b.join(t, b.client)
	broadcast(t, a, "before the outage")
	expect(t, a1, "before the outage")
	expect(t, b1, "before the outage")

	srv.kill()
	start := time.Now()
	for _, c := range []struct {
		p   *process
		own *wsapitest.Conn
	}{{a, a1}, {b, b1}} {
		msg := "during the outage from " + c.p.name
		err := c.p.m.Broadcast(context.Background(), msg)
		if err == nil {
			t.Fatalf("%s: Broadcast returned nil with Redis down", c.p.name)
		}
		t.Logf("%s: Broadcast with Redis down: %v", c.p.name, err)
		expect(t, c.own, msg) // local clients still get it
	}
	t.Logf("two broadcasts failed in %v", time.Since(start))
	waitFor(t, "both subscriptions to log the loss", 5*time.Second, func() bool {
		return logs.count("redisbroker: lost the subscription") == 2
	})

	srv.start()
	start = time.Now()
	waitFor(t, "both managers to resubscribe", 10*time.Second, func() bool { return srv.numSub(topic) == 2 })
	t.Logf("resubscribed %v after the restart", time.Since(start))
	// b1 and a1 receive these first: the outage's broadcasts were lost
	// for the other process, not delivered late.
	broadcast(t, a, "after the restart from A")
	expect(t, a1, "after the restart from A")
	expect(t, b1, "after the restart from A")
	broadcast(t, b, "after the restart from B")
	expect(t, b1, "after the restart from B")
	expect(t, a1, "after the restart from B")

	waitFor(t, "both subscriptions to log the recovery", 5*time.Second, func() bool {
		return logs.count("redisbroker: resubscribed") == 2
	})
	if s := logs.String(); strings.Contains(s, "outage") || strings.Contains(s, "restart") {
		t.Fatalf("a payload was logged:\n%s", s)
	}
}

// TestSilentConnection: a subscription whose connection stays open but
// gets no answer (here: Redis paused with CLIENT PAUSE) is noticed by the
// health check, replaced, and resubscribed once Redis answers again.
func TestSilentConnection(t *testing.T) {
	srv := startRedis(t)
	logger, logs := newLogger(t)
	opts := &redisbroker.Options{Logger: logger, HealthCheckInterval: 150 * time.Millisecond, MaxReconnectWait: 100 * time.Millisecond}
	a := newProcess(t, "A", dial(t, srv, opts))
	b := newProcess(t, "B", dial(t, srv, opts))
	a1, b1 := a.join(t, a.client), b.join(t, b.client)
	time.Sleep(400 * time.Millisecond) // a few health checks on a healthy connection
	if n := logs.count("level=WARN"); n != 0 {
		t.Fatalf("the health check of a healthy connection logged %d warnings", n)
	}

	if err := srv.do("client", "pause", 1500, "all"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the health checks to notice", 5*time.Second, func() bool {
		return logs.count("did not answer a ping") == 2
	})
	waitFor(t, "both subscriptions to come back", 10*time.Second, func() bool {
		return logs.count("redisbroker: resubscribed") == 2
	})
	broadcast(t, b, "after the pause")
	expect(t, b1, "after the pause")
	expect(t, a1, "after the pause")
	broadcast(t, a, "after the pause from A")
	expect(t, a1, "after the pause from A")
	expect(t, b1, "after the pause from A")
}

// TestSubscribeIsConfirmed: a broadcast made right after UseBroker returns
// reaches the new subscriber, every time; unsubscribing (Manager.Close)
// releases the subscription on the server.
func TestSubscribeIsConfirmed(t *testing.T) {
	srv := startRedis(t)
	a := newProcess(t, "A", dial(t, srv, nil))
	shared := dial(t, srv, nil)
	for i := range 20 {
		m := wsapi.NewManager(nil)
		ws := (&process{m: m}).join(t, wsapitest.New(t, newApp(m)))
		if err := m.UseBroker(context.Background(), shared); err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf("first broadcast %d", i)
		broadcast(t, a, msg)
		expect(t, ws, msg)
		if err := m.Close(); err != nil {
			t.Fatalf("Manager.Close: %v", err)
		}
		if n := srv.numSub(topic); n != 1 {
			t.Fatalf("after unsubscribing, redis counts %d subscribers, want 1", n)
		}
		ws.Close()
	}
}

// TestClose: Close ends every subscription of the broker (on the server
// too) and its goroutines, closes a client Dial made but not one given to
// New, and makes Publish and Subscribe fail with wsapi.ErrBrokerClosed.
func TestClose(t *testing.T) {
	srv := startRedis(t)
	before := goleak.IgnoreCurrent()
	ctx := context.Background()

	b := dial(t, srv, nil)
	client := redis.NewClient(&redis.Options{Addr: srv.addr()})
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
	if n := srv.numSub(topic); n != 3 {
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
	waitFor(t, "the server to drop the subscriptions", 5*time.Second, func() bool { return srv.numSub(topic) == 0 })
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
