package wsapi

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// OverflowPolicy says what a Manager does with a client whose send queue is
// full: a client that has stopped reading, or reads slower than the
// broadcasts come.
type OverflowPolicy int

// Overflow policies.
const (
	// OverflowTryAgainLater closes the client with CloseTryAgainLater (1013):
	// it may reconnect and catch up. The default.
	OverflowTryAgainLater OverflowPolicy = iota
	// OverflowPolicyViolation closes the client with ClosePolicyViolation (1008).
	OverflowPolicyViolation
	// OverflowDrop drops the message for that client only and keeps it connected.
	OverflowDrop
)

// DefaultMaxQueueBytes is the default bound on the broadcasts waiting for
// one client: 1 MiB, as centrifuge bounds each client's queue. A chat burst
// of 1,000 messages of 100 bytes is a tenth of it.
const DefaultMaxQueueBytes = 1 << 20

// DefaultPublishTimeout is the default bound on publishing one broadcast to
// the broker.
const DefaultPublishTimeout = 5 * time.Second

// ManagerOptions configures a Manager. A nil *ManagerOptions means defaults.
type ManagerOptions struct {
	// Topic names the channel this manager's broadcasts travel on once it
	// uses a broker (see Manager.UseBroker); managers sharing a broker and a
	// topic form one audience. It must suit the broker: a NATS subject has
	// no spaces, and "*" and ">" are wildcards there. Default "wsapi".
	Topic string
	// MaxQueueBytes bounds, in bytes, the messages waiting to be written to
	// one client (those being written included, with a few dozen bytes of
	// bookkeeping each). A client whose queue would pass it is behind by
	// that much: OnOverflow applies. A message is always taken into an
	// empty queue, so one larger than the bound still goes out. Default
	// DefaultMaxQueueBytes (1 MiB), far above any burst a reading client
	// falls behind by. The memory the queues can hold is at most the
	// number of clients times this bound; the bytes of one broadcast are
	// shared by all its receivers, so in practice it is much less. Negative:
	// no bound, and a client that stops reading holds every broadcast until
	// the write timeout (Options.WriteTimeout) drops it.
	MaxQueueBytes int
	// OnOverflow is what happens to a client whose queue is full. Default
	// OverflowTryAgainLater.
	OnOverflow OverflowPolicy
	// PublishTimeout bounds how long a broadcast waits for the broker to
	// take it (see Manager.Broadcast). Default DefaultPublishTimeout (5s).
	PublishTimeout time.Duration
	// Observer receives an event per broadcast (see Observer.Broadcast):
	// how many clients it reached, was dropped for or closed them. Default
	// none.
	Observer *Observer
	// Logger receives broker errors. Default slog.Default().
	Logger *slog.Logger
}

// Manager tracks connections and broadcasts to them: the ConnectionManager of
// FastAPI's tutorial, made safe for bursts, slow clients and many processes.
//
// A broadcast encodes its frame once and queues the same bytes for every
// receiver; each connection drains its own queue, so Broadcast never waits
// on a client, and one slow or dead client cannot stall the others. A queue
// is bounded in bytes (ManagerOptions.MaxQueueBytes, 1 MiB by default), not
// in messages: a burst of thousands of chat messages is delivered whole, in
// order, to every client that reads. Only a client that falls a whole bound
// behind is dropped (ManagerOptions.OnOverflow), and one that takes no data
// at all for Options.WriteTimeout (10s by default) is dropped by its
// writer, whatever its queue holds.
//
// Each client receives the messages of one sender in the order they were
// sent. A connection that ends leaves the manager and its rooms by itself.
// All methods are safe for concurrent use.
type Manager struct {
	opts   ManagerOptions
	logger *slog.Logger
	id     [16]byte // tells this manager's broadcasts from others' on the broker

	bmu    sync.Mutex // guards unsub; broker is read lock-free
	broker atomic.Pointer[Broker]
	unsub  func() error

	mu    sync.RWMutex // guards conns and rooms
	conns map[*Conn]*member
	rooms map[string]map[*Conn]struct{}

	dropped atomic.Uint64
}

type member struct {
	rooms []string
}

// NewManager returns a Manager for the connections of this process. Call
// UseBroker to share its broadcasts with other processes.
func NewManager(opts *ManagerOptions) *Manager {
	m := &Manager{conns: map[*Conn]*member{}, rooms: map[string]map[*Conn]struct{}{}}
	if opts != nil {
		m.opts = *opts
	}
	if m.opts.Topic == "" {
		m.opts.Topic = "wsapi"
	}
	if m.opts.MaxQueueBytes == 0 {
		m.opts.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if m.opts.PublishTimeout <= 0 {
		m.opts.PublishTimeout = DefaultPublishTimeout
	}
	m.logger = m.opts.Logger
	if m.logger == nil {
		m.logger = slog.Default()
	}
	m.id = newManagerID()
	return m
}

// UseBroker makes the manager share broadcasts and rooms with every manager
// subscribed to the same broker and topic, on this process or others: it
// subscribes to the topic, and from then on every broadcast is published
// too. It returns an error when the broker refuses the subscription.
func (m *Manager) UseBroker(ctx context.Context, b Broker) error {
	m.bmu.Lock()
	defer m.bmu.Unlock()
	if m.unsub != nil {
		return errors.New("wsapi: UseBroker: the manager already uses a broker")
	}
	unsub, err := b.Subscribe(ctx, m.opts.Topic, m.receive)
	if err != nil {
		return fmt.Errorf("wsapi: UseBroker: subscribing to topic %q: %w", m.opts.Topic, err)
	}
	m.unsub = unsub
	m.broker.Store(&b)
	return nil
}

// Close stops the manager's use of its broker. Connections stay open.
func (m *Manager) Close() error {
	m.bmu.Lock()
	defer m.bmu.Unlock()
	m.broker.Store(nil)
	if m.unsub == nil {
		return nil
	}
	err := m.unsub()
	m.unsub = nil
	return err
}

// Connect adds ws to the manager, and to rooms, and accepts it if the
// handler has not yet. It registers before accepting, so a client that sees
// its handshake succeed receives every broadcast sent after that.
func (m *Manager) Connect(ctx context.Context, ws *Conn, rooms ...string) error {
	m.mu.Lock()
	if _, ok := m.conns[ws]; ok {
		m.mu.Unlock()
		return nil
	}
	m.conns[ws] = &member{}
	for _, r := range rooms {
		m.joinLocked(ws, r)
	}
	m.mu.Unlock()
	if !ws.onFinish(func() { m.Disconnect(ws) }) {
		m.Disconnect(ws) // it ended meanwhile
		return ws.errClosed()
	}
	if ws.State() == StateConnecting {
		if err := ws.Accept(ctx, nil); err != nil {
			m.Disconnect(ws)
			return err
		}
	}
	return nil
}

// DisconnectError removes ws from the manager and from every room. It does not
// close the connection. Calling it again does nothing.
func (m *Manager) Disconnect(ws *Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mem, ok := m.conns[ws]
	if !ok {
		return
	}
	for _, r := range mem.rooms {
		m.leaveLocked(ws, r)
	}
	delete(m.conns, ws)
}

// Join adds ws, which must be connected to the manager, to a room.
func (m *Manager) Join(ws *Conn, room string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.conns[ws]; !ok {
		return errors.New("wsapi: Join: the connection is not in the manager; call Connect first")
	}
	m.joinLocked(ws, room)
	return nil
}

func (m *Manager) joinLocked(ws *Conn, room string) {
	mem := m.conns[ws]
	if slices.Contains(mem.rooms, room) {
		return
	}
	mem.rooms = append(mem.rooms, room)
	set := m.rooms[room]
	if set == nil {
		set = map[*Conn]struct{}{}
		m.rooms[room] = set
	}
	set[ws] = struct{}{}
}

// Leave removes ws from a room.
func (m *Manager) Leave(ws *Conn, room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mem, ok := m.conns[ws]; ok {
		if i := slices.Index(mem.rooms, room); i >= 0 {
			mem.rooms = slices.Delete(mem.rooms, i, i+1)
			m.leaveLocked(ws, room)
		}
	}
}

func (m *Manager) leaveLocked(ws *Conn, room string) {
	set := m.rooms[room]
	delete(set, ws)
	if len(set) == 0 {
		delete(m.rooms, room)
	}
}

// Rooms returns the rooms ws is in.
func (m *Manager) Rooms(ws *Conn) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if mem, ok := m.conns[ws]; ok {
		return slices.Clone(mem.rooms)
	}
	return nil
}

// Len returns how many connections of this process the manager holds.
func (m *Manager) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.conns)
}

// Conns iterates over a snapshot of this process's connections.
func (m *Manager) Conns() iter.Seq[*Conn] { return m.all().Conns() }

// Dropped returns how many messages were dropped for slow clients under
// OverflowDrop.
func (m *Manager) Dropped() uint64 { return m.dropped.Load() }

// SendPersonal sends text to one connection, in order with the broadcasts
// queued for it: the tutorial's send_personal_message.
func (m *Manager) SendPersonal(ctx context.Context, ws *Conn, text string) error {
	return ws.SendText(ctx, text)
}

// Broadcast sends text to every connection, on every process sharing the
// broker. It never waits on a client: it queues the message for this
// process's clients and publishes it to the broker, then returns.
//
// ctx carries values (a trace, say) to the broker, but its cancellation
// does not stop a broadcast: the handler's ctx, cancelled once its client
// has left, still sends the goodbye, as FastAPI's tutorial does after
// WebSocketDisconnect. Publishing is bounded by ManagerOptions.PublishTimeout
// instead. The error reports a broker failure, after local clients got the
// message.
func (m *Manager) Broadcast(ctx context.Context, text string) error {
	return m.all().Broadcast(ctx, text)
}

// BroadcastBytes sends a binary message to every connection, as Broadcast does.
func (m *Manager) BroadcastBytes(ctx context.Context, b []byte) error {
	return m.all().BroadcastBytes(ctx, b)
}

// BroadcastJSON sends v, encoded once as compact JSON, to every connection,
// as Broadcast does; it also fails when v cannot be encoded.
func (m *Manager) BroadcastJSON(ctx context.Context, v any) error {
	return m.all().BroadcastJSON(ctx, v)
}

// Room returns the audience of one room.
func (m *Manager) Room(name string) Audience { return Audience{m: m, room: name, inRoom: true} }

// Except returns the audience of every connection but ws, such as everyone
// but the sender.
func (m *Manager) Except(ws *Conn) Audience { return Audience{m: m, except: ws} }

func (m *Manager) all() Audience { return Audience{m: m} }

// receive delivers a broadcast published by another process.
func (m *Manager) receive(env []byte) {
	origin, op, room, inRoom, payload, err := decodeEnvelope(env)
	if err != nil {
		m.logger.Error("wsapi: dropping a malformed broadcast from the broker", "topic", m.opts.Topic, "err", err)
		return
	}
	if origin == m.id {
		return // delivered locally when it was sent
	}
	m.deliver(room, inRoom, nil, op, payload, true)
}
