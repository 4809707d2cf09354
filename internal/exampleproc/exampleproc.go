// Package exampleproc runs the example programs as real processes, for the
// tests that check them from outside (internal/e2e, internal/interop): the
// examples are package main, which no test can import, and running the
// built binary is also what a user does.
package exampleproc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// binDir holds the example binaries, built once per test process.
var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// Cleanup removes the built binaries; call it from TestMain after m.Run.
func Cleanup() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// examplesDir finds the examples module by walking up from the test's
// working directory.
func examplesDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "examples", "go.mod")); err == nil {
			return filepath.Join(dir, "examples")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find examples/go.mod above the working directory")
		}
		dir = parent
	}
}

var builds sync.Map // example name -> *binary

type binary struct {
	once sync.Once
	path string
	err  error
}

// buildExample builds github.com/wsapi-go/wsapi/examples/<name> with the race
// detector, so a data race in wsapi under a real client makes the server
// exit non-zero (66), which stopExample reports.
func build(t testing.TB, name string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, new(binary))
	b := v.(*binary)
	binOnce.Do(func() { binDir, binErr = os.MkdirTemp("", "wsapi-examples-bin-") })
	if binErr != nil {
		t.Fatal(binErr)
	}
	b.once.Do(func() {
		b.path = filepath.Join(binDir, name)
		start := time.Now()
		cmd := exec.Command("go", "build", "-race", "-o", b.path, "github.com/wsapi-go/wsapi/examples/"+name)
		cmd.Dir = examplesDir(t)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build examples/%s: %v\n%s", name, err, out)
		}
		t.Logf("built examples/%s in %v", name, time.Since(start).Round(time.Millisecond))
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Buffer collects a process's output while it runs; it is safe for
// concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Example is one running example program.
type Example struct {
	t      testing.TB
	name   string
	URL    string // the URL it printed, with localhost replaced by 127.0.0.1
	cmd    *exec.Cmd
	stderr *Buffer
	exited chan struct{}
	err    error // the exit error, once exited is closed

	stopOnce    sync.Once
	interrupted atomic.Bool
	waited      atomic.Bool
}

var urlRE = regexp.MustCompile(`\b(?:https?|wss?)://\S+`)

// StartURL builds and starts examples/<name> on 127.0.0.1:0 (args are
// passed after "-addr 127.0.0.1:0"), waits for the URL it prints, and stops
// it with SIGINT when the test ends, failing the test if it does not exit
// cleanly. It returns that URL, such as "http://127.0.0.1:PORT/".
func StartURL(t testing.TB, name string, args ...string) (baseURL string) {
	t.Helper()
	return Start(t, name, args...).URL
}

// Start is StartURL returning the running program, for tests that stop it
// themselves (Interrupt, Wait, Stop).
func Start(t testing.TB, name string, args ...string) *Example {
	t.Helper()
	bin := build(t, name)
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	// No 1 s pause at exit (the race detector's default); a race still
	// makes the program exit with 66.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	e := &Example{t: t, name: name, cmd: cmd, stderr: new(Buffer), exited: make(chan struct{})}
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		e.err = cmd.Wait()
		close(e.exited)
	}()
	t.Cleanup(func() { e.Stop() })

	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		io.Copy(io.Discard, r)
	}()
	select {
	case line := <-lines:
		u := urlRE.FindString(line)
		if u == "" {
			t.Fatalf("examples/%s printed no URL: %q (stderr: %s)", name, line, e.stderr)
		}
		e.URL = strings.Replace(u, "//localhost:", "//127.0.0.1:", 1)
	case <-time.After(15 * time.Second):
		t.Fatalf("examples/%s printed nothing in 15s (stderr: %s)", name, e.stderr)
	}
	return e
}

// Interrupt sends SIGINT, as Ctrl-C does.
func (e *Example) Interrupt() {
	e.t.Helper()
	e.interrupted.Store(true)
	if err := e.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		e.t.Errorf("SIGINT examples/%s: %v", e.name, err)
	}
}

// Wait waits for the process to exit and reports a non-zero exit (a failed
// shutdown, or 66 for a data race found by the race detector).
// Only the first call waits and reports.
func (e *Example) Wait(timeout time.Duration) {
	e.t.Helper()
	if e.waited.Swap(true) {
		<-e.exited
		return
	}
	select {
	case <-e.exited:
	case <-time.After(timeout):
		e.cmd.Process.Signal(syscall.SIGKILL)
		<-e.exited
		e.t.Errorf("examples/%s did not exit within %v of SIGINT; killed (stderr: %s)", e.name, timeout, e.stderr)
		return
	}
	if e.err != nil {
		e.t.Errorf("examples/%s exited with %v; stderr:\n%s", e.name, e.err, e.stderr)
	}
}

// Stop interrupts the process (unless interrupt was called) and waits for it
// to exit, once.
func (e *Example) Stop() {
	e.stopOnce.Do(func() {
		if !e.interrupted.Load() {
			e.Interrupt()
		}
		e.Wait(15 * time.Second)
	})
}

// WSURL is the example's base URL with the ws scheme, ending in "/".
func (e *Example) WSURL() string {
	u := strings.Replace(e.URL, "http://", "ws://", 1)
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}
