package wsapi

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// bgInbox is how many messages a background reader holds for a handler that
// is not reading; past that it stops reading until the handler catches up.
const bgInbox = 16

// next returns the next data message for a Receive method. Unless owned is
// true, data aliases the read buffer and is valid until the next read.
func (c *Conn) next(ctx context.Context) (op ws.OpCode, data []byte, owned bool, err error) {
	op, data, kind, err := c.nextMessage(ctx, false)
	return op, data, kind == msgOwned, err
}

// msgKind says where a received message's bytes live.
type msgKind uint8

const (
	msgAliased msgKind = iota // in the read buffer, until the next read
	msgOwned                  // in a fresh allocation nobody else holds
	msgPooled                 // in a buffer of messageBufs, to give back with putMessageBuf
)

// nextMessage is next; with pooled, a message that does not fit the read
// buffer is read into a pooled buffer.
func (c *Conn) nextMessage(ctx context.Context, pooled bool) (op ws.OpCode, data []byte, kind msgKind, err error) {
	op, data, owned, err := c.receive(ctx, pooled)
	switch {
	case !owned:
		kind = msgAliased
	case pooled && !c.lastCompressed:
		kind = msgPooled
	default:
		kind = msgOwned
	}
	return op, data, kind, err
}

// receive runs the read path for next and nextMessage.
func (c *Conn) receive(ctx context.Context, pooled bool) (op ws.OpCode, data []byte, owned bool, err error) {
	if c.State() == StateConnecting {
		return 0, nil, false, errors.New("wsapi: receive before Accept: call Accept first")
	}
	if d := c.closed(); d != nil {
		return 0, nil, false, d
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, false, err
	}
	if bg := c.bg.Load(); bg != nil {
		return bg.next(ctx)
	}
	for spins := 0; !c.reading.CompareAndSwap(false, true); spins++ {
		if bg := c.bg.Load(); bg != nil {
			return bg.next(ctx)
		}
		if c.closing.Load() != nil {
			<-c.done // Close is reading the peer's answer
			return 0, nil, false, c.errClosed()
		}
		// The housekeeper may be starting a background reader: it takes the
		// token just before publishing the reader. Anything longer is misuse.
		if spins == 100 {
			panic("wsapi: concurrent Receive calls on one Conn: call Receive methods from one goroutine at a time")
		}
		time.Sleep(50 * time.Microsecond)
	}
	c.reads.Add(1)
	// The handler's own context needs no watching: its end closes the socket.
	watch := ctx.Done() != nil && ctx.Done() != c.ctx.Done()
	var stop func() bool
	if watch {
		c.imu.Lock()
		c.iarmed = true
		c.imu.Unlock()
		stop = context.AfterFunc(ctx, c.interruptRead)
	}
	c.rd.pooled = pooled
	op, data, owned, err = c.readMessage()
	c.rd.pooled = false
	c.lastCompressed = c.rd.compressed // an inflated message is a fresh allocation
	if watch {
		fired := !stop()
		c.imu.Lock()
		c.iarmed = false
		if fired {
			c.nc.SetReadDeadline(time.Time{})
		}
		c.imu.Unlock()
	}
	if err != nil {
		err = c.readFailed(ctx, err)
	}
	c.reading.Store(false)
	return op, data, owned, err
}

// interruptRead wakes a read blocked on behalf of a cancelled context.
func (c *Conn) interruptRead() {
	c.imu.Lock()
	if c.iarmed {
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
	c.imu.Unlock()
}

var aLongTimeAgo = time.Unix(1, 0)

// readFailed turns a read error into what Receive returns, ending the
// connection when the error leaves it unusable. The caller holds the read token.
func (c *Conn) readFailed(ctx context.Context, err error) error {
	var pe *protocolError
	switch {
	case errors.As(err, &pe):
		c.fail(pe.code, pe.reason)
	case err == errInterrupted && ctx.Err() != nil:
		if c.rd.op == 0 && !c.rd.frame {
			return ctx.Err() // between messages: the connection stays usable
		}
		c.fail(CloseGoingAway, "receive cancelled in the middle of a message")
		return ctx.Err()
	case c.closed() == nil && c.closing.Load() == nil:
		c.finish(&Disconnect{Code: CloseAbnormalClosure})
	}
	return c.errClosed()
}

// bgReader reads for a handler that has stopped reading, so that pings are
// answered, the peer's close is seen and the context is cancelled when the
// peer goes away. Once started, it is the connection's reader until the end.
type bgReader struct {
	c     *Conn
	inbox chan bgMessage
}

type bgMessage struct {
	op   ws.OpCode
	data []byte
}

// startBackgroundReader starts a background reader unless someone reads.
func (c *Conn) startBackgroundReader() {
	if c.closed() != nil || !c.reading.CompareAndSwap(false, true) {
		return
	}
	b := &bgReader{c: c, inbox: make(chan bgMessage, bgInbox)}
	c.bg.Store(b)
	go b.run()
}

func (b *bgReader) run() {
	c := b.c
	defer close(b.inbox)
	for {
		op, data, owned, err := c.readMessage()
		if err != nil {
			c.readFailed(context.Background(), err)
			return
		}
		if !owned {
			data = bytes.Clone(data)
		}
		select {
		case b.inbox <- bgMessage{op, data}:
		case <-c.done:
			return
		}
	}
}

func (b *bgReader) next(ctx context.Context) (ws.OpCode, []byte, bool, error) {
	select {
	case m, ok := <-b.inbox:
		if !ok {
			return 0, nil, false, b.c.errClosed()
		}
		return m.op, m.data, true, nil
	case <-ctx.Done():
		return 0, nil, false, ctx.Err()
	}
}

// interrupt state lives with the Conn; see next.
type interruptState struct {
	imu    sync.Mutex // guards iarmed and the read deadline it sets
	iarmed bool       // a Receive with its own context is reading
}
