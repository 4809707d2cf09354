package load

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes one measurement.
type Config struct {
	Mode     string        // echo, typed, idle, bcast, burst or hs
	Addr     string        // the server's WebSocket host:port
	Debug    string        // the server's debug host:port
	PID      int           // the server's process, for its CPU time
	Path     string        // request path (with query)
	Conns    int           // connections (echo, typed, idle, bcast); clients (burst)
	Size     int           // message size (echo, bcast, burst); text length (typed)
	Binary   bool          // echo binary messages instead of text
	Messages int           // broadcasts (bcast); messages per client (burst)
	Workers  int           // concurrent dialers (hs; connection setup elsewhere)
	Warmup   time.Duration // echo, hs: load before measuring
	Duration time.Duration // echo, hs: measuring window
	Settle   time.Duration // idle: wait after connecting before measuring
	Client   string        // echo, typed: "epoll" (default on Linux) or "goroutines"
	Timeout  time.Duration // burst: give up after this (default 60 s)
}

// Result is what a measurement prints.
type Result struct {
	Metrics map[string]float64 `json:"metrics"`
	Error   string             `json:"error,omitempty"`
}

// Run runs one measurement.
func Run(cfg Config) (map[string]float64, error) {
	raiseNoFile()
	switch cfg.Mode {
	case "echo":
		return Echo(cfg)
	case "typed":
		return Typed(cfg)
	case "idle":
		return Idle(cfg)
	case "bcast":
		return Broadcast(cfg)
	case "burst":
		return Burst(cfg)
	case "hs":
		return Handshakes(cfg)
	}
	return nil, fmt.Errorf("unknown mode %q", cfg.Mode)
}

// Main is the "load" subcommand.
func Main(args []string) int {
	var cfg Config
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	fs.StringVar(&cfg.Mode, "mode", "echo", "echo, typed, idle, bcast, burst or hs")
	fs.StringVar(&cfg.Addr, "addr", "", "server WebSocket host:port")
	fs.StringVar(&cfg.Debug, "debug", "", "server debug host:port")
	fs.IntVar(&cfg.PID, "pid", 0, "server pid (for CPU time)")
	fs.StringVar(&cfg.Path, "path", "/echo", "request path")
	fs.IntVar(&cfg.Conns, "conns", 1, "connections")
	fs.IntVar(&cfg.Size, "size", 32, "message size")
	fs.BoolVar(&cfg.Binary, "binary", false, "binary messages")
	fs.IntVar(&cfg.Messages, "messages", 100, "broadcast messages (bcast); messages per client (burst)")
	fs.IntVar(&cfg.Workers, "workers", 32, "concurrent dialers")
	fs.DurationVar(&cfg.Warmup, "warmup", 300*time.Millisecond, "warmup")
	fs.DurationVar(&cfg.Duration, "duration", time.Second, "measuring window")
	fs.DurationVar(&cfg.Settle, "settle", time.Second, "idle settle time")
	fs.DurationVar(&cfg.Timeout, "timeout", 60*time.Second, "burst: give up after this")
	fs.StringVar(&cfg.Client, "client", "epoll", "echo client: epoll (one loop) or goroutines (one per connection)")
	fs.Parse(args)
	m, err := Run(cfg)
	res := Result{Metrics: m}
	if err != nil {
		res.Error = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	if err != nil {
		return 1
	}
	return 0
}

func raiseNoFile() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < 20000 {
		rl.Cur = min(20000, rl.Max)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// dialMany opens n connections with a few concurrent dialers.
func dialMany(addr, path string, n, bufSize int) ([]*Conn, error) {
	conns := make([]*Conn, n)
	var next int
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(n, 32) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := firstErr != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				var c *Conn
				var err error
				for try := 0; try < 5; try++ {
					if c, err = Dial(addr, path, bufSize, 10*time.Second); err == nil {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("dialing connection %d of %d: %w", i+1, n, err)
					}
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(conns)
		return nil, firstErr
	}
	return conns, nil
}

func closeAll(conns []*Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// Mem is what a server's /mem debug endpoint reports.
type Mem struct {
	HeapInuse  int64 `json:"heap_inuse"`
	StackInuse int64 `json:"stack_inuse"`
	RSSGC      int64 `json:"rss_gc"`   // VmRSS after runtime.GC
	RSSFree    int64 `json:"rss_free"` // VmRSS after debug.FreeOSMemory
	Goroutines int64 `json:"goroutines"`
}

// GetMem asks the server at debug for its memory figures.
func GetMem(debug string) (Mem, error) {
	var m Mem
	resp, err := http.Get("http://" + debug + "/mem")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

// debugCall does a request on the server's debug endpoint and returns the body.
func debugCall(method, debug, path string) (string, error) {
	req, _ := http.NewRequest(method, "http://"+debug+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return strings.TrimSpace(string(b)), err
}

// percentile returns the p-th percentile (0..1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

var errNoPID = errors.New("no server pid given")
