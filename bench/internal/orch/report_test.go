package orch

import (
	"encoding/json"
	"encoding/xml"
	"math"
	"strings"
	"testing"
	"time"
)

func fakeRunner() *runner {
	r := &runner{opts: Options{Rounds: 3, Contenders: []string{"wsapi", "gorilla", "gws", "epoll"}}, started: time.Now()}
	// Round-by-round figures: gorilla is 0.5×, 0.8×, 0.6× wsapi.
	ws := []float64{100, 200, 150}
	gor := []float64{50, 160, 90}
	for round := range 3 {
		r.samples = append(r.samples,
			Sample{Scenario: "echo", Cell: "64 × 32 B text", Contender: "wsapi", Round: round, Metrics: map[string]float64{"msgs_per_cpu_s": ws[round], "server_reads_per_msg": 2, "server_writes_per_msg": 1}},
			Sample{Scenario: "echo", Cell: "64 × 32 B text", Contender: "gorilla", Round: round, Metrics: map[string]float64{"msgs_per_cpu_s": gor[round]}},
			Sample{Scenario: "echo", Cell: "64 × 32 B text", Contender: "gws", Round: round, Metrics: map[string]float64{"msgs_per_cpu_s": 100}},
			Sample{Scenario: "idle", Cell: "10 idle connections", Contender: "wsapi", Round: round, Metrics: map[string]float64{"rss_per_conn_kib": 3}},
			Sample{Scenario: "idle", Cell: "10 idle connections", Contender: "gorilla", Round: round, Metrics: map[string]float64{"rss_per_conn_kib": 12}},
		)
	}
	r.samples = append(r.samples, Sample{Scenario: "echo", Cell: "64 × 32 B text", Contender: "epoll", Round: 0, Error: "boom"})
	return r
}

func TestReport(t *testing.T) {
	rep := fakeRunner().report()
	if got, ok := rep.Ratio("echo", "64 × 32 B text", "msgs_per_cpu_s", "gorilla", "wsapi"); !ok || math.Abs(got-0.6) > 1e-9 {
		t.Fatalf("median ratio = %v, %v; want 0.6", got, ok)
	}
	if got, _ := rep.Median("echo", "64 × 32 B text", "msgs_per_cpu_s", "gorilla"); got != 90 {
		t.Fatalf("median = %v, want 90", got)
	}
	md := rep.Markdown()
	for _, want := range []string{
		"| 64 × 32 B text | 150 | 90 (0.60) | 100 (0.67) | error |",
		"| 10 idle connections | 3.0 | 12.0 (4.00) |",
		"| 64 × 32 B text | 2.0 / 1.0 |",
		"idle RSS per connection ≤ 5 KiB (the goal: 4 KiB) | 3.0 KiB",
		"| 64 × 32 B text | 1.50 | yes | – | | – | – |", // wsapi ÷ gws; no wsapi-func, no ceiling
		"- echo, 64 × 32 B text, epoll, round 1: boom",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	var v map[string]any
	if err := json.Unmarshal(rep.JSON(), &v); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	dec := xml.NewDecoder(strings.NewReader(rep.SVG()))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			break
		}
	}
}

func TestRotate(t *testing.T) {
	if got := rotate([]string{"a", "b", "c"}, 4); strings.Join(got, "") != "bca" {
		t.Fatalf("rotate = %v", got)
	}
}

// TestAgainstGobwas checks that every figure is also divided by each gobwas
// form, and that the handshake target names both.
func TestAgainstGobwas(t *testing.T) {
	r := &runner{opts: Options{Rounds: 1, Contenders: []string{"wsapi", "gobwas-http", "gobwas-zc"}}, started: time.Now()}
	for c, v := range map[string]float64{"wsapi": 120, "gobwas-http": 100, "gobwas-zc": 150} {
		r.samples = append(r.samples, Sample{Scenario: "hs", Cell: "dial, handshake, close", Contender: c, Metrics: map[string]float64{"conns_per_cpu_s": v}})
	}
	md := r.report().Markdown()
	for _, want := range []string{
		"| conns_per_cpu_s | dial, handshake, close | 1.20 / 0.80 | 1.00 / 0.67 | 1.50 / 1.00 |",
		"per CPU-s ≥ 0.9× bare gobwas-http | 1.20× | yes |",
		"per CPU-s ≥ 0.9× bare gobwas-zc | 0.80× | **no** |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| conns_per_s |") {
		t.Errorf("a figure nobody measured has a row against gobwas:\n%s", md)
	}
}

// TestBurstReport checks the burst's flags: an incomplete burst says so,
// and the close codes are listed.
func TestBurstReport(t *testing.T) {
	r := &runner{opts: Options{Rounds: 2, Contenders: []string{"wsapi", "gws"}}, started: time.Now()}
	const cell = "10 clients × 5 msgs of 32 B"
	for round := range 2 {
		r.samples = append(r.samples,
			Sample{Scenario: "burst", Cell: cell, Contender: "wsapi", Round: round, Metrics: map[string]float64{
				"burst_ms": 100, "complete": float64(round), "missing": float64(40 * (1 - round)), "clients_closed": float64(2 * (1 - round)), "closed_1013": 2}},
			Sample{Scenario: "burst", Cell: cell, Contender: "gws", Round: round, Metrics: map[string]float64{
				"burst_ms": 50, "complete": 1, "missing": 0, "clients_closed": 0}},
		)
	}
	md := r.report().Markdown()
	for _, want := range []string{
		"| " + cell + " | 100 (incomplete in 1 of 2) | 50 (0.50) |",
		"| " + cell + " | 20 | 0 |",
		"wsapi: 2 × 1013; gws: none.",
		"completes with the Manager's defaults | 1 of 2 rounds; median 20 deliveries missing, 1 clients closed | **no** |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
