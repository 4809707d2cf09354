package wsapi

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"slices"
	"sync"

	"github.com/gobwas/ws"
)

// Broker carries broadcasts between the Managers of many processes. The
// redisbroker and natsbroker modules implement it over Redis pub/sub and
// NATS; NewMemoryBroker implements it in memory, for one process.
//
// A broker delivers each published payload to every subscriber of the
// topic, the publisher's own subscription included, at most once; the
// Manager skips its own broadcasts, which it has delivered already.
type Broker interface {
	// Publish sends payload to every subscriber of topic. It returns an
	// error when the broker cannot take the message.
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe calls handler with each payload published on topic until
	// unsubscribe is called. Calls to handler do not overlap; the payload
	// is only valid during the call. A broker that loses its server
	// reconnects by itself and logs it.
	Subscribe(ctx context.Context, topic string, handler func(payload []byte)) (unsubscribe func() error, err error)
	// Close releases the broker's connections.
	Close() error
}

// MemoryBroker is a Broker within one process: Managers sharing it behave
// as if they ran on different processes sharing a server. It is the
// reference for broker adapters and a stand-in for one in tests.
type MemoryBroker struct {
	mu     sync.Mutex // guards subs and closed
	subs   map[string][]*memorySub
	closed bool
}

type memorySub struct {
	mu      sync.Mutex // serializes calls to handler
	handler func([]byte)
}

// NewMemoryBroker returns an empty in-memory broker.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{subs: map[string][]*memorySub{}} }

// ErrBrokerClosed is returned by a closed Broker: MemoryBroker and the
// adapters of the broker modules.
var ErrBrokerClosed = errors.New("wsapi: broker closed")

// Publish calls every subscriber of topic with a copy of payload before
// returning.
func (b *MemoryBroker) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrBrokerClosed
	}
	subs := slices.Clone(b.subs[topic])
	b.mu.Unlock()
	p := slices.Clone(payload)
	for _, s := range subs {
		s.mu.Lock()
		s.handler(p)
		s.mu.Unlock()
	}
	return nil
}

// Subscribe registers handler for topic.
func (b *MemoryBroker) Subscribe(ctx context.Context, topic string, handler func([]byte)) (func() error, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrBrokerClosed
	}
	s := &memorySub{handler: handler}
	b.subs[topic] = append(b.subs[topic], s)
	return func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.subs[topic] = slices.DeleteFunc(b.subs[topic], func(x *memorySub) bool { return x == s })
		return nil
	}, nil
}

// Close drops every subscription; later calls fail with ErrBrokerClosed.
func (b *MemoryBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.subs = nil
	return nil
}

func newManagerID() (id [16]byte) {
	rand.Read(id[:])
	return id
}

// A broadcast on the broker is an envelope:
//
//	version (1 byte, 1) | flags (1 byte: bit 0 room, bits 4-7 opcode) |
//	origin manager id (16 bytes) | room length (uvarint) | room | payload
const envelopeVersion = 1

func encodeEnvelope(origin [16]byte, op ws.OpCode, room string, inRoom bool, payload []byte) []byte {
	b := make([]byte, 0, 2+16+binary.MaxVarintLen64+len(room)+len(payload))
	flags := byte(op) << 4
	if inRoom {
		flags |= 1
	}
	b = append(b, envelopeVersion, flags)
	b = append(b, origin[:]...)
	b = binary.AppendUvarint(b, uint64(len(room)))
	b = append(b, room...)
	return append(b, payload...)
}

var errEnvelope = errors.New("malformed envelope")

func decodeEnvelope(b []byte) (origin [16]byte, op ws.OpCode, room string, inRoom bool, payload []byte, err error) {
	if len(b) < 18 || b[0] != envelopeVersion {
		return origin, 0, "", false, nil, errEnvelope
	}
	flags := b[1]
	op = ws.OpCode(flags >> 4)
	if op != ws.OpText && op != ws.OpBinary {
		return origin, 0, "", false, nil, errEnvelope
	}
	inRoom = flags&1 != 0
	copy(origin[:], b[2:18])
	n, k := binary.Uvarint(b[18:])
	if k <= 0 || n > uint64(len(b)-18-k) {
		return origin, 0, "", false, nil, errEnvelope
	}
	rest := b[18+k:]
	return origin, op, string(rest[:n]), inRoom, rest[n:], nil
}
