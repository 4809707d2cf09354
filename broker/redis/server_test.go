package redisbroker_test

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
	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests. None is
// ignored; they get two seconds to end, for the
// goroutines of connections and subscriptions that are closing as the last
// test returns.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := findLeaks(2 * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func findLeaks(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		err := goleak.Find()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// redisServer is a redis-server process of the test's own, on a loopback
// port, without persistence.
type redisServer struct {
	t    *testing.T
	bin  string
	port int
	dir  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    brokertest.LogBuffer
}

// startRedis starts a redis-server on a free loopback port and kills it
// when the test ends. Without the binary the test is skipped, unless
// WSAPI_CI=1, where it fails: CI must not pass without Redis.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (Debian: apt-get install -y redis-server); the Redis broker tests need it"
		if os.Getenv("WSAPI_CI") == "1" {
			t.Fatalf("%s, and WSAPI_CI=1 forbids skipping them", msg)
		}
		t.Skip(msg)
	}
	s := &redisServer{t: t, bin: bin, port: freePort(t), dir: t.TempDir()}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("redis-server output:\n%s", &s.out)
		}
	})
	s.start()
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }
func (s *redisServer) url() string  { return "redis://" + s.addr() }

// start runs redis-server on s.port and waits until it answers PING.
func (s *redisServer) start() {
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

	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
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

// kill kills the server process by its PID and waits for it to exit.
func (s *redisServer) kill() {
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

// numSub returns how many connections are subscribed to channel.
func (s *redisServer) numSub(channel string) int64 {
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	n, err := c.PubSubNumSub(context.Background(), channel).Result()
	if err != nil {
		return -1
	}
	return n[channel]
}

// do runs one command on the server.
func (s *redisServer) do(args ...any) error {
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	return c.Do(context.Background(), args...).Err()
}
