package natsbroker_test

import (
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests. None is
// ignored, the embedded server's included (each test shuts its server
// down); they get
// two seconds to end, for the goroutines of connections and subscriptions
// that are closing as the last test returns.
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

// natsServer is an embedded NATS server on a loopback port, which the test
// can shut down and start again on the same port.
type natsServer struct {
	t    *testing.T
	port int // 0 until the first start picked one

	mu sync.Mutex
	s  *server.Server
}

// startNATS starts an embedded server on a random loopback port and shuts
// it down when the test ends.
func startNATS(t *testing.T) *natsServer {
	t.Helper()
	ns := &natsServer{t: t}
	t.Cleanup(ns.shutdown)
	ns.start()
	return ns
}

func (ns *natsServer) start() {
	ns.t.Helper()
	port := ns.port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{
		Host:   "127.0.0.1",
		Port:   port,
		NoLog:  true,
		NoSigs: true,
	})
	if err != nil {
		ns.t.Fatalf("nats-server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		ns.t.Fatalf("nats-server on port %d not ready within 10s", port)
	}
	ns.port = s.Addr().(*net.TCPAddr).Port
	ns.mu.Lock()
	ns.s = s
	ns.mu.Unlock()
}

// shutdown stops the server and waits until it has.
func (ns *natsServer) shutdown() {
	ns.mu.Lock()
	s := ns.s
	ns.s = nil
	ns.mu.Unlock()
	if s == nil {
		return
	}
	s.Shutdown()
	s.WaitForShutdown()
}

func (ns *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", ns.port) }

// numSubs returns how many subscriptions the server counts for the client
// connection with id cid, or -1 if it knows no such connection.
func (ns *natsServer) numSubs(cid uint64) int {
	ns.mu.Lock()
	s := ns.s
	ns.mu.Unlock()
	if s == nil {
		return -1
	}
	cz, err := s.Connz(&server.ConnzOptions{CID: cid})
	if err != nil || len(cz.Conns) != 1 {
		return -1
	}
	return int(cz.Conns[0].NumSubs)
}
