//go:build linux

package load

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// takeFDs takes each connection's socket out of Go's poller for an epoll
// loop of our own: it duplicates the descriptor (the duplicate shares the
// non-blocking socket) and closes the original. It returns the new
// descriptors and, for each, the bytes already read past the handshake.
func takeFDs(conns []*Conn) (fds []int, leftovers [][]byte, err error) {
	for i, c := range conns {
		rc, err := c.NC.(syscall.Conn).SyscallConn()
		if err != nil {
			closeAll(conns[i:])
			closeFDs(fds)
			return nil, nil, err
		}
		dfd, derr := -1, error(nil)
		rc.Control(func(fd uintptr) { dfd, derr = unix.Dup(int(fd)) })
		if derr != nil {
			closeAll(conns[i:])
			closeFDs(fds)
			return nil, nil, derr
		}
		fds = append(fds, dfd)
		leftovers = append(leftovers, append([]byte(nil), c.Buffered()...))
		c.Close()
		unix.SetNonblock(dfd, true)
	}
	return fds, leftovers, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
