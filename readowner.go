package wsapi

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/wsapi-go/wsapi/internal/frame"
)

// readRole names who reads a connection's socket. The read side has one
// owner at a time, and only the owner touches the reader state (Conn.rd):
//
//	readIdle        nobody: a Receive call, the background reader or a
//	                closer may take the socket
//	readHandler     a Receive call is reading, or using the message it read
//	readLent        ReceiveFunc lent the message it read to its callback: the
//	                message sits in the connection's buffers, so nobody may
//	                read until the callback returns
//	readBackground  the background reader reads for a handler that stopped
//	                reading, and hands messages over through its inbox
//	readCloser      Close reads the peer's answer to its close frame
//
// readHandler and readLent go back to readIdle when their call returns;
// readBackground and readCloser keep the socket until the connection ends.
// A Receive call that finds the background reader takes messages from its
// inbox; one that finds a closer waits for the end; a closer that finds the
// socket taken waits for its release (or the end). The housekeeper starts a
// background reader only from readIdle, so a lent message never changes
// under its callback.
type readRole int32

const (
	readIdle readRole = iota
	readHandler
	readLent
	readBackground
	readCloser
)

// readOwner records the owner of a connection's read side.
type readOwner struct {
	role atomic.Int32                  // a readRole
	wake atomic.Pointer[chan struct{}] // closed at the next release, for a closer waiting its turn
}

// take makes r the owner if nobody owns the socket, and reports whether it did.
func (o *readOwner) take(r readRole) bool {
	return o.role.CompareAndSwap(int32(readIdle), int32(r))
}

func (o *readOwner) current() readRole { return readRole(o.role.Load()) }

// lend turns the handler's ownership into a loan to ReceiveFunc's callback.
func (o *readOwner) lend() { o.role.Store(int32(readLent)) }

// release gives the socket back, waking a closer that waits for it.
func (o *readOwner) release() {
	o.role.Store(int32(readIdle))
	if w := o.wake.Swap(nil); w != nil {
		close(*w)
	}
}

// released returns a channel closed at the next release. The caller tries
// take again after getting it, since the release may have come just before.
func (o *readOwner) released() <-chan struct{} {
	ch := make(chan struct{})
	o.wake.Store(&ch)
	return ch
}

// bgInbox is how many messages a background reader holds for a handler that
// is not reading; past that it stops reading until the handler catches up.
const bgInbox = 16

// msgKind says where a received message's bytes live.
type msgKind uint8

const (
	msgAliased msgKind = iota // in the read buffer: valid while the socket is held
	msgOwned                  // in a fresh allocation nobody else holds
	msgPooled                 // in a buffer of messageBufs, to give back with putMessageBuf
)

// beginReceive starts a Receive call: one at a time per connection.
func (c *Conn) beginReceive() {
	if !c.receiving.CompareAndSwap(false, true) {
		panic("wsapi: concurrent Receive calls on one Conn (or a Receive inside ReceiveFunc's callback): call Receive methods from one goroutine at a time")
	}
}

// endReceive ends a Receive call, giving back the socket if the call held it.
func (c *Conn) endReceive() {
	if c.held {
		c.held = false
		c.owner.release()
	}
	c.receiving.Store(false)
}

// releaseRead gives back the socket before a Receive call ends, once the
// message it read is no longer needed.
func (c *Conn) releaseRead() {
	if c.held {
		c.held = false
		c.owner.release()
	}
}

// next returns the next data message for a Receive call, which must be
// between beginReceive and endReceive. Unless kind is msgOwned, data lives
// in the connection's buffers: the call still holds the socket (c.held),
// and data is valid until it gives the socket back. With pooled, a message
// that does not fit the read buffer is read into a pooled buffer.
func (c *Conn) next(ctx context.Context, pooled bool) (op ws.OpCode, data []byte, kind msgKind, err error) {
	if c.State() == StateConnecting {
		return 0, nil, 0, errors.New("wsapi: receive before Accept: call Accept first")
	}
	if d := c.closed(); d != nil {
		return 0, nil, 0, d
	}
	if ctx.Err() != nil {
		return 0, nil, 0, c.ctxErr(ctx)
	}
	c.reads.Add(1)
	if !c.owner.take(readHandler) {
		// The socket's owner is for good: the background reader or a closer.
		if c.owner.current() == readBackground {
			return c.bg.Load().next(ctx)
		}
		select {
		case <-c.ctx.Done(): // Close is reading the peer's answer
			return 0, nil, 0, c.errClosed()
		case <-ctx.Done():
			return 0, nil, 0, c.ctxErr(ctx)
		}
	}
	c.held = true
	// The handler's own context needs no watching: its end closes the socket.
	// (Compared first: asking for its Done channel would allocate one.)
	watch := ctx != c.ctx && ctx.Done() != nil && ctx.Done() != c.ctx.Done()
	var stop func() bool
	var in *interrupter
	if watch {
		in = c.interrupter()
		in.mu.Lock()
		in.seq++
		seq := in.seq
		in.armed = true
		in.mu.Unlock()
		stop = context.AfterFunc(ctx, func() { c.interruptRead(in, seq) })
	}
	c.rd.pooled = pooled
	if err = c.awaitData(); err == nil {
		op, data, kind, err = c.readMessage()
	}
	if err == nil && c.app.obs != nil {
		c.observeMessage(Received, op, len(data))
	}
	c.rd.pooled = false
	if watch {
		fired := !stop()
		in.mu.Lock()
		in.armed = false
		if fired {
			c.nc.SetReadDeadline(time.Time{})
		}
		in.mu.Unlock()
	}
	if err != nil {
		err = c.readFailed(ctx, err)
		if c.closed() != nil {
			c.rd.drop() // this call holds the socket, and nothing will read it again
		}
		c.releaseRead()
	}
	return op, data, kind, err
}

// interruptRead wakes the read blocked on behalf of the Receive call seq,
// whose context is done. A call that has returned already is left alone:
// its callback may run late, while the next call reads.
func (c *Conn) interruptRead(in *interrupter, seq uint64) {
	in.mu.Lock()
	if in.armed && in.seq == seq {
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
	in.mu.Unlock()
}

var aLongTimeAgo = time.Unix(1, 0)

// readFailed turns a read error into what Receive returns, ending the
// connection when the error leaves it unusable. The caller owns the socket.
func (c *Conn) readFailed(ctx context.Context, err error) error {
	var pe *frame.Error
	switch {
	case errors.As(err, &pe):
		c.fail(CloseCode(pe.Code), pe.Reason)
	case err == errInterrupted && ctx.Err() != nil:
		// The connection stays usable: a message cut short stays in the
		// reader's state, and the next Receive goes on with it.
		return c.ctxErr(ctx)
	case c.closed() == nil && c.closing.Load() == nil:
		c.finish(&DisconnectError{Code: CloseAbnormalClosure})
	}
	return c.errClosed()
}

// bgReader reads for a handler that has stopped reading, so that pings are
// answered, the peer's close is seen and the context is cancelled when the
// peer goes away. Once started, it owns the socket until the end.
type bgReader struct {
	c     *Conn
	inbox chan bgMessage
}

type bgMessage struct {
	op   ws.OpCode
	data []byte
}

// startBackgroundReader starts a background reader if nobody owns the socket.
func (c *Conn) startBackgroundReader() {
	if c.closed() != nil {
		return
	}
	// Published before taking the socket, so that a Receive call that
	// finds readBackground always finds the reader.
	b := &bgReader{c: c, inbox: make(chan bgMessage, bgInbox)}
	c.bg.Store(b)
	if !c.owner.take(readBackground) {
		c.bg.Store(nil) // nobody looks at it unless the role is readBackground
		return
	}
	go b.run()
}

func (b *bgReader) run() {
	c := b.c
	defer close(b.inbox)
	for {
		op, data, kind, err := c.readMessage()
		if err != nil {
			c.readFailed(context.Background(), err)
			return
		}
		if kind != msgOwned {
			data = bytes.Clone(data)
		}
		if c.app.obs != nil {
			c.observeMessage(Received, op, len(data))
		}
		select {
		case b.inbox <- bgMessage{op, data}:
		case <-c.ctx.Done():
			return
		}
	}
}

func (b *bgReader) next(ctx context.Context) (ws.OpCode, []byte, msgKind, error) {
	select {
	case m, ok := <-b.inbox:
		if !ok {
			return 0, nil, 0, b.c.errClosed()
		}
		return m.op, m.data, msgOwned, nil
	case <-ctx.Done():
		return 0, nil, 0, b.c.ctxErr(ctx)
	}
}

// interrupter lets a Receive's own context interrupt its read; see next.
// A connection makes one on its first such Receive: most never need one.
type interrupter struct {
	mu    sync.Mutex // guards armed, seq and the read deadline they set
	armed bool       // a Receive with its own context is reading
	seq   uint64     // which Receive call armed it
}

// interrupter returns the connection's interrupter, made on first use. Only
// the goroutine holding the read side calls it.
func (c *Conn) interrupter() *interrupter {
	in := c.intr.Load()
	if in == nil {
		in = new(interrupter)
		c.intr.Store(in)
	}
	return in
}
