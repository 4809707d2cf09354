// Package redistest runs a real redis-server for tests: a process of the
// test's own on a free loopback port, without persistence, killed by its
// PID when the test ends.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsapi-go/wsapi/brokertest"
)

// Server is a redis-server process of the test's own, on a loopback
// port, without persistence.
type Server struct {
	t    testing.TB
	bin  string
	port int
	dir  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    brokertest.LogBuffer
}

// Start starts a redis-server on a free loopback port and kills it when
// the test ends. Without the binary the test is skipped, unless
// WSAPI_CI=1, where it fails: CI must not pass without Redis.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (Debian: apt-get install -y redis-server); the Redis broker tests need it"
		if os.Getenv("WSAPI_CI") == "1" {
			t.Fatalf("%s, and WSAPI_CI=1 forbids skipping them", msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin, port: FreePort(t), dir: t.TempDir()}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("redis-server output:\n%s", &s.out)
		}
	})
	s.Restart()
	return s
}

// FreePort returns a loopback TCP port that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// URL returns the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Restart runs redis-server on the server's port, after Kill, and waits
// until it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--logfile", "")
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			s.t.Fatalf("redis-server on port %d exited at start:\n%s", s.port, &s.out)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on port %d did not answer PING within 10s: %v", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the server process by its PID and waits for it to exit.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// NumSub returns how many connections are subscribed to channel, or -1.
func (s *Server) NumSub(channel string) int64 {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	n, err := c.PubSubNumSub(context.Background(), channel).Result()
	if err != nil {
		return -1
	}
	return n[channel]
}

// Do runs one command on the server.
func (s *Server) Do(args ...any) error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	return c.Do(context.Background(), args...).Err()
}
