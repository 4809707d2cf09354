//go:build !unix

package wsapi

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: outside Unix the reader uses the connection's Read.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// rawRead is never called outside Unix.
func (c *Conn) rawRead(uintptr) bool { return true }
