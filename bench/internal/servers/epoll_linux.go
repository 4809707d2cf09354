//go:build linux

package servers

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/wsapi-go/wsapi/bench/internal/epollwait"
	"github.com/wsapi-go/wsapi/bench/internal/wsframe"
)

// The "ceiling": one goroutine runs a level-triggered epoll loop over
// non-blocking sockets (waiting through Go's poller, see epollwait), with a hand-written handshake and
// frame echo and no WebSocket library. It is what the load generator can
// drive when the server does next to nothing; every path (/echo, /sub,
// /hsbare) echoes, and a broadcast goes to every open connection.

const (
	epollMaxHead    = 8 << 10
	epollMaxPayload = 32 << 20
)

type econn struct {
	fd      int
	open    bool   // the handshake is done
	in      []byte // input not consumed yet: a partial head or frame
	out     []byte // output the socket did not take yet
	closing bool   // close once out is flushed
	pollOut bool   // EPOLLOUT is armed
	idx     int    // index in epollServer.live, or -1
}

type epollServer struct {
	poller         *epollwait.Poller
	epfd, lfd, efd int
	conns          []*econn // by fd
	live           []*econn // open connections, for broadcasts
	nopen          atomic.Int64
	rbuf, wbuf     []byte

	mu       sync.Mutex
	jobs     []epollJob
	stopping atomic.Bool
	stopped  chan struct{}
}

type epollJob struct {
	payloads [][]byte
	done     chan struct{}
}

func startEpoll() (*Instance, error) {
	s := &epollServer{rbuf: make([]byte, 256<<10), stopped: make(chan struct{})}
	port, err := s.listen()
	if err != nil {
		s.closeFDs()
		return nil, err
	}
	go s.loop()
	return &Instance{
		Addr: fmt.Sprintf("127.0.0.1:%d", port),
		broadcast: func(ctx context.Context, payloads [][]byte) error {
			j := epollJob{payloads: payloads, done: make(chan struct{})}
			s.mu.Lock()
			s.jobs = append(s.jobs, j)
			s.mu.Unlock()
			s.wake()
			select {
			case <-j.done:
				return nil
			case <-s.stopped:
				return errors.New("epoll server stopped")
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		count: func() int { return int(s.nopen.Load()) },
		stop: func() {
			if s.stopping.CompareAndSwap(false, true) {
				s.wake()
				<-s.stopped
			}
		},
	}, nil
}

func (s *epollServer) listen() (int, error) {
	var err error
	s.epfd, s.lfd, s.efd = -1, -1, -1
	if s.poller, err = epollwait.New(); err != nil {
		return 0, err
	}
	s.epfd = s.poller.FD
	if s.lfd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0); err != nil {
		return 0, err
	}
	unix.SetsockoptInt(s.lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err = unix.Bind(s.lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return 0, err
	}
	if err = unix.Listen(s.lfd, 4096); err != nil {
		return 0, err
	}
	sa, err := unix.Getsockname(s.lfd)
	if err != nil {
		return 0, err
	}
	if s.efd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return 0, err
	}
	for _, fd := range []int{s.lfd, s.efd} {
		if err = unix.EpollCtl(s.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return 0, err
		}
	}
	return sa.(*unix.SockaddrInet4).Port, nil
}

func (s *epollServer) wake() {
	var one [8]byte
	binary.LittleEndian.PutUint64(one[:], 1)
	unix.Write(s.efd, one[:])
}

func (s *epollServer) closeFDs() {
	for _, fd := range []int{s.lfd, s.efd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if s.poller != nil {
		s.poller.Close()
	}
}

func (s *epollServer) loop() {
	defer close(s.stopped)
	events := make([]unix.EpollEvent, 512)
	for !s.stopping.Load() {
		n, err := s.poller.Wait(events, 0)
		if err != nil {
			panic(fmt.Sprintf("epoll_wait: %v", err))
		}
		for i := 0; i < n; i++ {
			ev := events[i]
			fd := int(ev.Fd)
			switch fd {
			case s.lfd:
				s.acceptAll()
			case s.efd:
				var buf [8]byte
				unix.Read(s.efd, buf[:])
				s.runJobs()
			default:
				if fd >= len(s.conns) || s.conns[fd] == nil {
					continue
				}
				c := s.conns[fd]
				if ev.Events&unix.EPOLLOUT != 0 {
					s.flush(c)
				}
				if ev.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 && s.conns[fd] == c {
					s.readable(c)
				}
			}
		}
	}
	for _, c := range s.conns {
		if c != nil {
			unix.Close(c.fd)
		}
	}
	s.closeFDs()
}

func (s *epollServer) acceptAll() {
	for {
		fd, _, err := unix.Accept4(s.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN, or an error the next wakeup will show again
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if err := unix.EpollCtl(s.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			unix.Close(fd)
			continue
		}
		for fd >= len(s.conns) {
			s.conns = append(s.conns, make([]*econn, len(s.conns)+1024)...)
		}
		s.conns[fd] = &econn{fd: fd, idx: -1}
	}
}

func (s *epollServer) closeConn(c *econn) {
	if s.conns[c.fd] != c {
		return
	}
	unix.EpollCtl(s.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	s.conns[c.fd] = nil
	if c.idx >= 0 {
		last := s.live[len(s.live)-1]
		s.live[c.idx] = last
		last.idx = c.idx
		s.live[len(s.live)-1] = nil
		s.live = s.live[:len(s.live)-1]
		c.idx = -1
		s.nopen.Add(-1)
	}
}

// readable reads what the socket holds and answers every whole frame.
func (s *epollServer) readable(c *econn) {
	for {
		n, err := unix.Read(c.fd, s.rbuf)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return
		}
		if n <= 0 || err != nil {
			s.closeConn(c)
			return
		}
		data := s.rbuf[:n]
		if len(c.in) > 0 {
			c.in = append(c.in, data...)
			data = c.in
		}
		s.wbuf = s.wbuf[:0]
		used, bad := s.process(c, data)
		rest := data[used:]
		switch {
		case bad:
			c.closing = true
		case len(rest) == 0:
			if cap(c.in) > 64<<10 {
				c.in = nil
			} else {
				c.in = c.in[:0]
			}
		case len(c.in) > 0: // data is c.in: shift the rest down
			c.in = c.in[:copy(c.in, rest)]
		default:
			c.in = append(c.in[:0], rest...)
		}
		s.send(c, s.wbuf)
		if s.conns[c.fd] != c || c.closing {
			return
		}
		if n < len(s.rbuf) {
			return // drained; level-triggered epoll reports anything newer
		}
	}
}

// process consumes the handshake head and whole frames from data, appending
// the answers to s.wbuf. It returns how many bytes it used, and bad=true
// when the connection must be closed once the answers are written.
func (s *epollServer) process(c *econn, data []byte) (used int, bad bool) {
	if !c.open {
		end := wsframe.HeadEnd(data)
		if end < 0 {
			return 0, len(data) > epollMaxHead
		}
		req, err := wsframe.ParseRequest(data[:end])
		if err != nil || req.Method != "GET" || !req.Upgrade || req.Key == "" {
			s.wbuf = append(s.wbuf, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"...)
			return end, true
		}
		s.wbuf = append(s.wbuf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
		s.wbuf = append(s.wbuf, wsframe.AcceptKey(req.Key)...)
		s.wbuf = append(s.wbuf, "\r\n\r\n"...)
		c.open = true
		c.idx = len(s.live)
		s.live = append(s.live, c)
		s.nopen.Add(1)
		used = end
	}
	for used < len(data) {
		h, hn, ok, err := wsframe.ParseHeader(data[used:])
		if err != nil || ok && (!h.Masked || h.Len > epollMaxPayload) {
			s.wbuf = wsframe.AppendFrame(s.wbuf, wsframe.OpClose, []byte{0x03, 0xea}, nil) // 1002
			return len(data), true
		}
		if !ok || int64(len(data)-used-hn) < h.Len {
			return used, false
		}
		payload := data[used+hn : used+hn+int(h.Len)]
		used += hn + int(h.Len)
		wsframe.Mask(payload, h.Mask, 0)
		switch h.Op {
		case wsframe.OpText, wsframe.OpBinary, wsframe.OpCont:
			s.wbuf = wsframe.AppendHeader(s.wbuf, h.Fin, h.Op, len(payload), nil)
			s.wbuf = append(s.wbuf, payload...)
		case wsframe.OpPing:
			s.wbuf = wsframe.AppendFrame(s.wbuf, wsframe.OpPong, payload, nil)
		case wsframe.OpClose:
			s.wbuf = wsframe.AppendFrame(s.wbuf, wsframe.OpClose, payload[:min(2, len(payload))], nil)
			return len(data), true
		}
	}
	return used, false
}

// send writes b to c, keeping what the socket does not take.
func (s *epollServer) send(c *econn, b []byte) {
	if len(c.out) > 0 {
		c.out = append(c.out, b...)
		return
	}
	for len(b) > 0 {
		n, err := unix.Write(c.fd, b)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			c.out = append(c.out[:0], b...)
			s.armOut(c, true)
			return
		}
		if err != nil {
			s.closeConn(c)
			return
		}
		b = b[n:]
	}
	if c.closing {
		s.closeConn(c)
	}
}

func (s *epollServer) flush(c *econn) {
	for len(c.out) > 0 {
		n, err := unix.Write(c.fd, c.out)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return
		}
		if err != nil {
			s.closeConn(c)
			return
		}
		c.out = c.out[n:]
	}
	c.out = nil
	s.armOut(c, false)
	if c.closing {
		s.closeConn(c)
	}
}

func (s *epollServer) armOut(c *econn, on bool) {
	if c.pollOut == on {
		return
	}
	c.pollOut = on
	ev := uint32(unix.EPOLLIN)
	if on {
		ev |= unix.EPOLLOUT
	}
	unix.EpollCtl(s.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: ev, Fd: int32(c.fd)})
}

// runJobs sends queued broadcasts: each frame is encoded once, and the
// frames of one job are queued for every open connection and then written
// with one write per connection, as a library that queues broadcasts and
// drains each connection's queue at once does.
func (s *epollServer) runJobs() {
	s.mu.Lock()
	jobs := s.jobs
	s.jobs = nil
	s.mu.Unlock()
	for _, j := range jobs {
		var frames []byte
		for _, p := range j.payloads {
			frames = wsframe.AppendFrame(frames, wsframe.OpText, p, nil)
		}
		for i := 0; i < len(s.live); i++ {
			c := s.live[i]
			s.send(c, frames)
			if c.idx != i {
				i-- // closed: another connection took its slot
			}
		}
		close(j.done)
	}
}
