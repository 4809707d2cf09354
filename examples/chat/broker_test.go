package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi/examples/internal/runtest"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/wsapi-go/wsapi/redisbroker/redistest"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// TestTwoInstancesFormOneRoom runs two chat processes' worth of program on
// one broker, NATS or Redis, each a real server: clients of either see each
// other, and the goodbye broadcast with the handler's own (cancelled) ctx
// reaches the other instance.
func TestTwoInstancesFormOneRoom(t *testing.T) {
	t.Run("nats", func(t *testing.T) {
		ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(5 * time.Second) {
			t.Fatal("nats-server did not start")
		}
		defer ns.Shutdown()
		twoInstances(t, ns.ClientURL())
	})
	t.Run("redis", func(t *testing.T) {
		twoInstances(t, redistest.Start(t).URL())
	})
}

func twoInstances(t *testing.T, brokerURL string) {
	one := runtest.Start(t, run, "-broker", brokerURL).WS
	two := runtest.Start(t, run, "-broker", brokerURL).WS
	a, err := wsapitest.DialURL(t, one+"ws/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wsapitest.DialURL(t, two+"ws/2", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := wsapitest.DialURL(t, one+"ws/3", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SendText("across")
	want(t, a, "You wrote: across")
	for _, ws := range []*wsapitest.Conn{a, b, c} {
		want(t, ws, "Client #1 says: across")
	}
	b.SendText("back")
	want(t, b, "You wrote: back")
	for _, ws := range []*wsapitest.Conn{b, a, c} {
		want(t, ws, "Client #2 says: back")
	}
	a.Close()
	want(t, b, "Client #1 left the chat")
	want(t, c, "Client #1 left the chat")
}

func TestUnreachableBrokerStopsTheProgram(t *testing.T) {
	for _, url := range []string{"nats://127.0.0.1:1", "redis://127.0.0.1:1", "amqp://127.0.0.1:1"} {
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-broker", url}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("-broker %s: %v, want an error naming the address", url, err)
		}
	}
}
