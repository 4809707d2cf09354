//go:build linux

package load

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wsapi-go/wsapi/bench/internal/epollwait"
	"github.com/wsapi-go/wsapi/bench/internal/wsframe"
)

// burstQuiet ends a burst that stopped making progress: when some
// deliveries will never come (their sender or receiver was closed), the
// burst is over once nothing has arrived for this long.
const burstQuiet = 3 * time.Second

type burstConn struct {
	fd      int
	carry   []byte // a partial frame
	out     []byte // the unsent rest of this client's messages
	count   int    // data messages received
	closed  bool   // the server closed the connection
	code    int    // the close frame's code; 1006 without a close frame
	done    bool   // every message received
	pollOut bool   // EPOLLOUT is armed
}

// Burst runs the chat burst: cfg.Conns clients connect to cfg.Path (a
// route that broadcasts every text message to every client), then every
// client sends cfg.Messages text messages of cfg.Size bytes at once (one
// write per client). It measures the time until every client has received
// all cfg.Conns × cfg.Messages broadcasts, and how many deliveries were
// missing and how many clients the server closed. A burst that stops
// making progress ends after burstQuiet without a delivery, or after
// cfg.Timeout; its time is then the time of the last delivery.
func Burst(cfg Config) (map[string]float64, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	conns, err := dialMany(cfg.Addr, cfg.Path, cfg.Conns, 512)
	if err != nil {
		return nil, err
	}
	fds, leftovers, err := takeFDs(conns)
	if err != nil {
		return nil, err
	}
	defer closeFDs(fds)
	if err := awaitRegistered(cfg.Debug, "?route=chat", cfg.Conns, "chat clients"); err != nil {
		return nil, err
	}
	poller, err := epollwait.New()
	if err != nil {
		return nil, err
	}
	defer poller.Close()
	bcs := make([]*burstConn, len(fds))
	byFD := map[int]*burstConn{}
	for i, fd := range fds {
		var out []byte
		for k := range cfg.Messages {
			out = wsframe.AppendFrame(out, wsframe.OpText, BurstMessage(i, k, cfg.Size), &MaskKey)
		}
		bc := &burstConn{fd: fd, carry: leftovers[i], out: out}
		bcs[i], byFD[fd] = bc, bc
		if err := poller.Add(fd, unix.EPOLLIN); err != nil {
			return nil, err
		}
	}
	want := cfg.Conns * cfg.Messages // per client

	arm := func(bc *burstConn, on bool) error {
		if bc.pollOut == on {
			return nil
		}
		bc.pollOut = on
		ev := uint32(unix.EPOLLIN)
		if on {
			ev |= unix.EPOLLOUT
		}
		return unix.EpollCtl(poller.FD, unix.EPOLL_CTL_MOD, bc.fd, &unix.EpollEvent{Events: ev, Fd: int32(bc.fd)})
	}
	write := func(bc *burstConn) error {
		for len(bc.out) > 0 && !bc.closed {
			n, err := unix.Write(bc.fd, bc.out)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return arm(bc, true)
			}
			if err != nil {
				return err
			}
			bc.out = bc.out[n:]
		}
		return arm(bc, false)
	}
	var total, open, pending int // deliveries; clients not closed; clients neither done nor closed
	open, pending = len(bcs), len(bcs)
	var last time.Time
	end := func(bc *burstConn, code int) {
		if !bc.closed {
			bc.closed, bc.code = true, code
			open--
			if !bc.done {
				pending--
			}
			unix.EpollCtl(poller.FD, unix.EPOLL_CTL_DEL, bc.fd, nil)
		}
	}
	buf := make([]byte, 256<<10)
	read := func(bc *burstConn) error {
		for !bc.closed {
			k, err := unix.Read(bc.fd, buf)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return nil
			}
			if k <= 0 {
				end(bc, 1006)
				return nil
			}
			data := buf[:k]
			if len(bc.carry) > 0 {
				bc.carry = append(bc.carry, data...)
				data = bc.carry
			}
			used, msgs, code, perr := burstFrames(data)
			if perr != nil {
				return perr
			}
			if msgs > 0 {
				bc.count += msgs
				total += msgs
				last = time.Now()
				if !bc.done && bc.count >= want {
					bc.done = true
					pending--
				}
			}
			if code != 0 {
				end(bc, code)
				return nil
			}
			bc.carry = append(bc.carry[:0], data[used:]...)
			if k < len(buf) {
				return nil
			}
		}
		return nil
	}

	s0 := snapServer(cfg.PID)
	t0 := time.Now()
	last = t0
	for _, bc := range bcs {
		if err := write(bc); err != nil {
			return nil, fmt.Errorf("sending the burst: %w", err)
		}
	}
	events := make([]unix.EpollEvent, 1024)
	timedOut := false
	for pending > 0 {
		now := time.Now()
		if now.Sub(t0) > cfg.Timeout {
			timedOut = true
			break
		}
		if now.Sub(last) > burstQuiet {
			break
		}
		n, err := poller.Wait(events, 100*time.Millisecond)
		if err != nil {
			return nil, err
		}
		for i := range n {
			bc := byFD[int(events[i].Fd)]
			if events[i].Events&unix.EPOLLOUT != 0 {
				if err := write(bc); err != nil && !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.ECONNRESET) {
					return nil, err
				}
			}
			if events[i].Events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
				if err := read(bc); err != nil {
					return nil, err
				}
			}
		}
	}
	s1 := snapServer(cfg.PID)
	el := last.Sub(t0).Seconds()
	m := map[string]float64{
		"burst_ms":         el * 1000,
		"deliveries":       float64(total),
		"missing":          float64(cfg.Conns*want - total),
		"clients_closed":   float64(len(bcs) - open),
		"clients_complete": 0,
		"complete":         0,
		"timed_out":        0,
	}
	for _, bc := range bcs {
		if bc.done {
			m["clients_complete"]++
		}
		if bc.closed {
			m["closed_"+strconv.Itoa(bc.code)]++
		}
	}
	if total == cfg.Conns*want {
		m["complete"] = 1
	}
	if timedOut {
		m["timed_out"] = 1
	}
	if el > 0 {
		m["deliveries_per_s"] = float64(total) / el
	}
	addServerMetrics(m, s0, s1, float64(total), "deliveries_per_cpu_s", "delivery")
	return m, nil
}

// burstFrames counts the whole data messages at the start of b and returns
// how many bytes they take, and the code of a close frame among them (1005
// when it has none), or 0.
func burstFrames(b []byte) (used, msgs, closeCode int, err error) {
	for {
		h, hn, ok, err := wsframe.ParseHeader(b[used:])
		if err != nil {
			return used, msgs, 0, err
		}
		if !ok || int64(len(b)-used-hn) < h.Len {
			return used, msgs, 0, nil
		}
		p := b[used+hn : used+hn+int(h.Len)]
		used += hn + int(h.Len)
		switch h.Op {
		case wsframe.OpText, wsframe.OpBinary, wsframe.OpCont:
			if h.Fin {
				msgs++
			}
		case wsframe.OpClose:
			code := 1005
			if len(p) >= 2 {
				code = int(p[0])<<8 | int(p[1])
			}
			return used, msgs, code, nil
		}
	}
}
