// Package redisbroker carries the broadcasts of wsapi Managers between
// processes over Redis pub/sub.
//
//	b, err := redisbroker.Dial(ctx, "redis://127.0.0.1:6379", nil)
//	if err != nil {
//		log.Fatal(err) // Redis is unreachable
//	}
//	defer b.Close()
//	manager := wsapi.NewManager(nil)
//	if err := manager.UseBroker(ctx, b); err != nil {
//		log.Fatal(err)
//	}
//
// Redis pub/sub delivers at most once: a message published while a
// subscriber is disconnected is lost for that subscriber. A broadcast
// made while Redis is unreachable returns an error from Broadcast (the
// manager's own clients still get it). Each subscription reconnects and
// resubscribes by itself, and logs the loss and the recovery.
package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsapi-go/wsapi"
)

// Options configures a Broker. A nil *Options means defaults.
type Options struct {
	// Logger receives the loss and recovery of subscriptions. Payloads are
	// never logged. Default slog.Default().
	Logger *slog.Logger
	// HealthCheckInterval is how long a subscription may go without any
	// traffic before the broker pings Redis on it; a ping that gets no
	// answer within another interval marks the connection dead, and the
	// broker reconnects. It detects connections that died silently (a
	// network partition, a NAT that forgot the flow). Default 10s.
	HealthCheckInterval time.Duration
	// MaxReconnectWait caps the wait between attempts to resubscribe while
	// Redis is unreachable; the wait starts at 50ms and doubles. Default 2s.
	MaxReconnectWait time.Duration
}

// Broker is a wsapi.Broker over Redis pub/sub: Publish is PUBLISH, and each
// Subscribe holds its own connection in SUBSCRIBE mode. It is safe for
// concurrent use.
type Broker struct {
	client      redis.UniversalClient
	ownsClient  bool
	logger      *slog.Logger
	healthCheck time.Duration
	maxWait     time.Duration

	mu     sync.Mutex // guards subs and closed
	subs   map[*subscription]struct{}
	closed bool
}

var _ wsapi.Broker = (*Broker)(nil)

// Dial connects to the Redis server at url (redis://[user:password@]host:port[/db],
// or rediss:// for TLS; see redis.ParseURL) and pings it, so that an
// unreachable server is an error here rather than at the first broadcast.
// Query parameters of the URL set client options (dial_timeout,
// max_retries, pool_size...). Dial makes one dial attempt per try
// (DialerRetries 1) and leaves the retries to the client's MaxRetries, so
// that a broadcast during an outage fails in a fraction of a second rather
// than after seconds of redialling. The Broker owns the client it makes:
// Close closes it.
func Dial(ctx context.Context, url string, opts *Options) (*Broker, error) {
	ropts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisbroker: parsing the redis URL: %w", err)
	}
	ropts.DialerRetries = 1 // see above: MaxRetries already retries a failed dial
	client := redis.NewClient(ropts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redisbroker: cannot reach redis at %s: %w", ropts.Addr, err)
	}
	b := New(client, opts)
	b.ownsClient = true
	return b, nil
}

// New returns a Broker on an existing client (a *redis.Client,
// *redis.ClusterClient or failover client). Close does not close the
// client, which stays the caller's.
func New(client redis.UniversalClient, opts *Options) *Broker {
	b := &Broker{client: client, subs: map[*subscription]struct{}{}}
	if opts != nil {
		b.logger = opts.Logger
		b.healthCheck = opts.HealthCheckInterval
		b.maxWait = opts.MaxReconnectWait
	}
	if b.logger == nil {
		b.logger = slog.Default()
	}
	if b.healthCheck <= 0 {
		b.healthCheck = 10 * time.Second
	}
	if b.maxWait <= 0 {
		b.maxWait = 2 * time.Second
	}
	return b
}

// Client returns the Redis client the broker uses.
func (b *Broker) Client() redis.UniversalClient { return b.client }

func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Publish sends payload to every subscriber of topic with PUBLISH. It
// returns an error when Redis cannot be reached (after the client's
// retries) and wsapi.ErrBrokerClosed after Close.
func (b *Broker) Publish(ctx context.Context, topic string, payload []byte) error {
	if b.isClosed() {
		return wsapi.ErrBrokerClosed
	}
	if err := b.client.Publish(ctx, topic, payload).Err(); err != nil {
		return fmt.Errorf("redisbroker: publishing to %q: %w", topic, err)
	}
	return nil
}

// Subscribe sends SUBSCRIBE on a connection of its own and returns once
// Redis has confirmed it, so a message published after Subscribe returns
// reaches handler. A goroutine then calls handler with each message, one
// at a time, until unsubscribe or Close; when the connection drops, it
// reconnects and resubscribes, logging both. unsubscribe waits for a
// handler call in progress to end; it must not be called from handler.
func (b *Broker) Subscribe(ctx context.Context, topic string, handler func(payload []byte)) (func() error, error) {
	if b.isClosed() {
		return nil, wsapi.ErrBrokerClosed
	}
	ps := b.client.Subscribe(ctx) // no channel yet: connects on the next call
	if err := ps.Subscribe(ctx, topic); err != nil {
		ps.Close()
		return nil, fmt.Errorf("redisbroker: subscribing to %q: %w", topic, err)
	}
	if err := confirm(ctx, ps, topic); err != nil {
		ps.Close()
		return nil, fmt.Errorf("redisbroker: subscribing to %q: %w", topic, err)
	}
	s := &subscription{b: b, topic: topic, handler: handler, ps: ps, done: make(chan struct{}), stop: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		ps.Close()
		return nil, wsapi.ErrBrokerClosed
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.run()
	return s.unsubscribe, nil
}

// confirmTimeout bounds the wait for Redis to confirm a SUBSCRIBE when ctx
// has no earlier deadline.
const confirmTimeout = 10 * time.Second

// confirm reads the reply to SUBSCRIBE.
func confirm(ctx context.Context, ps *redis.PubSub, topic string) error {
	for {
		msg, err := ps.ReceiveTimeout(ctx, confirmTimeout)
		if err != nil {
			return fmt.Errorf("waiting for the confirmation: %w", err)
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == topic {
				return nil
			}
		case *redis.Pong:
		default:
			return fmt.Errorf("unexpected reply %T while waiting for the confirmation", msg)
		}
	}
}

// Close ends every subscription, waiting for their goroutines to exit, and
// closes the client if Dial made it. Publish and Subscribe then return
// wsapi.ErrBrokerClosed. Calling Close again does nothing.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()
	for s := range subs {
		s.unsubscribe()
	}
	if b.ownsClient {
		return b.client.Close()
	}
	return nil
}

type subscription struct {
	b       *Broker
	topic   string
	handler func([]byte)
	done    chan struct{} // closed when run returns
	stop    chan struct{} // closed by unsubscribe

	mu     sync.Mutex // guards ps and closed
	ps     *redis.PubSub
	closed bool

	once sync.Once // runs unsubscribe once
}

// unsubscribe closes the subscription's connection, which ends a pending
// receive, and waits for run to return.
func (s *subscription) unsubscribe() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		ps := s.ps
		s.mu.Unlock()
		close(s.stop)
		err = ps.Close()
		<-s.done
		s.b.mu.Lock()
		delete(s.b.subs, s)
		s.b.mu.Unlock()
	})
	return err
}

func (s *subscription) current() *redis.PubSub {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return s.ps
}

// replace swaps the subscription's connection for a new one, when the old
// one stopped answering: go-redis would keep waiting on it.
func (s *subscription) replace() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	old := s.ps
	ps := s.b.client.Subscribe(context.Background())
	s.ps = ps
	s.mu.Unlock()
	old.Close()
	// Records the channel even when it fails: the next receive then
	// reconnects and resubscribes.
	ctx, cancel := context.WithTimeout(context.Background(), s.b.healthCheck)
	ps.Subscribe(ctx, s.topic)
	cancel()
}

func (s *subscription) run() {
	defer close(s.done)
	var (
		lostSince time.Time // zero while subscribed
		pinged    bool      // a ping is waiting for its answer
		wait      time.Duration
	)
	lost := func(err error) {
		if lostSince.IsZero() {
			lostSince = time.Now()
			s.b.logger.Warn("redisbroker: lost the subscription; resubscribing", "topic", s.topic, "err", err)
		} else {
			s.b.logger.Debug("redisbroker: resubscribing failed; trying again", "topic", s.topic, "err", err)
		}
	}
	ctx := context.Background()
	for {
		ps := s.current()
		if ps == nil {
			return
		}
		msg, err := ps.ReceiveTimeout(ctx, s.b.healthCheck)
		if s.current() == nil {
			return
		}
		if err != nil {
			switch {
			case isTimeout(err) && pinged:
				// The connection looks open but Redis is silent.
				pinged = false
				lost(fmt.Errorf("redis did not answer a ping within %v", s.b.healthCheck))
				s.replace()
				continue
			case isTimeout(err):
				pinged = true
				err = ps.Ping(ctx)
				if err == nil {
					continue
				}
			}
			lost(err)
			wait = min(max(2*wait, 50*time.Millisecond), s.b.maxWait)
			select {
			case <-time.After(wait):
			case <-s.stop:
				return
			}
			continue
		}
		pinged, wait = false, 0
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && !lostSince.IsZero() {
				s.b.logger.Info("redisbroker: resubscribed", "topic", s.topic, "after", time.Since(lostSince).Round(time.Millisecond))
				lostSince = time.Time{}
			}
		case *redis.Message:
			s.handler([]byte(m.Payload))
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
