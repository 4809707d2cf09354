package orch

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/wsapi-go/wsapi/bench/internal/load"
)

// profile takes CPU profiles of the wsapi server under the echo (64 × 32 B
// text; 512 × 16 KiB binary through Receive and through ReceiveFunc) and
// handshake loads (the params route and the bare one), of gws under the
// same 16 KiB echo and of gobwas-http under the bare handshake, to set each
// beside its peer. Read them with `go tool pprof -top results/wsapi-echo-32B.pprof`.
func (r *runner) profile() error {
	const secs = 3
	runs := []struct {
		lib, file string
		cfg       load.Config
	}{
		{"wsapi", "wsapi-echo-32B.pprof", load.Config{Mode: "echo", Path: "/echo", Conns: 64, Size: 32, Warmup: 200 * time.Millisecond, Duration: secs*time.Second + 300*time.Millisecond}},
		{"wsapi", "wsapi-echo-16KiB.pprof", load.Config{Mode: "echo", Path: "/echo", Conns: 512, Size: 16 << 10, Binary: true, Warmup: 200 * time.Millisecond, Duration: secs*time.Second + 300*time.Millisecond}},
		{"wsapi", "wsapi-func-echo-16KiB.pprof", load.Config{Mode: "echo", Path: "/echo-func", Conns: 512, Size: 16 << 10, Binary: true, Warmup: 200 * time.Millisecond, Duration: secs*time.Second + 300*time.Millisecond}},
		{"gws", "gws-echo-16KiB.pprof", load.Config{Mode: "echo", Path: "/echo", Conns: 512, Size: 16 << 10, Binary: true, Warmup: 200 * time.Millisecond, Duration: secs*time.Second + 300*time.Millisecond}},
		{"wsapi", "wsapi-hs.pprof", load.Config{Mode: "hs", Path: hsPath, Workers: r.opts.HSWorkers, Warmup: 200 * time.Millisecond, Duration: secs*time.Second + 300*time.Millisecond}},
		{"wsapi", "wsapi-bare-hs.pprof", load.Config{Mode: "hs", Path: "/hsbare", Workers: r.opts.HSWorkers, Warmup: 200 * time.Millisecond, Duration: secs*time.Second + 300*time.Millisecond}},
		{"gobwas-http", "gobwas-http-hs.pprof", load.Config{Mode: "hs", Path: "/hsbare", Workers: r.opts.HSWorkers, Warmup: 200 * time.Millisecond, Duration: secs*time.Second + 300*time.Millisecond}},
	}
	for _, run := range runs {
		s, err := r.startServer(run.lib)
		if err != nil {
			return err
		}
		cfg := run.cfg
		cfg.Addr, cfg.Debug, cfg.PID = s.addr, s.debug, s.pid
		errc := make(chan error, 1)
		go func() { _, err := r.runLoad(cfg); errc <- err }()
		time.Sleep(300 * time.Millisecond)
		perr := fetchProfile(s.debug, secs, filepath.Join(r.opts.Out, run.file))
		lerr := <-errc
		s.stop()
		if perr != nil {
			return perr
		}
		if lerr != nil {
			return lerr
		}
		r.progress("bench: wrote %s", filepath.Join(r.opts.Out, run.file))
	}
	return nil
}

func fetchProfile(debug string, secs int, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debug, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
