package interop

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsapi-go/wsapi/internal/exampleproc"
)

// TestGorillaChatBurst is the burst of an ordinary chat, against the
// examples/chat program with its default settings: 200 gorilla clients
// each send 5 messages at once. Every client gets all 1,000 "says" exactly
// once and in each sender's order, and its own 5 "You wrote"; then 100
// leave, and each of the 100 others gets every "left the chat" once.
func TestGorillaChatBurst(t *testing.T) {
	const clients, each = 200, 5
	srv := exampleproc.Start(t, "chat")
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i], _ = gorillaDial(t, gorillaDialer, fmt.Sprintf("%sws/%d", srv.WSURL(), i), nil)
		conns[i].SetReadDeadline(time.Now().Add(60 * time.Second)) // the server runs with -race
	}
	// The chat registers a client before answering its handshake
	// (Manager.Connect), so every client is in the room now.
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := make([]int, clients)
			wrote := 0
			for n := 0; n < clients*each+each; n++ {
				_, data, err := c.ReadMessage()
				if err != nil {
					errs <- fmt.Errorf("client %d after %d messages: %v", i, n, err)
					return
				}
				var from, k int
				if _, err := fmt.Sscanf(string(data), "You wrote: m%d", &k); err == nil {
					if k != wrote {
						errs <- fmt.Errorf("client %d: You wrote m%d, want m%d", i, k, wrote)
						return
					}
					wrote++
					continue
				}
				if _, err := fmt.Sscanf(string(data), "Client #%d says: m%d", &from, &k); err != nil {
					errs <- fmt.Errorf("client %d: unexpected %q", i, data)
					return
				}
				if k != next[from] {
					errs <- fmt.Errorf("client %d: from %d got m%d, want m%d: a loss, a duplicate or a reordering", i, from, k, next[from])
					return
				}
				next[from]++
			}
		}()
	}
	var writers sync.WaitGroup
	start := make(chan struct{})
	for i, c := range conns {
		writers.Add(1)
		go func() {
			defer writers.Done()
			<-start
			for k := range each {
				if err := c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "m%d", k)); err != nil {
					errs <- fmt.Errorf("client %d: write: %v", i, err)
					return
				}
			}
		}()
	}
	close(start) // all at once
	writers.Wait()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// 100 leave: half with a close frame, half by dropping the socket.
	leavers, stayers := conns[clients/2:], conns[:clients/2]
	for i, c := range leavers {
		if i%2 == 0 {
			c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))
		}
		c.Close()
	}
	errs = make(chan error, clients)
	for i, c := range stayers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			left := map[int]bool{}
			for len(left) < len(leavers) {
				_, data, err := c.ReadMessage()
				if err != nil {
					errs <- fmt.Errorf("stayer %d after %d goodbyes: %v", i, len(left), err)
					return
				}
				var id int
				if _, err := fmt.Sscanf(string(data), "Client #%d left the chat", &id); err != nil {
					errs <- fmt.Errorf("stayer %d: unexpected %q", i, data)
					return
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
	for _, c := range stayers {
		gorillaClose(t, c, websocket.CloseNormalClosure, "")
	}
}
