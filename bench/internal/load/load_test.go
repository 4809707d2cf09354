package load_test

import (
	"net"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi/bench/internal/load"
	"github.com/wsapi-go/wsapi/bench/internal/servers"
)

// serve starts a contender in this process with its debug endpoints.
func serve(t *testing.T, name string) (addr, debug string) {
	t.Helper()
	in, err := servers.Start(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: servers.DebugHandler(in)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return in.Addr, ln.Addr().String()
}

func need(t *testing.T, m map[string]float64, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, ok := m[k]; !ok || v <= 0 {
			t.Errorf("metric %s = %v (present: %v), want > 0; all: %v", k, v, ok, m)
		}
	}
}

// TestScenarios runs every scenario of the load generator briefly against
// in-process servers (the process measures its own CPU time).
func TestScenarios(t *testing.T) {
	pid := os.Getpid()
	for _, name := range []string{"wsapi", "epoll", "gws", "gobwas-zc"} {
		t.Run(name, func(t *testing.T) {
			addr, debug := serve(t, name)
			base := load.Config{Addr: addr, Debug: debug, PID: pid, Warmup: 50 * time.Millisecond, Duration: 150 * time.Millisecond}
			for _, client := range []string{"epoll", "goroutines"} {
				for _, bin := range []bool{false, true} {
					cfg := base
					cfg.Mode, cfg.Path, cfg.Conns, cfg.Size, cfg.Binary, cfg.Client = "echo", "/echo", 4, 32, bin, client
					if bin {
						cfg.Size = 16 << 10
					}
					m, err := load.Run(cfg)
					if err != nil {
						t.Fatalf("echo (%s client, binary %v): %v", client, bin, err)
					}
					need(t, m, "msgs_per_s", "msgs_per_cpu_s", "p50_us", "server_reads_per_msg")
				}
			}

			if slices.Contains(servers.TypedNames, name) {
				for _, client := range []string{"epoll", "goroutines"} {
					cfg := base
					cfg.Mode, cfg.Path, cfg.Conns, cfg.Size, cfg.Client = "typed", "/typed", 4, 64, client
					m, err := load.Run(cfg)
					if err != nil {
						t.Fatalf("typed (%s client): %v", client, err)
					}
					need(t, m, "msgs_per_s", "msgs_per_cpu_s", "p50_us")
				}
			}

			cfg := base
			cfg.Mode, cfg.Path, cfg.Conns, cfg.Settle = "idle", "/echo", 50, 50*time.Millisecond
			m, err := load.Run(cfg)
			if err != nil {
				t.Fatalf("idle: %v", err)
			}
			if _, ok := m["rss_per_conn_kib"]; !ok {
				t.Errorf("idle: no rss_per_conn_kib in %v", m)
			}

			cfg = base
			cfg.Mode, cfg.Path, cfg.Conns, cfg.Messages, cfg.Size = "bcast", "/sub", 20, 10, 64
			m, err = load.Run(cfg)
			if err != nil {
				t.Fatalf("bcast: %v", err)
			}
			need(t, m, "deliveries_per_s") // a window this short may see no CPU tick

			cfg = base
			cfg.Mode, cfg.Path, cfg.Workers = "hs", "/echo", 4
			if name == "wsapi" {
				cfg.Path = "/hs/room1?token=t&page=2"
			}
			m, err = load.Run(cfg)
			if err != nil {
				t.Fatalf("hs: %v", err)
			}
			need(t, m, "conns_per_s", "conns_per_cpu_s")
		})
	}
}

// TestBurst runs a small chat burst against each contender that serves
// /chat: small enough for every queue, so every client gets everything.
func TestBurst(t *testing.T) {
	for _, name := range servers.BurstNames {
		t.Run(name, func(t *testing.T) {
			addr, debug := serve(t, name)
			cfg := load.Config{Mode: "burst", Addr: addr, Debug: debug, PID: os.Getpid(), Path: "/chat",
				Conns: 20, Messages: 5, Size: 32, Timeout: 10 * time.Second}
			m, err := load.Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if m["complete"] != 1 || m["missing"] != 0 || m["clients_closed"] != 0 || m["deliveries"] != 20*20*5 {
				t.Fatalf("burst: %v, want every delivery and no client closed", m)
			}
			need(t, m, "burst_ms", "deliveries_per_s")
		})
	}
}
