package interop

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi/internal/exampleproc"
)

// skipOrFail skips the test, or fails it when WSAPI_CI=1 (CI must have
// every tool the tests need).
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("WSAPI_CI") == "1" {
		t.Fatalf(format+" (WSAPI_CI=1: failing instead of skipping)", args...)
	}
	t.Skipf(format, args...)
}

// nodeClient finds node and makes sure node/node_modules holds the ws
// package, running npm ci when it does not. It returns node's path and the
// client script's directory.
func nodeClient(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node not found in PATH: install Node.js (>= 18) to run Node's ws client")
	}
	dir, err = filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ws", "package.json")); err == nil {
		return node, dir
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		skipOrFail(t, "the ws package is not installed in %s/node_modules and npm is not in PATH (run npm ci there)", dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		skipOrFail(t, "npm ci in %s failed (%v), so the ws package is missing:\n%s", dir, err, out)
	}
	t.Logf("npm ci in %s took %v", dir, time.Since(start).Round(time.Millisecond))
	return node, dir
}

// TestNodeWS runs node/client.mjs (Node's ws package) against the echo,
// items, chat and autobahn examples: echo round trips and a 1001 close, items
// with token, cookie, both, and neither (403 + JSON), the chat transcript,
// and autobahn with permessage-deflate on text, binary and 1 MiB messages.
func TestNodeWS(t *testing.T) {
	node, dir := nodeClient(t)
	echo := exampleproc.Start(t, "echo")
	deps := exampleproc.Start(t, "items")
	chat := exampleproc.Start(t, "chat")
	autobahn := exampleproc.Start(t, "autobahn")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs",
		"echo="+echo.WSURL(), "deps="+deps.WSURL(), "chat="+chat.WSURL(), "autobahn="+autobahn.URL)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("node client.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("node client.mjs: %v", err)
	}
}

// TestNodeWSServerShutdown: a ws client connected to the echo example sees
// the server close with 1001 when the example gets SIGINT.
func TestNodeWSServerShutdown(t *testing.T) {
	node, dir := nodeClient(t)
	srv := exampleproc.Start(t, "echo")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", "shutdown="+srv.WSURL())
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr exampleproc.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == "ready" {
			srv.Interrupt()
		}
	}
	err = cmd.Wait()
	t.Logf("node client.mjs:\n%s\n%s", strings.Join(lines, "\n"), stderr.String())
	if err != nil {
		t.Fatalf("node client.mjs shutdown: %v", err)
	}
	srv.Stop()
}
