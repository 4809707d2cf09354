package load

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsapi-go/wsapi/bench/internal/wsframe"
)

// Payload returns the echo scenario's message: ASCII text, or binary bytes
// covering every value.
func Payload(size int, binary bool) []byte {
	p := make([]byte, size)
	for i := range p {
		if binary {
			p[i] = byte(i*131 + i>>8)
		} else {
			p[i] = 'a' + byte(i%26)
		}
	}
	return p
}

type echoWorker struct {
	n   int
	lat []time.Duration
	err error
}

// Echo opens cfg.Conns connections; each sends a message and waits for its
// echo, again and again: from one epoll loop on Linux (see echoEpoll), or
// with cfg.Client "goroutines" from a goroutine per connection. It reports
// messages per second, per second of server CPU time, and latency
// percentiles.
func Echo(cfg Config) (map[string]float64, error) {
	payload := Payload(cfg.Size, cfg.Binary)
	op := byte(wsframe.OpText)
	if cfg.Binary {
		op = wsframe.OpBinary
	}
	return echoLoop(cfg, op, payload, payload)
}

// TypedMessages returns the typed scenario's message, with a text of size
// ASCII letters, and the reply the server must send to it.
func TypedMessages(size int) (req, reply []byte) {
	text := string(Payload(size, false))
	req = []byte(`{"type":"echo","text":"` + text + `","n":3}`)
	reply = []byte(`{"type":"echoed","text":"` + text + `","n":3}`)
	return req, reply
}

// Typed is Echo with the typed scenario's JSON messages (TypedMessages):
// each connection sends one and waits for its reply, again and again.
func Typed(cfg Config) (map[string]float64, error) {
	req, reply := TypedMessages(cfg.Size)
	return echoLoop(cfg, wsframe.OpText, req, reply)
}

// echoLoop runs the echo load: each connection sends payload in an op
// frame and waits for want, in a message of the same type.
func echoLoop(cfg Config, op byte, payload, want []byte) (map[string]float64, error) {
	frame := wsframe.AppendFrame(nil, op, payload, &MaskKey)
	conns, err := dialMany(cfg.Addr, cfg.Path, cfg.Conns, max(4096, 2*(max(len(payload), len(want))+16)))
	if err != nil {
		return nil, err
	}
	if cfg.Client != "goroutines" && echoEpollAvailable {
		return echoEpoll(cfg, conns, frame, want, op)
	}
	var phase atomic.Int32 // 0 warmup, 1 measuring, 2 stopping
	workers := make([]echoWorker, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		w := &workers[i]
		wg.Go(func() {
			for phase.Load() != 2 {
				t0 := time.Now()
				if _, err := c.NC.Write(frame); err != nil {
					w.err = err
					return
				}
				gop, p, err := c.ReadMessage()
				d := time.Since(t0)
				if err != nil {
					w.err = err
					return
				}
				if gop != op || !bytes.Equal(p, want) {
					w.err = fmt.Errorf("bad echo: opcode %d, %d bytes (want %d, %d bytes)", gop, len(p), op, len(want))
					return
				}
				if phase.Load() == 1 {
					w.n++
					w.lat = append(w.lat, d)
				}
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
	closeAll(conns)
	wg.Wait()
	var n int
	var lat []time.Duration
	for i := range workers {
		w := &workers[i]
		n += w.n
		lat = append(lat, w.lat...)
	}
	// Errors after the window closed come from closing the sockets.
	for i := range workers {
		if w := &workers[i]; w.err != nil && w.n == 0 && n == 0 {
			return nil, w.err
		}
	}
	return echoMetrics(n, lat, t1.Sub(t0), s0, s1), nil
}

func echoMetrics(n int, lat []time.Duration, window time.Duration, s0, s1 serverSnap) map[string]float64 {
	sortDurations(lat)
	el := window.Seconds()
	m := map[string]float64{
		"msgs":       float64(n),
		"msgs_per_s": float64(n) / el,
		"p50_us":     float64(percentile(lat, 0.50).Microseconds()),
		"p99_us":     float64(percentile(lat, 0.99).Microseconds()),
	}
	addServerMetrics(m, s0, s1, float64(n), "msgs_per_cpu_s", "msg")
	return m
}
