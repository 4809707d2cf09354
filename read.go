package wsapi

import (
	"errors"
	"io"
	"os"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/wsapi-go/wsapi/internal/frame"
)

// maxMessage bounds a message when the read limit is off: the largest
// slice a program can hold.
const maxMessage = int64(^uint(0) >> 1)

// readBufSize is the read buffer a connection borrows while data flows. It
// holds many small frames at once, so one read syscall serves them all.
const readBufSize = 4096

var readBufPool = sync.Pool{New: func() any { return new([readBufSize]byte) }}

// reader is a connection's frame reader state. An idle connection on a raw
// socket holds no buffer: it waits for readability first and borrows one
// from the pool only to read.
type reader struct {
	buf  *[readBufSize]byte // nil while idle
	r, w int                // unread bytes are buf[r:w]

	// The data message being assembled. It survives a read cut short by a
	// Receive's context: the next read goes on where that one stopped.
	op         ws.OpCode // its opcode; 0 between messages
	compressed bool      // its first frame had RSV1 set (permessage-deflate)
	size       int64     // payload bytes announced so far
	msg        []byte    // payload so far, when it could not stay in buf
	fromPool   bool      // msg comes from messageBufs
	text       frame.UTF8Stream
	pooled     bool // the current read wants msg from messageBufs, for ReceiveFunc

	// The data frame whose payload is being read into msg[foff:fend].
	frame      bool // a frame's header was consumed but not all its payload
	fin        bool
	mask       [4]byte
	fstart     int // where the frame's payload starts in msg, for unmasking
	foff, fend int

	// Raw-socket read in progress.
	dst  []byte // where the raw read callback reads; nil means into buf
	n    int
	rerr error
}

func (rd *reader) acquire() {
	if rd.buf == nil {
		rd.buf = readBufPool.Get().(*[readBufSize]byte)
		rd.r, rd.w = 0, 0
	}
}

// releaseIfEmpty returns the buffer to the pool when it holds no unread byte.
func (rd *reader) releaseIfEmpty() {
	if rd.buf != nil && rd.r == rd.w {
		readBufPool.Put(rd.buf)
		rd.buf = nil
		rd.r, rd.w = 0, 0
	}
}

// drop returns the buffer to the pool whatever it holds: for the socket's
// owner once the connection has ended, when nothing will be read again.
func (rd *reader) drop() {
	rd.r = rd.w
	rd.releaseIfEmpty()
}

// protoErr fails the connection with a close code and reason, as the
// codec's errors do.
func protoErr(code CloseCode, reason string) error {
	return &frame.Error{Code: uint16(code), Reason: reason}
}

// errInterrupted reports that a read was cut short by its context.
var errInterrupted = errors.New("wsapi: read interrupted")

// fill reads from the socket once, appending to buf, after making room for at
// least need more bytes at buf[r:].
func (c *Conn) fill(need int) error {
	rd := &c.rd
	if rd.buf != nil && rd.r > 0 && len(rd.buf)-rd.w < need-(rd.w-rd.r) {
		rd.w = copy(rd.buf[:], rd.buf[rd.r:rd.w])
		rd.r = 0
	}
	if c.rc == nil {
		rd.acquire()
		n, err := c.nc.Read(rd.buf[rd.w:])
		rd.w += n
		if n > 0 {
			return nil
		}
		return c.readErr(err)
	}
	// Idle: give the buffer back before waiting, borrow it again to read.
	rd.releaseIfEmpty()
	rd.dst = nil
	if err := c.rc.Read(c.rawFn); err != nil {
		return c.readErr(err)
	}
	if rd.n == 0 {
		return c.readErr(rd.rerr)
	}
	return nil
}

// awaitData waits for the next bytes of an idle connection (between
// messages, nothing buffered) and reads them into the read buffer. Waiting
// here, a few calls deep, rather than inside readMessage keeps the stack of
// a goroutine parked on an idle connection small enough that the garbage
// collector shrinks it to the minimum.
func (c *Conn) awaitData() error {
	rd := &c.rd
	if c.rc == nil || rd.op != 0 || rd.frame || rd.buf != nil && rd.r < rd.w {
		return nil
	}
	return c.fill(1)
}

// readDirect reads once from the socket into p, bypassing the buffer.
func (c *Conn) readDirect(p []byte) (int, error) {
	if c.rc == nil {
		n, err := c.nc.Read(p)
		if n > 0 {
			return n, nil
		}
		return 0, c.readErr(err)
	}
	c.rd.dst = p
	err := c.rc.Read(c.rawFn)
	c.rd.dst = nil
	if err != nil {
		return 0, c.readErr(err)
	}
	if c.rd.n == 0 {
		return 0, c.readErr(c.rd.rerr)
	}
	return c.rd.n, nil
}

// readErr maps a socket read error to what the read path returns.
func (c *Conn) readErr(err error) error {
	if err == nil {
		err = io.EOF
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && c.closed() == nil {
		return errInterrupted
	}
	return err
}

// ensure makes at least n (<= readBufSize) unread bytes available in buf.
func (c *Conn) ensure(n int) error {
	if n == 0 {
		return nil
	}
	for c.rd.buf == nil || c.rd.w-c.rd.r < n {
		if err := c.fill(n); err != nil {
			return err
		}
	}
	return nil
}

// readHeader parses the next frame header, without consuming it: the
// caller advances rd.r by the returned length once it takes the frame. It
// checks the frame as soon as its first two bytes have arrived, so a bad
// frame fails without waiting for the rest of its header.
func (c *Conn) readHeader() (frame.Header, int, error) {
	if err := c.ensure(2); err != nil {
		return frame.Header{}, 0, err
	}
	rd := &c.rd
	h, n, ok, err := frame.ParseHeader(rd.buf[rd.r:rd.w])
	if err == nil {
		err = frame.CheckClient(h, c.deflate != nil, rd.op != 0)
	}
	for err == nil && !ok {
		if err = c.ensure(n); err == nil {
			h, n, ok, err = frame.ParseHeader(rd.buf[rd.r:rd.w])
		}
	}
	return h, n, err
}

// readMessage returns the next data message. Control frames met on the way
// are handled. kind says where data lives (see msgKind); unless it is
// msgOwned, data is valid until the next read on the connection. The
// caller owns the socket. A read cut short (errInterrupted) loses nothing:
// the next call goes on with the same frame and message.
func (c *Conn) readMessage() (op ws.OpCode, data []byte, kind msgKind, err error) {
	rd := &c.rd
	limit := c.app.opts.ReadLimit
	for {
		if !rd.frame {
			h, hlen, err := c.readHeader()
			if err != nil {
				return 0, nil, 0, err
			}
			if h.Op.IsControl() {
				// Take the frame only once it is whole: ping and close
				// payloads are small, and a read cut short loses nothing.
				if err := c.ensure(hlen + int(h.Length)); err != nil {
					return 0, nil, 0, err
				}
				rd.r += hlen
				c.rx.Add(1)
				if err := c.controlFrame(h); err != nil {
					return 0, nil, 0, err
				}
				continue
			}
			rd.r += hlen
			c.rx.Add(1)
			if rd.op == 0 {
				rd.op, rd.size, rd.msg, rd.fromPool = h.Op, 0, nil, false
				rd.compressed = h.Rsv&4 != 0
				rd.text = frame.UTF8Stream{}
			}
			// Compare without adding: a length near 2^63 must not overflow.
			if limit > 0 && h.Length > limit-rd.size || h.Length > maxMessage-rd.size {
				return 0, nil, 0, protoErr(CloseMessageTooBig, "message exceeds the read limit")
			}
			// Fast path: a whole message in one frame, already buffered.
			if h.Fin && rd.size == 0 && int64(rd.w-rd.r) >= h.Length {
				p := rd.buf[rd.r : rd.r+int(h.Length)]
				rd.r += len(p)
				ws.Cipher(p, h.Mask, 0)
				op = rd.op
				rd.op = 0
				kind := msgAliased
				if rd.compressed {
					if p, err = c.deflate.inflate(p, limit); err != nil {
						return 0, nil, 0, err
					}
					kind = msgOwned
				}
				if op == ws.OpText && !utf8.Valid(p) {
					return 0, nil, 0, protoErr(CloseInvalidFramePayloadData, "invalid UTF-8 in a text message")
				}
				return op, p, kind, nil
			}
			rd.frame, rd.fin, rd.mask = true, h.Fin, h.Mask
			rd.fstart = int(rd.size)
			rd.foff, rd.fend = rd.fstart, rd.fstart+int(h.Length)
			rd.size += h.Length
		}
		if err := c.readPayload(); err != nil {
			return 0, nil, 0, err
		}
		if !rd.fin {
			continue
		}
		return c.takeMessage(limit)
	}
}

// takeMessage hands over the message assembled in rd.msg, its last frame read.
func (c *Conn) takeMessage(limit int64) (op ws.OpCode, data []byte, kind msgKind, err error) {
	rd := &c.rd
	op, data = rd.op, rd.msg
	rd.op, rd.msg = 0, nil
	kind = msgOwned
	if rd.fromPool {
		kind = msgPooled
	}
	if rd.compressed {
		packed := data
		data, err = c.deflate.inflate(packed, limit)
		if kind == msgPooled {
			putMessageBuf(packed)
		}
		if err != nil {
			return 0, nil, 0, err
		}
		kind = msgOwned
		if op == ws.OpText && !utf8.Valid(data) {
			return 0, nil, 0, protoErr(CloseInvalidFramePayloadData, "invalid UTF-8 in a text message")
		}
	} else if op == ws.OpText && !rd.text.Complete() {
		return 0, nil, 0, protoErr(CloseInvalidFramePayloadData, "text message ends inside a UTF-8 sequence")
	}
	if data == nil {
		kind = msgOwned // an empty message: nothing to give back
	}
	return op, data, kind, nil
}

// readPayload reads the current data frame's payload into rd.msg, unmasking
// it and checking UTF-8 as each piece arrives so bad text fails as early as
// the bytes allow. The buffer grows with the data that actually arrives, so
// a header announcing a large frame costs nothing until its bytes come.
func (c *Conn) readPayload() error {
	rd := &c.rd
	for rd.foff < rd.fend {
		off, end := rd.foff, rd.fend
		if off == cap(rd.msg) || rd.msg == nil {
			// Grow to the frame's end, in steps of at most the data already
			// received, with a first step of up to 64 KiB.
			size := min(end, max(2*off, off+64<<10))
			var grown []byte
			if rd.pooled {
				grown = getMessageBuf(size)[:off]
			} else {
				grown = make([]byte, off, size)
			}
			copy(grown, rd.msg[:off])
			if rd.fromPool && rd.msg != nil {
				putMessageBuf(rd.msg)
			}
			rd.msg, rd.fromPool = grown, rd.pooled
		}
		rd.msg = rd.msg[:min(end, cap(rd.msg))]
		room := rd.msg[off:]
		var n int
		if rd.buf != nil && rd.r < rd.w {
			n = copy(room, rd.buf[rd.r:rd.w])
			rd.r += n
		} else {
			var err error
			if n, err = c.readDirect(room); err != nil {
				return err
			}
		}
		piece := rd.msg[off : off+n]
		ws.Cipher(piece, rd.mask, off-rd.fstart)
		if rd.op == ws.OpText && !rd.compressed && !rd.text.Write(piece) {
			return protoErr(CloseInvalidFramePayloadData, "invalid UTF-8 in a text message")
		}
		rd.foff += n
	}
	rd.frame = false
	rd.releaseIfEmpty()
	return nil
}

// controlFrame handles a ping, pong or close frame from the peer.
func (c *Conn) controlFrame(h frame.Header) error {
	rd := &c.rd
	p := rd.buf[rd.r : rd.r+int(h.Length)]
	rd.r += len(p)
	ws.Cipher(p, h.Mask, 0)
	switch h.Op {
	case ws.OpPing:
		return c.writeControl(ws.OpPong, p)
	case ws.OpPong:
		return nil
	}
	code, reason, err := frame.ParseClose(p)
	if err != nil {
		return err
	}
	c.peerClosed(&DisconnectError{Code: CloseCode(code), Reason: reason})
	return c.errClosed()
}
