package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi/wsapitest"
)

// TestMetricsEndpoint: /metrics serves wsapi's metrics in Prometheus's
// text format, labelled with the route's pattern.
func TestMetricsEndpoint(t *testing.T) {
	tel, err := newTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.provider.Shutdown(context.Background()) })
	c := wsapitest.New(t, newMux(newApp(tel.Observer), tel.Metrics), nil)
	ws := c.Connect("/api/ws", nil)
	ws.ReceiveText()
	ws.SendText("hi")
	ws.ReceiveText()
	body, _ := io.ReadAll(c.Get("/metrics").Body)
	for _, want := range []string{
		`# TYPE wsapi_server_active_connections gauge`,
		`# TYPE wsapi_server_handshakes_total counter`,
		`wsapi_server_active_connections{http_route="/ws",`,
		`wsapi_server_handshakes_total{http_response_status_code="101",http_route="/ws",`,
		`wsapi_server_messages_total{http_route="/ws",network_io_direction="receive",`,
		`wsapi_server_io_bytes_total{http_route="/ws",network_io_direction="transmit",`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	ws.Close()
}

// TestPrometheusScrapesTheExample runs the example on a loopback port, a
// real Prometheus server scraping its /metrics every second, drives
// connections, messages, a refusal and a broadcast, and asks Prometheus's
// HTTP API for the series they made. Without the prometheus binary it
// skips, unless WSAPI_CI=1, where it fails.
func TestPrometheusScrapesTheExample(t *testing.T) {
	bin := prometheusBinary(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	wsURL := regexp.MustCompile(`ws://\S+/api/ws`).FindString(line)
	wsURL = strings.Replace(wsURL, "//localhost:", "//127.0.0.1:", 1)
	host := strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws://"), "/api/ws")

	prom := startPrometheus(t, bin, host)

	// Three connections on /ws, each sending two messages.
	const conns, perConn = 3, 2
	var open []*wsapitest.Conn
	for range conns {
		ws, err := wsapitest.DialURL(t, wsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		ws.ReceiveText() // hello
		for range perConn {
			ws.SendText("ping")
			ws.ReceiveText()
		}
		open = append(open, ws)
	}
	// A refusal: a page on another origin.
	_, err = wsapitest.DialURL(t, wsURL, &wsapitest.DialOptions{Header: http.Header{"Origin": {"https://attacker.example"}}})
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Fatalf("the other origin's handshake: %v", err)
	}
	// Two clients in the room; one broadcast reaches both.
	roomURL := strings.TrimSuffix(wsURL, "/ws") + "/room"
	a, err := wsapitest.DialURL(t, roomURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wsapitest.DialURL(t, roomURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	prom.waitFor(t, "both room clients connected", `sum(wsapi_server_active_connections)`, "5")
	a.SendText("hello room")
	for _, ws := range []*wsapitest.Conn{a, b} {
		if got := ws.ReceiveText(); got != "hello room" {
			t.Fatalf("room: got %q", got)
		}
	}
	for _, ws := range append(open, a, b) {
		ws.Close()
	}

	// What the test did, as Prometheus sees it.
	checks := []struct{ what, query, want string }{
		{"accepted handshakes on /ws", `sum(wsapi_server_handshakes_total{http_route="/ws",wsapi_handshake_outcome="accepted",http_response_status_code="101"})`, "3"},
		{"refused handshakes", `sum(wsapi_server_handshakes_total{wsapi_handshake_outcome="refused",http_response_status_code="403"})`, "1"},
		{"messages received on /ws", `sum(wsapi_server_messages_total{http_route="/ws",network_io_direction="receive"})`, "6"},
		{"bytes received on /ws", `sum(wsapi_server_io_bytes_total{http_route="/ws",network_io_direction="receive"})`, "24"},
		{"messages sent on /ws (hello and answers)", `sum(wsapi_server_messages_total{http_route="/ws",network_io_direction="transmit"})`, "9"},
		{"active connections after the close", `sum(wsapi_server_active_connections)`, "0"},
		{"connections ended with 1000", `sum(wsapi_server_connection_duration_seconds_count{wsapi_close_code="1000"})`, "5"},
		{"broadcasts", `sum(wsapi_manager_broadcasts_total)`, "1"},
		{"broadcast deliveries", `sum(wsapi_manager_deliveries_total{wsapi_delivery_outcome="delivered"})`, "2"},
		{"slow-client drops", `sum(wsapi_manager_deliveries_total{wsapi_delivery_outcome=~"dropped|overflowed"})`, "0"},
		{"handshake durations recorded", `sum(wsapi_server_handshake_duration_seconds_count)`, "6"},
	}
	for _, c := range checks {
		prom.waitFor(t, c.what, c.query, c.want)
	}
	// The series themselves, and a quantile of the connections' durations
	// (over all time: rate() needs a longer run than this test's).
	for _, q := range []string{
		`wsapi_server_handshakes_total`,
		`wsapi_manager_deliveries_total`,
		`histogram_quantile(0.99, sum by (le, http_route) (wsapi_server_connection_duration_seconds_bucket))`,
	} {
		res, err := prom.query(q)
		if err != nil || len(res) == 0 {
			t.Errorf("%s: %v, %d series", q, err, len(res))
			continue
		}
		t.Logf("%s:\n%s", q, formatResult(res))
	}
	// Every query of the observability guide and of its dashboard parses
	// and runs.
	queries := docQueries(t)
	for _, q := range queries {
		if _, err := prom.query(q); err != nil {
			t.Errorf("a query of the docs fails: %s: %v", q, err)
		}
	}
	t.Logf("%d queries of the docs and the dashboard run", len(queries))
}

// docQueries returns the PromQL of the observability guides' promql
// blocks and of the dashboard's panels, with the dashboard's variables
// replaced by values Prometheus takes.
func docQueries(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, page := range []string{"../../docs/guides/observability.md", "../../docs/es/guides/observability.md"} {
		src, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range regexp.MustCompile("(?s)```promql\n(.*?)```").FindAllStringSubmatch(string(src), -1) {
			out = append(out, m[1])
			n++
		}
		if n < 10 {
			t.Errorf("%s: %d promql blocks", page, n)
		}
	}
	src, err := os.ReadFile("../../docs/guides/observability-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(src, &dash); err != nil {
		t.Fatalf("the dashboard is not valid JSON: %v", err)
	}
	vars := strings.NewReplacer("$__rate_interval", "1m", "$job", ".*", "$route", ".*")
	n := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			out = append(out, vars.Replace(target.Expr))
			n++
		}
	}
	if n < 10 {
		t.Errorf("the dashboard has %d queries", n)
	}
	return out
}

// prometheusBinary finds the prometheus binary, or skips (fails under
// WSAPI_CI=1).
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		msg := "prometheus is not installed (Debian: apt-get install -y prometheus); the scrape test needs it"
		if os.Getenv("WSAPI_CI") == "1" {
			t.Fatalf("%s, and WSAPI_CI=1 forbids skipping it", msg)
		}
		t.Skip(msg)
	}
	return bin
}

// promServer is a prometheus process of the test's own.
type promServer struct {
	base string // http://127.0.0.1:PORT
	out  *syncBuffer
}

// startPrometheus runs prometheus on a free loopback port, scraping
// target's /metrics every second, with its storage in a temporary
// directory, and kills it by its PID when the test ends.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: wsapi-production
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, target)
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	p := &promServer{base: "http://" + addr, out: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", p.out)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("prometheus exited at start:\n%s", p.out)
		default:
		}
		resp, err := http.Get(p.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus on %s not ready within 30s: %v\n%s", addr, err, p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	version, _ := exec.Command(bin, "--version").CombinedOutput()
	t.Logf("%s on %s scraping http://%s/metrics", strings.SplitN(string(version), "\n", 2)[0], addr, target)
	return p
}

// freeAddr returns a loopback host:port that nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// sample is one series of an instant query's result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix time, "value"]
}

func (s sample) value() string { v, _ := s.Value[1].(string); return v }

// query runs an instant query through /api/v1/query.
func (p *promServer) query(q string) ([]sample, error) {
	resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", body.Status, body.Error)
	}
	return body.Data.Result, nil
}

// waitFor polls q (a query of one series) until its value is want, for up
// to 30 s: the scrapes come every second.
func (p *promServer) waitFor(t *testing.T, what, q, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := p.query(q)
		got := "(no series)"
		if err != nil {
			got = err.Error()
		} else if len(res) == 1 {
			got = res[0].value()
			if got == want {
				t.Logf("%-42s %s = %s", what, q, got)
				return
			}
		} else if len(res) > 1 {
			got = formatResult(res)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s = %s, want %s", what, q, got, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func formatResult(res []sample) string {
	var lines []string
	for _, s := range res {
		var labels []string
		for k, v := range s.Metric {
			if strings.HasPrefix(k, "otel_scope_") || k == "job" || k == "instance" || k == "__name__" {
				continue
			}
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		lines = append(lines, fmt.Sprintf("  {%s} %s", strings.Join(labels, ","), s.value()))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// syncBuffer collects a process's output; it is safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
