// Package natsbroker carries the broadcasts of wsapi Managers between
// processes over core NATS.
//
//	b, err := natsbroker.Dial(ctx, "nats://127.0.0.1:4222", nil)
//	if err != nil {
//		log.Fatal(err) // NATS is unreachable
//	}
//	defer b.Close()
//	manager := wsapi.NewManager(nil)
//	if err := manager.UseBroker(ctx, b); err != nil {
//		log.Fatal(err)
//	}
//
// Core NATS delivers at most once: a message published while a subscriber
// is disconnected is lost for that subscriber. The connection Dial makes
// reconnects forever and keeps no reconnect buffer, so a broadcast made
// while NATS is unreachable returns an error from Broadcast (the manager's
// own clients still get it) instead of waiting in memory to be sent late.
package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wsapi-go/wsapi"
)

// Options configures a Broker. A nil *Options means defaults.
type Options struct {
	// Logger receives disconnections, reconnections and asynchronous
	// errors such as a slow consumer. Payloads are never logged. Default
	// slog.Default().
	Logger *slog.Logger
	// Name is the connection name the server shows (Dial and ConnOptions).
	// Default "wsapi".
	Name string
	// ReconnectWait is the wait between reconnection attempts (Dial and
	// ConnOptions). Default nats.DefaultReconnectWait (2s).
	ReconnectWait time.Duration
	// FlushTimeout bounds the round trip that confirms a subscription when
	// the context given to Subscribe has no deadline. Default 5s.
	FlushTimeout time.Duration
	// NATSOptions are applied after the broker's own (Dial and
	// ConnOptions), for credentials, TLS and the like.
	NATSOptions []nats.Option
}

// Broker is a wsapi.Broker over core NATS: Publish is a NATS publish on
// the topic as subject, Subscribe a NATS subscription. It is safe for
// concurrent use.
type Broker struct {
	nc           *nats.Conn
	ownsConn     bool
	logger       *slog.Logger
	flushTimeout time.Duration

	mu     sync.Mutex // guards subs and closed
	subs   map[*subscription]struct{}
	closed bool
}

var _ wsapi.Broker = (*Broker)(nil)

// ConnOptions returns the options Dial connects with: a name, unlimited
// reconnects, no reconnect buffer (publishing while disconnected fails
// instead of queueing), and handlers that log disconnections,
// reconnections and asynchronous errors to opts.Logger. Use them to make
// the connection given to New behave as Dial's does.
func ConnOptions(opts *Options) []nats.Option {
	o := withDefaults(opts)
	logger := o.Logger
	nopts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() {
				return // Close, not a loss: logged by the closed handler
			}
			logger.Warn("natsbroker: disconnected from nats; reconnecting", "servers", nc.Servers(), "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("natsbroker: reconnected to nats; subscriptions restored", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			logger.Debug("natsbroker: reconnecting failed; trying again", "err", err)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			logger.Debug("natsbroker: connection closed")
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			args := []any{"err", err}
			if sub != nil {
				args = append(args, "subject", sub.Subject)
			}
			logger.Error("natsbroker: asynchronous error", args...)
		}),
	}
	if o.ReconnectWait > 0 {
		nopts = append(nopts, nats.ReconnectWait(o.ReconnectWait))
	}
	return append(nopts, o.NATSOptions...)
}

func withDefaults(opts *Options) Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Name == "" {
		o.Name = "wsapi"
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = 5 * time.Second
	}
	return o
}

// Dial connects to the NATS server at url (one URL or a comma-separated
// list) with ConnOptions. An unreachable server is an error here; once
// connected, the connection reconnects forever. The Broker owns the
// connection: Close closes it.
//
// ctx bounds the connection attempt: when it is done before the server has
// answered, Dial returns at once with an error wrapping ctx.Err() (and its
// cause, if any). nats.go's connect takes no context, so the attempt in
// progress then ends in the background, within nats.go's own dial and
// handshake timeout (nats.Timeout, 2s by default, per server), and its
// connection is closed if it succeeds. ctx is used only for the initial
// connection: reconnections do not depend on it.
func Dial(ctx context.Context, url string, opts *Options) (*Broker, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("natsbroker: cannot reach nats at %s: %w", redact(url), contextErr(ctx))
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result) // unbuffered: a result nobody takes is closed
	abandoned := make(chan struct{})
	go func() {
		nc, err := nats.Connect(url, ConnOptions(opts)...)
		select {
		case done <- result{nc, err}:
		case <-abandoned:
			if nc != nil {
				nc.Close() // Dial has returned: nobody will use it
			}
		}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		close(abandoned)
		return nil, fmt.Errorf("natsbroker: cannot reach nats at %s: %w", redact(url), contextErr(ctx))
	}
	if r.err != nil {
		return nil, fmt.Errorf("natsbroker: cannot reach nats at %s: %w", redact(url), r.err)
	}
	b := New(r.nc, opts)
	b.ownsConn = true
	return b, nil
}

// contextErr returns ctx.Err(), with ctx's cause when it says more.
func contextErr(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// redact drops the credentials from a list of server URLs, for messages.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			u.User = nil
			p = u.String()
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

// New returns a Broker on an existing connection, used as it was
// configured (see ConnOptions). Close does not close it, and ends only the
// broker's subscriptions.
func New(nc *nats.Conn, opts *Options) *Broker {
	o := withDefaults(opts)
	return &Broker{nc: nc, logger: o.Logger, flushTimeout: o.FlushTimeout, subs: map[*subscription]struct{}{}}
}

// Conn returns the NATS connection the broker uses.
func (b *Broker) Conn() *nats.Conn { return b.nc }

func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// ErrDisconnected is wrapped by the error Publish returns while the
// connection is reconnecting (with the reconnect buffer disabled, as Dial
// does).
var ErrDisconnected = errors.New("natsbroker: not connected to nats")

// Publish sends payload on subject topic. It returns an error when the
// connection cannot take it: while reconnecting (ErrDisconnected, when the
// reconnect buffer is disabled as Dial does), once closed, or when payload
// exceeds the server's limit; wsapi.ErrBrokerClosed after Close. Like any
// NATS publish it does not wait for the server: a message sent in the
// moment the connection breaks, before the client notices, is lost without
// an error.
func (b *Broker) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.isClosed() {
		return wsapi.ErrBrokerClosed
	}
	if err := b.nc.Publish(topic, payload); err != nil {
		if errors.Is(err, nats.ErrReconnectBufExceeded) && b.nc.IsReconnecting() {
			return fmt.Errorf("%w (reconnecting): %w", ErrDisconnected, err)
		}
		return fmt.Errorf("natsbroker: publishing to %q: %w", topic, err)
	}
	return nil
}

// Subscribe subscribes to subject topic and returns once the server has
// confirmed it (a flush round trip, bounded by ctx's deadline or
// Options.FlushTimeout), so a message published after Subscribe returns
// reaches handler. The connection calls handler with each message, one at
// a time, on a goroutine of the subscription. unsubscribe waits for a
// handler call in progress to end; it must not be called from handler.
func (b *Broker) Subscribe(ctx context.Context, topic string, handler func(payload []byte)) (func() error, error) {
	if b.isClosed() {
		return nil, wsapi.ErrBrokerClosed
	}
	s := &subscription{b: b}
	sub, err := b.nc.Subscribe(topic, func(m *nats.Msg) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closed {
			handler(m.Data)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: subscribing to %q: %w", topic, err)
	}
	s.sub = sub
	fctx, cancel := ctx, context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		fctx, cancel = context.WithTimeout(ctx, b.flushTimeout)
	}
	err = b.nc.FlushWithContext(fctx)
	cancel()
	if err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("natsbroker: subscribing to %q: waiting for the server's confirmation: %w", topic, err)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		sub.Unsubscribe()
		return nil, wsapi.ErrBrokerClosed
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s.unsubscribe, nil
}

// Close ends the broker's subscriptions and closes the connection if Dial
// made it. Publish and Subscribe then return wsapi.ErrBrokerClosed.
// Calling Close again does nothing.
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
	var errs []error
	for s := range subs {
		if err := s.unsubscribe(); err != nil {
			errs = append(errs, err)
		}
	}
	if b.ownsConn {
		b.nc.Close()
	}
	return errors.Join(errs...)
}

type subscription struct {
	b   *Broker
	sub *nats.Subscription

	mu     sync.Mutex // held during handler calls; guards closed
	closed bool

	once sync.Once
	err  error
}

func (s *subscription) unsubscribe() error {
	s.once.Do(func() {
		err := s.sub.Unsubscribe()
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
			err = nil // nothing left to end
		}
		s.err = err
		s.mu.Lock() // waits for a handler call in progress
		s.closed = true
		s.mu.Unlock()
		s.b.mu.Lock()
		delete(s.b.subs, s)
		s.b.mu.Unlock()
	})
	return s.err
}
