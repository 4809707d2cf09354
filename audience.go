package wsapi

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"unsafe"

	"github.com/gobwas/ws"
	"github.com/wsapi-go/wsapi/internal/frame"
)

// Audience is a set of a manager's connections to broadcast to: everyone, a
// room, either without one connection. Build it with Manager.Room and
// Manager.Except; the zero value is unusable.
type Audience struct {
	m      *Manager
	room   string
	inRoom bool
	except *Conn
}

// Except returns the audience without ws.
func (a Audience) Except(ws *Conn) Audience { a.except = ws; return a }

// Broadcast sends text to the audience.
func (a Audience) Broadcast(ctx context.Context, text string) error {
	// unsafe: send only reads the payload, which it copies into the frame and
	// the broker's envelope, and keeps no reference to it, so text's bytes
	// can stand in for a []byte: a copy fewer per broadcast.
	return a.send(ctx, ws.OpText, unsafe.Slice(unsafe.StringData(text), len(text)))
}

// BroadcastBytes sends a binary message to the audience.
func (a Audience) BroadcastBytes(ctx context.Context, b []byte) error {
	return a.send(ctx, ws.OpBinary, b)
}

// BroadcastJSON sends v, encoded once as compact JSON, to the audience.
func (a Audience) BroadcastJSON(ctx context.Context, v any) error {
	buf, err := marshalJSON(v)
	if err != nil {
		return err
	}
	err = a.send(ctx, ws.OpText, buf.Bytes())
	putJSONBuffer(buf)
	return err
}

// Len returns how many connections of this process are in the audience.
func (a Audience) Len() int {
	n := 0
	for range a.Conns() {
		n++
	}
	return n
}

// Conns iterates over a snapshot of this process's connections in the audience.
func (a Audience) Conns() iter.Seq[*Conn] {
	return func(yield func(*Conn) bool) {
		for _, c := range a.snapshot(nil) {
			if !yield(c) {
				return
			}
		}
	}
}

func (a Audience) snapshot(dst []*Conn) []*Conn {
	m := a.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	if a.inRoom {
		for c := range m.rooms[a.room] {
			if c != a.except {
				dst = append(dst, c)
			}
		}
		return dst
	}
	for c := range m.conns {
		if c != a.except {
			dst = append(dst, c)
		}
	}
	return dst
}

func (a Audience) send(ctx context.Context, op ws.OpCode, payload []byte) error {
	a.m.deliver(a.room, a.inRoom, a.except, op, payload, false)
	if b := a.m.broker.Load(); b != nil {
		env := encodeEnvelope(a.m.id, op, a.room, a.inRoom, payload)
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.m.opts.PublishTimeout)
		err := (*b).Publish(pctx, a.m.opts.Topic, env)
		cancel()
		if err != nil {
			return fmt.Errorf("wsapi: broadcast reached this process's clients only: publishing to the broker: %w", err)
		}
	}
	return nil
}

var conns64Pool = sync.Pool{New: func() any { s := make([]*Conn, 0, 64); return &s }}

// deliver queues a message for every local connection of the audience. The
// frame is encoded once, and compressed at most once, for all of them.
func (m *Manager) deliver(room string, inRoom bool, except *Conn, op ws.OpCode, payload []byte, remote bool) {
	ps := conns64Pool.Get().(*[]*Conn)
	delivered, full := 0, 0
	targets := Audience{m: m, room: room, inRoom: inRoom, except: except}.snapshot((*ps)[:0])
	var plain, packed []byte
	for _, c := range targets {
		var b []byte
		if d := c.compression(); d != nil && !d.serverContext && len(payload) >= compressMin {
			if packed == nil {
				packed = frame.Encode(true, op, frame.Compress(payload))
			}
			b = packed
		} else {
			if plain == nil {
				plain = encodeFrame(op, payload)
			}
			b = plain
		}
		switch c.enqueue(b, m.opts.MaxQueueBytes) {
		case enqueued:
			delivered++
		case enqueueFull:
			full++
			m.overflow(c)
		}
	}
	if o := m.opts.Observer; o != nil && o.Broadcast != nil {
		ev := BroadcastEvent{Topic: m.opts.Topic, Room: room, Remote: remote, Type: MessageType(op), Size: len(payload), Delivered: delivered}
		if m.opts.OnOverflow == OverflowDrop {
			ev.Dropped = full
		} else {
			ev.Overflowed = full
		}
		o.Broadcast(ev)
	}
	clear(targets)
	*ps = targets[:0]
	conns64Pool.Put(ps)
}

// overflow applies the overflow policy to a client whose queue is full.
func (m *Manager) overflow(c *Conn) {
	switch m.opts.OnOverflow {
	case OverflowDrop:
		m.dropped.Add(1)
	case OverflowPolicyViolation:
		c.closeSlow(ClosePolicyViolation)
	default:
		c.closeSlow(CloseTryAgainLater)
	}
}
