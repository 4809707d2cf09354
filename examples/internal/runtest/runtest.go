// Package runtest runs an example program's run function as its main does,
// for the examples' tests: on a loopback port, until the test stops it as
// Ctrl-C would.
package runtest

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Program is an example's run function: it serves until ctx is done,
// printing the URL to open on out.
type Program func(ctx context.Context, args []string, out io.Writer) error

// Running is a program started by Start.
type Running struct {
	// WS is the program's base URL with the ws scheme, such as
	// "ws://localhost:41234/".
	WS     string
	cancel context.CancelFunc
	done   chan error
}

var urlRE = regexp.MustCompile(`http://\S+/`)

// Start runs p with "-addr 127.0.0.1:0" followed by args, and waits for the
// URL it prints. The program is stopped, and awaited, when the test ends.
func Start(t testing.TB, p Program, args ...string) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &Running{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := p(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.Close()
		r.done <- err
	}()
	t.Cleanup(func() {
		r.Stop()
		if err := r.Wait(); err != nil {
			t.Errorf("runtest: the program: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("runtest: the program printed no URL: %v", err)
	}
	go io.Copy(io.Discard, pr)
	u := urlRE.FindString(line)
	if u == "" {
		t.Fatalf("runtest: no URL in %q", line)
	}
	r.WS = "ws" + strings.TrimPrefix(u, "http")
	return r
}

// Stop cancels the program's context, as SIGINT does in main.
func (r *Running) Stop() { r.cancel() }

// Wait waits up to ten seconds for the program to return, and returns its
// error. It returns the same result when called again.
func (r *Running) Wait() error {
	select {
	case err := <-r.done:
		r.done <- err // for the next caller
		return err
	case <-time.After(10 * time.Second):
		return context.DeadlineExceeded
	}
}
