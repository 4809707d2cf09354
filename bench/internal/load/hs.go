package load

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsapi-go/wsapi/bench/internal/wsframe"
)

// Handshakes runs cfg.Workers clients, each in a loop: dial, handshake,
// send a close frame, read until the server closes. It reports completed
// connections per second and per second of server CPU time.
func Handshakes(cfg Config) (map[string]float64, error) {
	req := Request(cfg.Addr, cfg.Path)
	closeFrame := wsframe.AppendFrame(nil, wsframe.OpClose, []byte{0x03, 0xe8}, &MaskKey)
	var phase atomic.Int32
	var done, failed atomic.Int64
	var firstErr atomic.Pointer[error]
	one := func() error {
		nc, err := net.DialTimeout("tcp", cfg.Addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer nc.Close()
		c, err := Handshake(nc, req, 512, 5*time.Second)
		if err != nil {
			return err
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Write(closeFrame); err != nil {
			return err
		}
		sawClose := false
		for {
			h, _, err := c.ReadFrame()
			if err != nil {
				if errors.Is(err, io.EOF) && sawClose {
					return nil
				}
				return fmt.Errorf("after close (saw close frame: %v): %w", sawClose, err)
			}
			sawClose = sawClose || h.Op == wsframe.OpClose
		}
	}
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			for phase.Load() != 2 {
				err := one()
				if phase.Load() != 1 {
					continue
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				done.Add(1)
			}
		})
	}
	time.Sleep(cfg.Warmup)
	s0 := snapServer(cfg.PID)
	t0 := time.Now()
	phase.Store(1)
	time.Sleep(cfg.Duration)
	t1 := time.Now()
	phase.Store(2)
	s1 := snapServer(cfg.PID)
	wg.Wait()
	n := done.Load()
	m := map[string]float64{
		"conns":       float64(n),
		"failed":      float64(failed.Load()),
		"conns_per_s": float64(n) / t1.Sub(t0).Seconds(),
	}
	addServerMetrics(m, s0, s1, float64(n), "conns_per_cpu_s", "conn")
	if f := failed.Load(); f > n/100 {
		return m, fmt.Errorf("%d of %d handshakes failed, first: %v", f, f+n, *firstErr.Load())
	}
	return m, nil
}
