//go:build linux

// Package epollwait waits on an epoll instance through Go's own network
// poller, so that a goroutine running an epoll loop parks like any network
// goroutine instead of blocking its thread in epoll_wait (which makes the
// runtime hand its P to another thread and wake a third to poll the
// network, costing several context switches per wait).
package epollwait

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Poller is an epoll instance registered with Go's poller.
type Poller struct {
	FD int
	f  *os.File
	rc syscall.RawConn
}

// New creates an epoll instance.
func New() (*Poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Poller{FD: fd, f: f, rc: rc}, nil
}

// Add watches fd for events.
func (p *Poller) Add(fd int, events uint32) error {
	return unix.EpollCtl(p.FD, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: events, Fd: int32(fd)})
}

// Wait returns ready events, parking the goroutine in Go's poller while
// there are none; with timeout > 0 it returns 0 events after timeout.
func (p *Poller) Wait(events []unix.EpollEvent, timeout time.Duration) (int, error) {
	for {
		n, err := unix.EpollWait(p.FD, events, 0)
		if err == unix.EINTR {
			continue
		}
		if n != 0 || err != nil {
			return n, err
		}
		break
	}
	if timeout > 0 {
		p.f.SetReadDeadline(time.Now().Add(timeout))
	}
	var n int
	var werr error
	err := p.rc.Read(func(uintptr) bool {
		n, werr = unix.EpollWait(p.FD, events, 0)
		if werr == unix.EINTR {
			return false
		}
		return n != 0 || werr != nil
	})
	if timeout > 0 {
		p.f.SetReadDeadline(time.Time{})
		if os.IsTimeout(err) {
			return 0, nil
		}
	}
	if err != nil {
		return 0, err
	}
	return n, werr
}

// Close closes the epoll instance.
func (p *Poller) Close() error { return p.f.Close() }
