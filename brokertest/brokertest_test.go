package brokertest_test

import (
	"context"
	"sync"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/brokertest"
)

// The in-memory broker passes the suite the adapters run.
func TestMemoryBroker(t *testing.T) {
	shared := wsapi.NewMemoryBroker()
	brokertest.Run(t, func(t *testing.T) wsapi.Broker { return &memoryConn{b: shared} })
}

// memoryConn is one process's connection to a shared MemoryBroker, as a
// process has its own connection to a Redis or NATS server: closing it
// ends its subscriptions and refuses its calls, not the other processes'.
type memoryConn struct {
	b      *wsapi.MemoryBroker
	mu     sync.Mutex
	closed bool
	unsubs []func() error
}

func (c *memoryConn) Publish(ctx context.Context, topic string, payload []byte) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return wsapi.ErrBrokerClosed
	}
	return c.b.Publish(ctx, topic, payload)
}

func (c *memoryConn) Subscribe(ctx context.Context, topic string, h func([]byte)) (func() error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, wsapi.ErrBrokerClosed
	}
	unsub, err := c.b.Subscribe(ctx, topic, h)
	if err == nil {
		c.unsubs = append(c.unsubs, unsub)
	}
	return unsub, err
}

func (c *memoryConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, u := range c.unsubs {
		u()
	}
	return nil
}
