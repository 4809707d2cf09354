//go:build linux

package load

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wsapi-go/wsapi/bench/internal/epollwait"
	"github.com/wsapi-go/wsapi/bench/internal/wsframe"
)

const echoEpollAvailable = true

type echoConn struct {
	fd      int
	buf     []byte
	r, w    int
	out     []byte    // the unsent rest of the request frame
	pollOut bool      // EPOLLOUT is armed
	sent    time.Time // when the message in flight was sent
	got     int       // payload bytes of the echo received so far
}

// echoEpoll drives every connection from one goroutine and one epoll
// instance: each connection has one message (frame) in flight, sent again
// as soon as its answer, which must be want in an op message, is complete. It costs the load generator a read and a write
// per message and no goroutine switches, so that the server, not the load
// generator, is the limit.
func echoEpoll(cfg Config, conns []*Conn, frame, want []byte, op byte) (map[string]float64, error) {
	fds, leftovers, err := takeFDs(conns)
	if err != nil {
		return nil, err
	}
	defer closeFDs(fds)
	poller, err := epollwait.New()
	if err != nil {
		return nil, err
	}
	defer poller.Close()
	byFD := map[int]*echoConn{}
	ecs := make([]*echoConn, len(fds))
	for i, fd := range fds {
		c := &echoConn{fd: fd, buf: make([]byte, max(4096, 2*len(frame), 2*(len(want)+16)))}
		c.w = copy(c.buf, leftovers[i])
		ecs[i], byFD[fd] = c, c
		if err := poller.Add(fd, unix.EPOLLIN); err != nil {
			return nil, err
		}
	}

	var phase atomic.Int32 // 0 warmup, 1 measuring, 2 stop
	type result struct {
		n   int
		lat []time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		res.lat = make([]time.Duration, 0, 1<<16)
		arm := func(c *echoConn, on bool) error {
			if c.pollOut == on {
				return nil
			}
			c.pollOut = on
			ev := uint32(unix.EPOLLIN)
			if on {
				ev |= unix.EPOLLOUT
			}
			return unix.EpollCtl(poller.FD, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: ev, Fd: int32(c.fd)})
		}
		write := func(c *echoConn) error {
			for len(c.out) > 0 {
				n, err := unix.Write(c.fd, c.out)
				if err == unix.EINTR {
					continue
				}
				if err == unix.EAGAIN {
					return arm(c, true)
				}
				if err != nil {
					return err
				}
				c.out = c.out[n:]
			}
			return arm(c, false)
		}
		send := func(c *echoConn) error {
			c.sent = time.Now()
			c.out = frame
			return write(c)
		}
		// read reads what the socket holds and completes echoes.
		read := func(c *echoConn) error {
			for {
				if c.w == len(c.buf) {
					if c.r == 0 {
						return errors.New("echo larger than the read buffer")
					}
					c.w = copy(c.buf, c.buf[c.r:c.w])
					c.r = 0
				}
				n, err := unix.Read(c.fd, c.buf[c.w:])
				if err == unix.EINTR {
					continue
				}
				if err == unix.EAGAIN {
					return nil
				}
				if err != nil {
					return err
				}
				if n == 0 {
					return errors.New("the server closed the connection")
				}
				c.w += n
				for {
					h, hn, ok, err := wsframe.ParseHeader(c.buf[c.r:c.w])
					if err != nil {
						return err
					}
					if !ok || int64(c.w-c.r-hn) < h.Len {
						break
					}
					p := c.buf[c.r+hn : c.r+hn+int(h.Len)]
					c.r += hn + int(h.Len)
					switch h.Op {
					case wsframe.OpText, wsframe.OpBinary, wsframe.OpCont:
						wantOp := op
						if c.got > 0 {
							wantOp = wsframe.OpCont
						}
						if h.Op != wantOp || c.got+len(p) > len(want) || !bytes.Equal(p, want[c.got:c.got+len(p)]) {
							return fmt.Errorf("bad echo frame: opcode %d, %d bytes at offset %d (want opcode %d, %d bytes): %.80q", h.Op, len(p), c.got, op, len(want), p)
						}
						c.got += len(p)
						if !h.Fin {
							continue
						}
						if c.got != len(want) {
							return fmt.Errorf("short echo: %d of %d bytes", c.got, len(want))
						}
						c.got = 0
						d := time.Since(c.sent)
						if phase.Load() == 1 {
							res.n++
							res.lat = append(res.lat, d)
						}
						if err := send(c); err != nil {
							return err
						}
					case wsframe.OpPing, wsframe.OpPong:
					case wsframe.OpClose:
						return errors.New("the server sent a close frame")
					}
				}
				if c.r == c.w {
					c.r, c.w = 0, 0
				}
				if n < len(c.buf)-c.w {
					return nil
				}
			}
		}
		fail := func(err error) {
			res.err = err
			done <- res
		}
		for _, c := range ecs {
			if err := send(c); err != nil {
				fail(err)
				return
			}
		}
		events := make([]unix.EpollEvent, 1024)
		for phase.Load() != 2 {
			n, err := poller.Wait(events, 50*time.Millisecond)
			if err != nil {
				fail(err)
				return
			}
			for i := 0; i < n; i++ {
				c := byFD[int(events[i].Fd)]
				if events[i].Events&unix.EPOLLOUT != 0 {
					if err := write(c); err != nil {
						fail(err)
						return
					}
				}
				if events[i].Events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
					if err := read(c); err != nil {
						fail(err)
						return
					}
				}
			}
		}
		done <- res
	}()

	time.Sleep(cfg.Warmup)
	s0 := snapServer(cfg.PID)
	t0 := time.Now()
	phase.Store(1)
	var res result
	select {
	case res = <-done: // failed early
		phase.Store(2)
		return nil, res.err
	case <-time.After(cfg.Duration):
	}
	t1 := time.Now()
	phase.Store(2)
	s1 := snapServer(cfg.PID)
	res = <-done
	if res.err != nil {
		return nil, res.err
	}
	return echoMetrics(res.n, res.lat, t1.Sub(t0), s0, s1), nil
}
