package wsapi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// roomApp serves /ws/{name}?room=a&room=b: the client joins the rooms, then
// each text message it sends is broadcast as "<name>: <msg>" to the room
// named by a "room:" prefix, to everyone but itself with "others:", or to
// everyone.
func roomApp(m *wsapi.Manager) *wsapi.App {
	app, _ := quietApp(nil)
	type P struct {
		Name  string   `path:"name"`
		Rooms []string `query:"room"`
	}
	wsapi.Route(app, "/ws/{name}", func(ctx context.Context, ws *wsapi.Conn, p *P) error {
		if err := m.Connect(ctx, ws, p.Rooms...); err != nil {
			return err
		}
		for {
			msg, err := ws.ReceiveText(ctx)
			if err != nil {
				return err
			}
			switch {
			case strings.HasPrefix(msg, "room:"):
				room, text, _ := strings.Cut(strings.TrimPrefix(msg, "room:"), " ")
				err = m.Room(room).Broadcast(ctx, p.Name+": "+text)
			case strings.HasPrefix(msg, "others:"):
				err = m.Except(ws).Broadcast(ctx, p.Name+": "+strings.TrimPrefix(msg, "others:"))
			case strings.HasPrefix(msg, "leave:"):
				m.Leave(ws, strings.TrimPrefix(msg, "leave:"))
				err = ws.SendText(ctx, "left")
			default:
				err = m.Broadcast(ctx, p.Name+": "+msg)
			}
			if err != nil {
				return err
			}
		}
	})
	return app
}

// expectNothing fails if a message is waiting for the client named name: a
// sentinel sent to its private room must be the next thing it reads.
func expectNothing(t *testing.T, ws *wsapitest.Conn, name string) {
	t.Helper()
	ws.SendText("room:self-" + name + " sentinel")
	if got := ws.ReceiveText(); got != name+": sentinel" {
		t.Fatalf("%s got %q before the sentinel: a message reached a client outside its audience", name, got)
	}
}

func TestRoomsAndAudiences(t *testing.T) {
	m := wsapi.NewManager(nil)
	c := wsapitest.New(t, roomApp(m), nil)
	a := c.Connect("/ws/a?room=red&room=self-a", nil)
	b := c.Connect("/ws/b?room=red&room=self-b", nil)
	d := c.Connect("/ws/d?room=blue&room=self-d", nil)
	if m.Len() != 3 || m.Room("red").Len() != 2 || m.Room("blue").Len() != 1 {
		t.Fatalf("Len %d, red %d, blue %d", m.Len(), m.Room("red").Len(), m.Room("blue").Len())
	}

	a.SendText("room:red hi reds")
	for _, ws := range []*wsapitest.Conn{a, b} {
		if got := ws.ReceiveText(); got != "a: hi reds" {
			t.Fatalf("got %q", got)
		}
	}
	expectNothing(t, d, "d")

	a.SendText("others:not for a")
	for _, ws := range []*wsapitest.Conn{b, d} {
		if got := ws.ReceiveText(); got != "a: not for a" {
			t.Fatalf("got %q", got)
		}
	}
	expectNothing(t, a, "a") // Except skipped the sender

	b.SendText("leave:red")
	if got := b.ReceiveText(); got != "left" {
		t.Fatalf("got %q", got)
	}
	a.SendText("room:red only a now")
	if got := a.ReceiveText(); got != "a: only a now" {
		t.Fatalf("got %q", got)
	}
	expectNothing(t, b, "b")

	// Leaving without DisconnectError: the manager forgets the connection and its rooms.
	d.Drop()
	waitFor(t, func() bool { return m.Len() == 2 && m.Room("blue").Len() == 0 }, "the dropped connection to leave")
	a.Close()
	b.Close()
	waitFor(t, func() bool { return m.Len() == 0 }, "every connection to leave")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStalledClientDoesNotDelayOthers has 1,000 reading clients and one that
// never reads. The stalled client's queue fills up with large messages sent
// to its room, while small broadcasts to everyone keep flowing to the
// others; it is then closed with 1013, and nobody else is disturbed.
func TestStalledClientDoesNotDelayOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,001 connections")
	}
	// Default limits: the stalled client is sent 25 MB, more than socket
	// buffers and its 1 MiB queue can hold.
	m := wsapi.NewManager(nil)
	app := roomApp(m)
	c := wsapitest.New(t, app, &wsapitest.Options{Timeout: 20 * time.Second})
	stalled := c.Connect("/ws/stalled?room=big", nil)
	const others, rounds = 1000, 20
	conns := make([]*wsapitest.Conn, others)
	for i := range conns {
		conns[i] = c.Connect(fmt.Sprintf("/ws/c%d", i), nil)
	}
	big := strings.Repeat("x", 256<<10)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, others)
	for _, ws := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				_, data, err := ws.Receive() // the stalled client's rounds are not awaited
				if err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("round %d", i); string(data) != want {
					errs <- fmt.Errorf("got %q, want %q", data, want)
					return
				}
			}
		}()
	}
	for i := range rounds {
		// Neither call may wait for the stalled client.
		if err := m.Room("big").Broadcast(ctx, big); err != nil {
			t.Fatal(err)
		}
		if err := m.Broadcast(ctx, fmt.Sprintf("round %d", i)); err != nil {
			t.Fatal(err)
		}
		for range 4 {
			m.Room("big").Broadcast(ctx, big)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a reading client was disturbed: %v", err)
	}
	// The stalled client reads at last: behind what its socket held, the close frame.
	for {
		_, _, err := stalled.Receive()
		var d *wsapi.DisconnectError
		if errors.As(err, &d) {
			if d.Code != wsapi.CloseTryAgainLater {
				t.Fatalf("stalled client closed with %v, want 1013", d.Code)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return m.Room("big").Len() == 0 }, "the stalled client to leave")
	if m.Len() != others {
		t.Fatalf("manager holds %d, want %d", m.Len(), others)
	}
}

func TestOverflowDropKeepsTheClient(t *testing.T) {
	m := wsapi.NewManager(&wsapi.ManagerOptions{MaxQueueBytes: 300 << 10, OnOverflow: wsapi.OverflowDrop})
	c := wsapitest.New(t, roomApp(m), nil)
	slow := c.Connect("/ws/slow?room=big", nil)
	big := strings.Repeat("y", 256<<10)
	for range 100 {
		m.Room("big").Broadcast(context.Background(), big)
	}
	if m.Dropped() == 0 {
		t.Fatal("no message was dropped for a client that did not read 25 MB")
	}
	_, data, err := slow.Receive()
	if err != nil {
		t.Fatalf("the slow client was closed: %v", err)
	}
	if len(data) != len(big) {
		t.Fatalf("a message was cut: %d bytes", len(data))
	}
	slow.Close()
}

func TestConcurrentBroadcastsKeepEachSendersOrder(t *testing.T) {
	m := wsapi.NewManager(nil)
	c := wsapitest.New(t, roomApp(m), nil)
	readers := make([]*wsapitest.Conn, 5)
	for i := range readers {
		readers[i] = c.Connect(fmt.Sprintf("/ws/r%d", i), nil)
	}
	const senders, each = 8, 200
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := m.Broadcast(context.Background(), fmt.Sprintf("%d %d", s, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for _, ws := range readers {
		next := make([]int, senders)
		for range senders * each {
			var s, i int
			fmt.Sscanf(ws.ReceiveText(), "%d %d", &s, &i)
			if i != next[s] {
				t.Fatalf("sender %d: message %d arrived when %d was due", s, i, next[s])
			}
			next[s]++
		}
	}
	wg.Wait()
}

// TestManagersShareABroker runs two managers, as two processes would, on
// one MemoryBroker: every client gets every broadcast exactly once, rooms
// included.
func TestManagersShareABroker(t *testing.T) {
	broker := wsapi.NewMemoryBroker()
	m1, m2 := wsapi.NewManager(nil), wsapi.NewManager(nil)
	for _, m := range []*wsapi.Manager{m1, m2} {
		if err := m.UseBroker(context.Background(), broker); err != nil {
			t.Fatal(err)
		}
	}
	c1, c2 := wsapitest.New(t, roomApp(m1), nil), wsapitest.New(t, roomApp(m2), nil)
	a := c1.Connect("/ws/a?room=red&room=all", nil)
	b := c1.Connect("/ws/b?room=all", nil)
	d := c2.Connect("/ws/d?room=red&room=all", nil)
	e := c2.Connect("/ws/e?room=all", nil)
	all := []*wsapitest.Conn{a, b, d, e}

	a.SendText("from a")
	d.SendText("from d")
	for _, ws := range all {
		got := []string{ws.ReceiveText(), ws.ReceiveText()}
		if !(got[0] == "a: from a" && got[1] == "d: from d" || got[0] == "d: from d" && got[1] == "a: from a") {
			t.Fatalf("got %q", got)
		}
	}
	e.SendText("room:red reds everywhere")
	for _, ws := range []*wsapitest.Conn{a, d} {
		if got := ws.ReceiveText(); got != "e: reds everywhere" {
			t.Fatalf("got %q", got)
		}
	}
	// Nothing more for anyone: no duplicates, no room leaks. The sentinel goes
	// through the broker to everyone, so each client's next message is it.
	e.SendText("room:all end")
	for _, ws := range all {
		if got := ws.ReceiveText(); got != "e: end" {
			t.Fatalf("got %q, want the sentinel: a duplicate or a leak", got)
		}
	}
	broker.Close()
	if err := m1.Broadcast(context.Background(), "after close"); err == nil {
		t.Fatal("Broadcast on a closed broker returned no error")
	}
	if got := a.ReceiveText(); got != "after close" {
		t.Fatalf("local clients must still get the message: got %q", got)
	}
}
