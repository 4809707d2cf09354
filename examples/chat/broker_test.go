package main

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// startChat runs the program as main does, with args, and returns its ws:// base URL.
func startChat(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("the chat did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("the chat printed no URL: %v", err)
	}
	go io.Copy(io.Discard, pr)
	url := regexp.MustCompile(`http://\S+/`).FindString(line)
	return "ws" + strings.TrimPrefix(url, "http")
}

// TestTwoInstancesOnNATSFormOneRoom runs two chat processes' worth of
// program on one NATS server: clients of either see each other.
func TestTwoInstancesOnNATSFormOneRoom(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	defer ns.Shutdown()

	one := startChat(t, "-broker", ns.ClientURL())
	two := startChat(t, "-broker", ns.ClientURL())
	a, err := wsapitest.DialURL(t, one+"ws/1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := wsapitest.DialURL(t, two+"ws/2")
	if err != nil {
		t.Fatal(err)
	}
	a.SendText("across")
	want(t, a, "You wrote: across")
	want(t, a, "Client #1 says: across")
	want(t, b, "Client #1 says: across")
	b.SendText("back")
	want(t, b, "You wrote: back")
	want(t, b, "Client #2 says: back")
	want(t, a, "Client #2 says: back")
	a.Close()
	want(t, b, "Client #1 left the chat")
}

func TestUnreachableBrokerStopsTheProgram(t *testing.T) {
	for _, url := range []string{"nats://127.0.0.1:1", "redis://127.0.0.1:1", "amqp://127.0.0.1:1"} {
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-broker", url}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("-broker %s: %v, want an error naming the address", url, err)
		}
	}
}
