//go:build unix

package wsapi

import (
	"net"
	"syscall"
)

// rawConnOf returns the raw socket of a plain TCP or Unix connection, so the
// reader can wait for data without holding a buffer; nil for anything else,
// such as a TLS connection, which is then read through its own Read.
func rawConnOf(nc net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// rawRead is the callback the reader hands to syscall.RawConn.Read. It reads
// into rd.dst, or into the read buffer (borrowed only now) when dst is nil.
// Returning false makes RawConn.Read wait for readability and call it again.
func (c *Conn) rawRead(fd uintptr) bool {
	rd := &c.rd
	for {
		var n int
		var err error
		if rd.dst != nil {
			n, err = syscall.Read(int(fd), rd.dst)
		} else {
			rd.acquire()
			n, err = syscall.Read(int(fd), rd.buf[rd.w:])
		}
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if rd.dst == nil {
				rd.releaseIfEmpty()
			}
			return false
		}
		if n < 0 {
			n = 0
		}
		rd.n, rd.rerr = n, err
		if rd.dst == nil {
			rd.w += n
		}
		return true
	}
}
