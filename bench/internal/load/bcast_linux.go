//go:build linux

package load

import (
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wsapi-go/wsapi/bench/internal/epollwait"
	"github.com/wsapi-go/wsapi/bench/internal/wsframe"
)

type bcastConn struct {
	fd    int
	carry []byte // a partial frame
	count int
}

// Broadcast opens cfg.Conns connections to the subscribe path, hands their
// sockets to one epoll loop on one goroutine (so that reading costs the
// load generator little), asks the server to broadcast cfg.Messages messages of cfg.Size
// bytes, and times the deliveries until every client has every message.
func Broadcast(cfg Config) (map[string]float64, error) {
	conns, err := dialMany(cfg.Addr, cfg.Path, cfg.Conns, 512)
	if err != nil {
		return nil, err
	}
	fds, leftovers, err := takeFDs(conns)
	if err != nil {
		return nil, err
	}
	bcs := make([]*bcastConn, len(fds))
	for i, fd := range fds {
		bcs[i] = &bcastConn{fd: fd, carry: leftovers[i]}
	}
	defer closeFDs(fds)
	if err := awaitRegistered(cfg.Debug, "", cfg.Conns, "subscribers"); err != nil {
		return nil, err
	}
	poller, err := epollwait.New()
	if err != nil {
		return nil, err
	}
	defer poller.Close()
	byFD := map[int]*bcastConn{}
	for _, bc := range bcs {
		byFD[bc.fd] = bc
		if err := poller.Add(bc.fd, unix.EPOLLIN); err != nil {
			return nil, err
		}
	}
	want := cfg.Conns * cfg.Messages
	type readerResult struct {
		t   time.Time
		err error
	}
	readerDone := make(chan readerResult, 1)
	ready := make(chan struct{})
	go func() {
		events := make([]unix.EpollEvent, 1024)
		buf := make([]byte, 256<<10)
		total := 0
		close(ready)
		deadline := time.Now().Add(60 * time.Second)
		for total < want {
			if time.Now().After(deadline) {
				readerDone <- readerResult{err: fmt.Errorf("timed out with %d of %d deliveries", total, want)}
				return
			}
			n, err := poller.Wait(events, 100*time.Millisecond)
			if err != nil {
				readerDone <- readerResult{err: err}
				return
			}
			for i := 0; i < n; i++ {
				bc := byFD[int(events[i].Fd)]
				for {
					k, err := unix.Read(bc.fd, buf)
					if err == unix.EINTR {
						continue
					}
					if err == unix.EAGAIN {
						break
					}
					if k <= 0 {
						readerDone <- readerResult{err: fmt.Errorf("a subscriber's connection ended (%v) after %d messages", err, bc.count)}
						return
					}
					data := buf[:k]
					if len(bc.carry) > 0 {
						bc.carry = append(bc.carry, data...)
						data = bc.carry
					}
					used, msgs, perr := countFrames(data)
					if perr != nil {
						readerDone <- readerResult{err: perr}
						return
					}
					bc.count += msgs
					total += msgs
					bc.carry = append(bc.carry[:0], data[used:]...)
					if k < len(buf) {
						break
					}
				}
			}
		}
		readerDone <- readerResult{t: time.Now()}
	}()
	<-ready
	s0 := snapServer(cfg.PID)
	t0 := time.Now()
	callDone := make(chan error, 1)
	go func() {
		_, err := debugCall("POST", cfg.Debug, fmt.Sprintf("/broadcast?n=%d&size=%d", cfg.Messages, cfg.Size))
		callDone <- err
	}()
	rr := <-readerDone
	callErr := <-callDone
	tCall := time.Since(t0)
	s1 := snapServer(cfg.PID)
	if callErr != nil {
		return nil, callErr
	}
	if rr.err != nil {
		return nil, rr.err
	}
	for _, bc := range bcs {
		if bc.count != cfg.Messages {
			return nil, fmt.Errorf("a subscriber got %d messages, want %d", bc.count, cfg.Messages)
		}
	}
	el := rr.t.Sub(t0).Seconds()
	m := map[string]float64{
		"deliveries":        float64(want),
		"deliveries_per_s":  float64(want) / el,
		"complete_ms":       el * 1000,
		"broadcast_call_ms": float64(tCall.Microseconds()) / 1000,
	}
	addServerMetrics(m, s0, s1, float64(want), "deliveries_per_cpu_s", "delivery")
	return m, nil
}

// countFrames counts the whole data frames at the start of b and returns
// how many bytes they take.
func countFrames(b []byte) (used, msgs int, err error) {
	for {
		h, hn, ok, err := wsframe.ParseHeader(b[used:])
		if err != nil {
			return used, msgs, err
		}
		if !ok || int64(len(b)-used-hn) < h.Len {
			return used, msgs, nil
		}
		used += hn + int(h.Len)
		switch h.Op {
		case wsframe.OpText, wsframe.OpBinary:
			if h.Fin {
				msgs++
			}
		case wsframe.OpClose:
			return used, msgs, fmt.Errorf("server sent a close frame during the broadcast")
		}
	}
}

// awaitRegistered polls the server's debug /count (query: "" or "?route=…")
// until it counts n clients, for 30 s at most; what names them in the error.
func awaitRegistered(debug, query string, n int, what string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := debugCall("GET", debug, "/count"+query)
		if err != nil {
			return err
		}
		if got, _ := strconv.Atoi(s); got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %s of %d %s registered", s, n, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
