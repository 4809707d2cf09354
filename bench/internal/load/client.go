// Package load is the load generator: a separate process that drives one
// server with a hand-written WebSocket client (so that every contender
// meets the same client), measures, and prints its figures as JSON.
package load

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/wsapi-go/wsapi/bench/internal/wsframe"
)

// Key is the Sec-WebSocket-Key every client sends (RFC 6455's sample).
const Key = "dGhlIHNhbXBsZSBub25jZQ=="

// MaskKey masks every client frame.
var MaskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// Conn is a client connection over a plain net.Conn with its own buffer.
type Conn struct {
	NC   net.Conn
	buf  []byte
	r, w int
	msg  []byte // a fragmented message being assembled
	// Accept is the Sec-WebSocket-Accept the server answered.
	Accept string
}

// Request returns the handshake request for path on addr. Every scenario
// sends the same headers, so that every server parses the same request.
func Request(addr, path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + Key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"User-Agent: wsapi-bench\r\n" +
		"Cookie: session=s1\r\n\r\n")
}

// Dial connects to addr and completes the handshake for path. bufSize is
// the read buffer (it grows for larger frames).
func Dial(addr, path string, bufSize int, timeout time.Duration) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c, err := Handshake(nc, Request(addr, path), bufSize, timeout)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Handshake sends req on nc and reads the 101 answer.
func Handshake(nc net.Conn, req []byte, bufSize int, timeout time.Duration) (*Conn, error) {
	if timeout > 0 {
		nc.SetDeadline(time.Now().Add(timeout))
		defer nc.SetDeadline(time.Time{})
	}
	if _, err := nc.Write(req); err != nil {
		return nil, err
	}
	c := &Conn{NC: nc, buf: make([]byte, max(bufSize, 512))}
	for {
		if end := wsframe.HeadEnd(c.buf[:c.w]); end >= 0 {
			head := c.buf[:end]
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
				line, _, _ := bytes.Cut(head, []byte("\r\n"))
				return nil, fmt.Errorf("handshake refused: %s", line)
			}
			for _, l := range strings.Split(string(head), "\r\n") {
				if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Sec-WebSocket-Accept") {
					c.Accept = strings.TrimSpace(v)
				}
			}
			c.r = end
			return c, nil
		}
		if c.w == len(c.buf) {
			nb := make([]byte, 2*len(c.buf))
			copy(nb, c.buf)
			c.buf = nb
		}
		n, err := nc.Read(c.buf[c.w:])
		c.w += n
		if err != nil {
			return nil, fmt.Errorf("reading handshake response: %w", err)
		}
	}
}

// Buffered returns the bytes read but not consumed yet.
func (c *Conn) Buffered() []byte { return c.buf[c.r:c.w] }

// fill makes sure at least need bytes are buffered.
func (c *Conn) fill(need int) error {
	if c.w-c.r >= need {
		return nil
	}
	if len(c.buf)-c.r < need {
		if need > len(c.buf) {
			nb := make([]byte, max(need, 2*len(c.buf)))
			c.w = copy(nb, c.buf[c.r:c.w])
			c.buf = nb
		} else {
			c.w = copy(c.buf, c.buf[c.r:c.w])
		}
		c.r = 0
	}
	for c.w-c.r < need {
		n, err := c.NC.Read(c.buf[c.w:])
		c.w += n
		if err != nil {
			if c.w-c.r >= need {
				return nil
			}
			return err
		}
	}
	return nil
}

// ReadFrame reads one frame. The payload is valid until the next read.
func (c *Conn) ReadFrame() (wsframe.Header, []byte, error) {
	if err := c.fill(2); err != nil {
		return wsframe.Header{}, nil, err
	}
	hn := 2
	switch c.buf[c.r+1] & 0x7f {
	case 126:
		hn += 2
	case 127:
		hn += 8
	}
	if c.buf[c.r+1]&0x80 != 0 {
		hn += 4
	}
	if err := c.fill(hn); err != nil {
		return wsframe.Header{}, nil, err
	}
	h, _, _, err := wsframe.ParseHeader(c.buf[c.r : c.r+hn])
	if err != nil {
		return h, nil, err
	}
	if h.Len > 64<<20 {
		return h, nil, fmt.Errorf("frame of %d bytes", h.Len)
	}
	if err := c.fill(hn + int(h.Len)); err != nil {
		return h, nil, err
	}
	p := c.buf[c.r+hn : c.r+hn+int(h.Len)]
	c.r += hn + int(h.Len)
	if h.Masked {
		wsframe.Mask(p, h.Mask, 0)
	}
	return h, p, nil
}

// CloseError is returned by ReadMessage when the server sends a close frame.
type CloseError struct{ Code int }

func (e *CloseError) Error() string { return fmt.Sprintf("server closed with %d", e.Code) }

// ReadMessage reads one data message, assembling fragments and answering
// pings. The payload is valid until the next read.
func (c *Conn) ReadMessage() (op byte, p []byte, err error) {
	var first byte
	for {
		h, fp, err := c.ReadFrame()
		if err != nil {
			return 0, nil, err
		}
		switch h.Op {
		case wsframe.OpPing:
			if err := c.WriteFrame(wsframe.OpPong, fp); err != nil {
				return 0, nil, err
			}
			continue
		case wsframe.OpPong:
			continue
		case wsframe.OpClose:
			code := 1005
			if len(fp) >= 2 {
				code = int(fp[0])<<8 | int(fp[1])
			}
			return 0, nil, &CloseError{Code: code}
		case wsframe.OpCont:
			if first == 0 {
				return 0, nil, errors.New("continuation frame without a first frame")
			}
			c.msg = append(c.msg, fp...)
			if h.Fin {
				return first, c.msg, nil
			}
		default:
			if h.Fin {
				return h.Op, fp, nil
			}
			first = h.Op
			c.msg = append(c.msg[:0], fp...)
		}
	}
}

// WriteFrame writes one masked frame.
func (c *Conn) WriteFrame(op byte, payload []byte) error {
	_, err := c.NC.Write(wsframe.AppendFrame(nil, op, payload, &MaskKey))
	return err
}

// Close closes the socket.
func (c *Conn) Close() error { return c.NC.Close() }
