package orch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/wsapi-go/wsapi/bench/internal/load"
)

// children tracks every process the orchestrator started, by PID, so that
// each is killed at the end, on error and on Ctrl-C.
type children struct {
	mu sync.Mutex
	m  map[int]*exec.Cmd
}

var kids = &children{m: map[int]*exec.Cmd{}}

func (k *children) add(c *exec.Cmd) {
	k.mu.Lock()
	k.m[c.Process.Pid] = c
	k.mu.Unlock()
}

func (k *children) remove(c *exec.Cmd) {
	k.mu.Lock()
	delete(k.m, c.Process.Pid)
	k.mu.Unlock()
}

// KillAll kills every child still running, each by its PID. It does not
// reap them: the goroutine that started each one waits for it (a second
// Wait on an exec.Cmd would block), and on exit init reaps the rest.
func KillAll() int {
	kids.mu.Lock()
	defer kids.mu.Unlock()
	n := 0
	for _, c := range kids.m {
		if c.Process.Kill() == nil {
			n++
		}
	}
	return n
}

// command builds a child command pinned to cpu (with taskset, which execs
// the program, so the PID is the program's), or unpinned when cpu < 0.
// The child is also killed by the kernel if the orchestrator dies.
func (r *runner) command(ctx context.Context, cpu int, args ...string) *exec.Cmd {
	full := append([]string{r.self}, args...)
	if cpu >= 0 && r.taskset != "" {
		full = append([]string{r.taskset, "-c", fmt.Sprint(cpu)}, full...)
	}
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	setDeathSignal(cmd)
	return cmd
}

// server is a running contender process.
type server struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	pid   int
	addr  string // WebSocket host:port
	debug string // debug host:port
}

func (r *runner) startServer(name string) (*server, error) {
	// Not bound to a context: the server lives until its stop method.
	cmd := r.command(context.Background(), r.serverCPU, "server", "-lib", name)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = r.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	kids.add(cmd)
	s := &server{name: name, cmd: cmd, stdin: stdin, pid: cmd.Process.Pid}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "READY" {
			s.stop()
			return nil, fmt.Errorf("server %s: unexpected first line %q (see %s)", name, l, r.logPath)
		}
		s.addr, s.debug = f[1], f[2]
	case <-time.After(20 * time.Second):
		s.stop()
		return nil, fmt.Errorf("server %s did not start in 20s", name)
	}
	return s, nil
}

// stop closes the server's stdin, which ends it, and kills it by PID if it
// lingers.
func (s *server) stop() {
	s.stdin.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	kids.remove(s.cmd)
}

// runLoad runs the load generator once, pinned to its core, and returns
// its figures.
func (r *runner) runLoad(cfg load.Config) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"load",
		"-mode", cfg.Mode, "-addr", cfg.Addr, "-debug", cfg.Debug, "-pid", fmt.Sprint(cfg.PID),
		"-path", cfg.Path, "-conns", fmt.Sprint(cfg.Conns), "-size", fmt.Sprint(cfg.Size),
		fmt.Sprintf("-binary=%v", cfg.Binary), "-messages", fmt.Sprint(cfg.Messages),
		"-workers", fmt.Sprint(cfg.Workers), "-warmup", cfg.Warmup.String(),
		"-duration", cfg.Duration.String(), "-settle", cfg.Settle.String(),
	}
	if cfg.Timeout > 0 {
		args = append(args, "-timeout", cfg.Timeout.String())
	}
	cmd := r.command(ctx, r.loadCPU, args...)
	cmd.Stderr = r.log
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	kids.add(cmd)
	werr := cmd.Wait()
	kids.remove(cmd)
	var res load.Result
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		if werr == nil {
			werr = err
		}
		return nil, fmt.Errorf("load %s: %v (output %q)", cfg.Mode, werr, out.String())
	}
	if res.Error != "" {
		return res.Metrics, errors.New(res.Error)
	}
	return res.Metrics, nil
}

func lookTaskset() string {
	p, err := exec.LookPath("taskset")
	if err != nil {
		return ""
	}
	return p
}
