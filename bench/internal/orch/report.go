package orch

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// Sample is one measurement: one contender, one cell, one round.
type Sample struct {
	Scenario  string             `json:"scenario"`
	Cell      string             `json:"cell"`
	Contender string             `json:"contender"`
	Round     int                `json:"round"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Error     string             `json:"error,omitempty"`
}

type metricDef struct {
	Scenario string `json:"scenario"`
	Key      string `json:"key"`
	Title    string `json:"title"`
	Unit     string `json:"unit"`
	Higher   bool   `json:"higher_is_better"`
	decimals int
	// Pair, when set, is shown beside Key as "key / pair", without ratios:
	// a diagnostic, such as read and write system calls.
	Pair string `json:"pair,omitempty"`
	// NoRatio shows the medians only: a count, such as missing deliveries,
	// whose ratio would mean little.
	NoRatio bool `json:"no_ratio,omitempty"`
	// Flag names a 0/1 figure of the same samples; a cell where it is 0 in
	// some rounds says so, such as a burst that did not complete.
	Flag string `json:"flag,omitempty"`
}

// ratios says whether the figure is shown with ratios.
func (md metricDef) ratios() bool {
	return md.Pair == "" && !md.NoRatio && !strings.Contains(md.Title, "diagnostic")
}

var metricDefs = []metricDef{
	{"echo", "msgs_per_cpu_s", "Echo: messages per second of server CPU time", "msgs/CPU-s", true, 0, "", false, ""},
	{"echo", "msgs_per_s", "Echo: messages per second (wall clock)", "msgs/s", true, 0, "", false, ""},
	{"echo", "p50_us", "Echo: p50 latency", "µs", false, 0, "", false, ""},
	{"echo", "p99_us", "Echo: p99 latency", "µs", false, 0, "", false, ""},
	{"echo", "server_reads_per_msg", "Echo: server read / write system calls per message (diagnostic)", "", false, 1, "server_writes_per_msg", false, ""},
	{"typed", "msgs_per_cpu_s", "Typed: messages per second of server CPU time", "msgs/CPU-s", true, 0, "", false, ""},
	{"typed", "msgs_per_s", "Typed: messages per second (wall clock)", "msgs/s", true, 0, "", false, ""},
	{"typed", "p50_us", "Typed: p50 latency", "µs", false, 0, "", false, ""},
	{"typed", "p99_us", "Typed: p99 latency", "µs", false, 0, "", false, ""},
	{"typed", "server_reads_per_msg", "Typed: server read / write system calls per message (diagnostic)", "", false, 1, "server_writes_per_msg", false, ""},
	{"hs", "conns_per_cpu_s", "Handshake: connections per second of server CPU time", "conns/CPU-s", true, 0, "", false, ""},
	{"hs", "conns_per_s", "Handshake: connections per second (wall clock)", "conns/s", true, 0, "", false, ""},
	{"hs", "server_reads_per_conn", "Handshake: server read / write system calls per connection (diagnostic)", "", false, 1, "server_writes_per_conn", false, ""},
	{"idle", "rss_per_conn_kib", "Idle: server RSS per connection (after GC and FreeOSMemory)", "KiB", false, 1, "", false, ""},
	{"idle", "rss_gc_per_conn_kib", "Idle: server RSS per connection (after GC only)", "KiB", false, 1, "", false, ""},
	{"idle", "heap_stack_per_conn_kib", "Idle: Go heap + stacks in use per connection", "KiB", false, 1, "", false, ""},
	{"idle", "goroutines_per_conn", "Idle: goroutines per connection (diagnostic)", "", false, 2, "", false, ""},
	{"bcast", "deliveries_per_cpu_s", "Broadcast: deliveries per second of server CPU time", "deliveries/CPU-s", true, 0, "", false, ""},
	{"bcast", "deliveries_per_s", "Broadcast: deliveries per second until every client has every message", "deliveries/s", true, 0, "", false, ""},
	{"bcast", "server_writes_per_delivery", "Broadcast: server write system calls per delivery (diagnostic: below 1 when frames are coalesced)", "", false, 2, "", false, ""},
	{"burst", "burst_ms", "Burst: time until every client has every broadcast (when some never arrive: until the last delivery)", "ms", false, 0, "", false, "complete"},
	{"burst", "missing", "Burst: deliveries missing", "", false, -1, "", true, ""},
	{"burst", "clients_closed", "Burst: clients the server closed", "", false, -1, "", true, ""},
	{"burst", "deliveries_per_cpu_s", "Burst: deliveries per second of server CPU time", "deliveries/CPU-s", true, 0, "", false, ""},
	{"burst", "server_writes_per_delivery", "Burst: server write system calls per delivery (diagnostic)", "", false, 2, "", false, ""},
}

var scenarioTitles = map[string]string{
	"echo":  "Echo",
	"typed": "Typed messages",
	"hs":    "Handshake",
	"idle":  "Idle connections",
	"bcast": "Broadcast",
	"burst": "Chat burst",
}

// Row is one summarized figure.
type Row struct {
	Scenario  string  `json:"scenario"`
	Metric    string  `json:"metric"`
	Cell      string  `json:"cell"`
	Contender string  `json:"contender"`
	Median    float64 `json:"median"`
	// Ratio is the median over rounds of this contender's figure divided
	// by wsapi's in the same round; absent when it cannot be computed.
	Ratio  *float64 `json:"ratio_to_wsapi,omitempty"`
	Rounds int      `json:"rounds"`
	Errors int      `json:"errors,omitempty"`
}

// Report is everything a run measured.
type Report struct {
	Meta       map[string]any      `json:"meta"`
	Metrics    []metricDef         `json:"metrics"`
	Contenders map[string][]string `json:"contenders"`
	Cells      map[string][]string `json:"cells"`
	Rows       []Row               `json:"summary"`
	Samples    []Sample            `json:"samples"`

	idx map[string]map[int]map[string]float64 // scenario|cell|contender -> round -> metrics
}

func key(scenario, cell, contender string) string { return scenario + "|" + cell + "|" + contender }

func (r *runner) report() *Report {
	host, _ := os.Hostname()
	meta := map[string]any{
		"date":        time.Now().UTC().Format(time.RFC3339),
		"command":     r.opts.CommandLine,
		"go":          goInfo(),
		"cpu":         cpuModel(),
		"host":        host,
		"rounds":      r.opts.Rounds,
		"pinned":      r.taskset != "",
		"server_cpu":  r.serverCPU,
		"load_cpu":    r.loadCPU,
		"echo":        fmt.Sprintf("warmup %v, window %v per run", r.opts.EchoWarmup, r.opts.EchoDur),
		"handshake":   fmt.Sprintf("%d concurrent clients, window %v per run", r.opts.HSWorkers, r.opts.HSDur),
		"wall_time_s": math.Round(time.Since(r.started).Seconds()),
		"core":        coreInfo(),
		"note":        r.opts.Note,
		"contenders":  r.opts.Contenders,
	}
	return newReport(meta, r.samples, r.opts.Contenders)
}

// newReport summarizes samples; order lists the contenders in the order of
// the columns (wsapi first).
func newReport(meta map[string]any, samples []Sample, order []string) *Report {
	rep := &Report{
		Meta:       meta,
		Metrics:    metricDefs,
		Contenders: map[string][]string{},
		Cells:      map[string][]string{},
		Samples:    samples,
	}
	for _, s := range samples {
		if !slices.Contains(rep.Contenders[s.Scenario], s.Contender) {
			rep.Contenders[s.Scenario] = append(rep.Contenders[s.Scenario], s.Contender)
		}
		if !slices.Contains(rep.Cells[s.Scenario], s.Cell) {
			rep.Cells[s.Scenario] = append(rep.Cells[s.Scenario], s.Cell)
		}
	}
	// Contenders in the order of the flag (wsapi first), not of the runs.
	order = append([]string{"wsapi", "wsapi-func", "wsapi-bare"}, order...)
	for sc, cs := range rep.Contenders {
		sort.SliceStable(cs, func(i, j int) bool { return slices.Index(order, cs[i]) < slices.Index(order, cs[j]) })
		rep.Contenders[sc] = cs
	}
	rep.index()
	for _, md := range metricDefs {
		for _, cell := range rep.Cells[md.Scenario] {
			for _, c := range rep.Contenders[md.Scenario] {
				vals, errs := rep.values(md.Scenario, cell, c, md.Key)
				if len(vals) == 0 && errs == 0 {
					continue
				}
				row := Row{Scenario: md.Scenario, Metric: md.Key, Cell: cell, Contender: c, Rounds: len(vals), Errors: errs}
				if len(vals) > 0 {
					row.Median = median(vals)
				}
				if ratio, ok := rep.Ratio(md.Scenario, cell, md.Key, c, "wsapi"); ok {
					row.Ratio = &ratio
				}
				rep.Rows = append(rep.Rows, row)
			}
		}
	}
	return rep
}

// LoadReport re-reads a report written by JSON and summarizes its samples
// again, so that the Markdown and the SVG can be redrawn without measuring.
func LoadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var saved struct {
		Meta    map[string]any `json:"meta"`
		Samples []Sample       `json:"samples"`
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var order []string
	if cs, ok := saved.Meta["contenders"].([]any); ok {
		for _, c := range cs {
			if s, ok := c.(string); ok {
				order = append(order, s)
			}
		}
	}
	if len(order) == 0 {
		order = []string{"wsapi", "gorilla", "coder", "gws", "gobwas-http", "gobwas-zc", "gobwas", "epoll"}
	}
	return newReport(saved.Meta, saved.Samples, order), nil
}

func (rep *Report) index() {
	rep.idx = map[string]map[int]map[string]float64{}
	for _, s := range rep.Samples {
		k := key(s.Scenario, s.Cell, s.Contender)
		if rep.idx[k] == nil {
			rep.idx[k] = map[int]map[string]float64{}
		}
		if s.Error == "" {
			rep.idx[k][s.Round] = s.Metrics
		}
	}
}

func (rep *Report) values(scenario, cell, contender, metric string) (vals []float64, errs int) {
	for _, s := range rep.Samples {
		if s.Scenario != scenario || s.Cell != cell || s.Contender != contender {
			continue
		}
		if s.Error != "" {
			errs++
			continue
		}
		if v, ok := s.Metrics[metric]; ok {
			vals = append(vals, v)
		}
	}
	return vals, errs
}

// Median returns the median figure of a contender.
func (rep *Report) Median(scenario, cell, metric, contender string) (float64, bool) {
	vals, _ := rep.values(scenario, cell, contender, metric)
	if len(vals) == 0 {
		return 0, false
	}
	return median(vals), true
}

// Ratio returns the median over rounds of contender's figure divided by
// base's figure in the same round.
func (rep *Report) Ratio(scenario, cell, metric, contender, base string) (float64, bool) {
	cs, bs := rep.idx[key(scenario, cell, contender)], rep.idx[key(scenario, cell, base)]
	var ratios []float64
	for round, m := range cs {
		b, ok := bs[round]
		if !ok {
			continue
		}
		v, ok1 := m[metric]
		bv, ok2 := b[metric]
		if ok1 && ok2 && bv != 0 {
			ratios = append(ratios, v/bv)
		}
	}
	if len(ratios) == 0 {
		return 0, false
	}
	return median(ratios), true
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// JSON returns the machine-readable report.
func (rep *Report) JSON() []byte {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return append(b, '\n')
}

func formatNum(v float64, decimals int) string {
	if math.IsNaN(v) {
		return "–"
	}
	if decimals >= 0 && (decimals > 0 || math.Abs(v) < 10) { // decimals < 0: a whole number
		d := max(decimals, 1)
		if math.Abs(v) < 10 && decimals == 0 {
			d = 2
		}
		return fmt.Sprintf("%.*f", d, v)
	}
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Markdown returns the report as Markdown tables.
func (rep *Report) Markdown() string {
	var b strings.Builder
	m := rep.Meta
	fmt.Fprintf(&b, "# wsapi benchmark\n\n")
	fmt.Fprintf(&b, "- date: %v; wall time %vs; command: `%v`\n", m["date"], m["wall_time_s"], m["command"])
	fmt.Fprintf(&b, "- wsapi built from %v\n", m["core"])
	if n, _ := m["note"].(string); n != "" {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	fmt.Fprintf(&b, "- machine: %v; %v; server pinned to CPU %v, load generator to CPU %v (pinned: %v)\n", m["cpu"], m["go"], m["server_cpu"], m["load_cpu"], m["pinned"])
	fmt.Fprintf(&b, "- %v rounds, contenders interleaved within each round; echo: %v; handshake: %v\n", m["rounds"], m["echo"], m["handshake"])
	fmt.Fprintf(&b, "- each cell: the contender's median over rounds, and in parentheses the median over rounds of its ratio to wsapi in the same round (contender ÷ wsapi: above 1 the peer has more of the figure — better for rates, worse for latency and memory)\n")
	for _, sc := range AllScenarios {
		if len(rep.Cells[sc]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n", scenarioTitles[sc])
		if sc == "typed" {
			b.WriteString("\nEach connection sends `{\"type\":\"echo\",\"text\":\"…\",\"n\":3}` and waits for `{\"type\":\"echoed\",…}`. wsapi: `wsapi.On` handler and `ws.Dispatch` (rate limit off); gws: a hand-written `OnMessage` with encoding/json and go-playground/validator.\n")
		}
		if sc == "burst" {
			b.WriteString("\nEvery client sends its messages at once (one write); each message is broadcast to every client, the sender included. wsapi: a `Manager` with its defaults (`NewManager(nil)`: each client's queue bounded at 1 MiB, closed with 1013 past it); gorilla: the hub of its examples/chat (a 256-message channel per client, dropped when full); gws: a `Broadcaster` per message (gws's write queues are unbounded).\n")
			for _, cell := range rep.Cells[sc] {
				fmt.Fprintf(&b, "\nClose codes the clients received, %s (median over rounds): %s.\n", cell, rep.closeCodes(cell))
			}
		}
		if sc == "hs" {
			b.WriteString("\nwsapi: `wsapi.Route` with a 5-field params struct and one dependency; wsapi-bare: `app.WS`; gobwas-http: bare `ws.UpgradeHTTP` in an `http.Handler`; gobwas-zc: `ws.Upgrader` on the raw `net.Conn`, no net/http; the others: their echo route.\n")
		}
		for _, md := range metricDefs {
			if md.Scenario != sc {
				continue
			}
			dir := "higher is better"
			if !md.Higher {
				dir = "lower is better"
			}
			if !md.ratios() {
				dir = "medians, no ratios"
			}
			unit := ""
			if md.Unit != "" {
				unit = ", " + md.Unit
			}
			fmt.Fprintf(&b, "\n### %s (%s%s)\n\n", md.Title, dir, unit)
			cs := rep.Contenders[sc]
			fmt.Fprintf(&b, "| cell | %s |\n|---|%s\n", strings.Join(cs, " | "), strings.Repeat("---:|", len(cs)))
			for _, cell := range rep.Cells[sc] {
				fmt.Fprintf(&b, "| %s |", cell)
				for _, c := range cs {
					b.WriteString(" " + rep.cellText(sc, cell, md, c) + " |")
				}
				b.WriteString("\n")
			}
		}
	}
	b.WriteString(rep.againstGobwas())
	b.WriteString(rep.targets())
	b.WriteString(rep.sanity())
	if errs := rep.errors(); errs != "" {
		b.WriteString("\n## Errors\n\n" + errs)
	}
	return b.String()
}

func (rep *Report) cellText(sc, cell string, md metricDef, c string) string {
	vals, errs := rep.values(sc, cell, c, md.Key)
	if len(vals) == 0 {
		if errs > 0 {
			return "error"
		}
		return "–"
	}
	s := formatNum(median(vals), md.decimals)
	if md.Pair != "" {
		pv, _ := rep.values(sc, cell, c, md.Pair)
		return s + " / " + formatNum(median(pv), md.decimals)
	}
	if c != "wsapi" && md.ratios() {
		if r, ok := rep.Ratio(sc, cell, md.Key, c, "wsapi"); ok {
			s += fmt.Sprintf(" (%.2f)", r)
		}
	}
	if md.Flag != "" {
		flags, _ := rep.values(sc, cell, c, md.Flag)
		if z := len(flags) - countTrue(flags); z > 0 {
			s += fmt.Sprintf(" (incomplete in %d of %d)", z, len(flags))
		}
	}
	if errs > 0 {
		s += fmt.Sprintf(" [%d err]", errs)
	}
	return s
}

// countTrue counts the non-zero values.
func countTrue(v []float64) int {
	n := 0
	for _, x := range v {
		if x != 0 {
			n++
		}
	}
	return n
}

// closeCodes lists, per contender, the close codes the burst's clients
// received ("closed_<code>" figures; 1006: the connection ended without a
// close frame), as medians over rounds.
func (rep *Report) closeCodes(cell string) string {
	var lines []string
	for _, c := range rep.Contenders["burst"] {
		codes := map[string]bool{}
		for _, s := range rep.Samples {
			if s.Scenario == "burst" && s.Cell == cell && s.Contender == c {
				for k := range s.Metrics {
					if code, ok := strings.CutPrefix(k, "closed_"); ok {
						codes[code] = true
					}
				}
			}
		}
		var parts []string
		for _, code := range slices.Sorted(maps.Keys(codes)) {
			v, _ := rep.values("burst", cell, c, "closed_"+code)
			// A round without this code has no figure for it: count it as 0.
			rounds, _ := rep.values("burst", cell, c, "missing")
			for len(v) < len(rounds) {
				v = append(v, 0)
			}
			parts = append(parts, fmt.Sprintf("%s × %s", formatNum(median(v), -1), code))
		}
		if len(parts) == 0 {
			parts = []string{"none"}
		}
		lines = append(lines, fmt.Sprintf("%s: %s", c, strings.Join(parts, ", ")))
	}
	return strings.Join(lines, "; ")
}

func (rep *Report) errors() string {
	var b strings.Builder
	for _, s := range rep.Samples {
		if s.Error != "" {
			fmt.Fprintf(&b, "- %s, %s, %s, round %d: %s\n", s.Scenario, s.Cell, s.Contender, s.Round+1, s.Error)
		}
	}
	return b.String()
}

// gobwasForms are the two forms of gobwas/ws that the report also uses as
// bases: every figure is given divided by each (see againstGobwas).
var gobwasForms = []string{"gobwas-http", "gobwas-zc"}

func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// targets checks wsapi against the issue's goals.
func (rep *Report) targets() string {
	var b strings.Builder
	b.WriteString("\n## wsapi against its targets\n")
	if cells := rep.Cells["echo"]; len(cells) > 0 {
		b.WriteString("\nEcho, per second of server CPU, against gws (the fastest peer) and the raw-epoll ceiling (contender ÷ other, medians of per-round ratios). " +
			"Targets: `Receive`/`Send` (wsapi) ≥ 0.8× gws on 16 KiB messages; `ReceiveFunc` (wsapi-func) at gws's level (≥ 0.9×); no cell below 0.9× gws on 32 B.\n\n")
		b.WriteString("| cell | wsapi ÷ gws | ok | wsapi-func ÷ gws | ok | wsapi ÷ ceiling | wsapi-func ÷ ceiling |\n|---|---:|---|---:|---|---:|---:|\n")
		for _, cell := range cells {
			floor := 0.9
			if strings.Contains(cell, "KiB") {
				floor = 0.8
			}
			fmt.Fprintf(&b, "| %s |", cell)
			for i, c := range []string{"wsapi", "wsapi-func"} {
				want := floor
				if i == 1 {
					want = 0.9
				}
				if r, ok := rep.Ratio("echo", cell, "msgs_per_cpu_s", c, "gws"); ok {
					fmt.Fprintf(&b, " %.2f | %s |", r, verdict(r >= want))
				} else {
					b.WriteString(" – | |")
				}
			}
			for _, c := range []string{"wsapi", "wsapi-func"} {
				if r, ok := rep.Ratio("echo", cell, "msgs_per_cpu_s", c, "epoll"); ok {
					fmt.Fprintf(&b, " %.2f |", r)
				} else {
					b.WriteString(" – |")
				}
			}
			b.WriteString("\n")
		}
	}
	var lines []string
	for _, cell := range rep.Cells["idle"] {
		if v, ok := rep.Median("idle", cell, "rss_per_conn_kib", "wsapi"); ok {
			gc, _ := rep.Median("idle", cell, "rss_gc_per_conn_kib", "wsapi")
			lines = append(lines, fmt.Sprintf("| idle RSS per connection ≤ 5 KiB (the goal: 4 KiB) | %.1f KiB (%.1f KiB after GC only) | %s |", v, gc, verdict(v <= 5)))
		}
	}
	for _, cell := range rep.Cells["bcast"] {
		if r, ok := rep.Ratio("bcast", cell, "deliveries_per_cpu_s", "gorilla", "wsapi"); ok {
			lines = append(lines, fmt.Sprintf("| broadcast deliveries per CPU-s ≥ 2× gorilla | %.2f× | %s |", 1/r, verdict(1/r >= 2)))
		}
		if r, ok := rep.Ratio("bcast", cell, "deliveries_per_s", "gorilla", "wsapi"); ok {
			lines = append(lines, fmt.Sprintf("| broadcast deliveries per s (wall) vs gorilla | %.2f× | |", 1/r))
		}
	}
	for _, cell := range rep.Cells["hs"] {
		for _, g := range gobwasForms {
			if r, ok := rep.Ratio("hs", cell, "conns_per_cpu_s", g, "wsapi"); ok {
				lines = append(lines, fmt.Sprintf("| handshake (route with params) per CPU-s ≥ 0.9× bare %s | %.2f× | %s |", g, 1/r, verdict(1/r >= 0.9)))
			}
			if r, ok := rep.Ratio("hs", cell, "conns_per_s", g, "wsapi"); ok {
				lines = append(lines, fmt.Sprintf("| handshake (route with params) per s (wall) vs bare %s | %.2f× | %s |", g, 1/r, verdict(1/r >= 0.9)))
			}
		}
	}
	for _, cell := range rep.Cells["typed"] {
		if r, ok := rep.Ratio("typed", cell, "msgs_per_cpu_s", "wsapi", "gws"); ok {
			lines = append(lines, fmt.Sprintf("| typed messages (%s) per CPU-s vs gws's hand-written loop (reported, no target) | %.2f× | |", cell, r))
		}
	}
	for _, cell := range rep.Cells["burst"] {
		if flags, _ := rep.values("burst", cell, "wsapi", "complete"); len(flags) > 0 {
			miss, _ := rep.Median("burst", cell, "missing", "wsapi")
			closed, _ := rep.Median("burst", cell, "clients_closed", "wsapi")
			lines = append(lines, fmt.Sprintf("| chat burst (%s) completes with the Manager's defaults | %d of %d rounds; median %s deliveries missing, %s clients closed | %s |",
				cell, countTrue(flags), len(flags), formatNum(miss, -1), formatNum(closed, -1), verdict(countTrue(flags) == len(flags))))
		}
	}
	if len(lines) > 0 {
		b.WriteString("\n| target | wsapi | ok |\n|---|---:|---|\n" + strings.Join(lines, "\n") + "\n")
	}
	return b.String()
}

// sanity compares the peers' ratios to gorilla with the issue's figures:
// similar ratios among peers mean the harness measures what others did.
func (rep *Report) sanity() string {
	var b strings.Builder
	const cell = "64 × 32 B text"
	// The issue measured gobwas through net/http: gobwas-http here.
	issueEcho := map[string]float64{"coder": 0.88, "gws": 1.03, "gobwas-http": 0.82, "epoll": 1.32}
	issueIdle := map[string]float64{"gorilla": 16.8, "coder": 23.0, "gws": 8.5, "gobwas-http": 3.7}
	var rows []string
	if slices.Contains(rep.Cells["echo"], cell) {
		for _, c := range []string{"coder", "gws", "gobwas-http", "gobwas-zc", "epoll", "wsapi"} {
			r, ok := rep.Ratio("echo", cell, "msgs_per_cpu_s", c, "gorilla")
			if !ok {
				continue
			}
			want := "–"
			if v, ok := issueEcho[c]; ok {
				want = fmt.Sprintf("%.2f", v)
			}
			rows = append(rows, fmt.Sprintf("| echo %s, msgs per CPU-s ÷ gorilla | %s | %s | %.2f |", cell, c, want, r))
		}
	}
	for _, icell := range rep.Cells["idle"] {
		for _, c := range []string{"gorilla", "coder", "gws", "gobwas-http", "gobwas-zc", "epoll", "wsapi"} {
			v, ok := rep.Median("idle", icell, "rss_per_conn_kib", c)
			if !ok {
				continue
			}
			gc, _ := rep.Median("idle", icell, "rss_gc_per_conn_kib", c)
			want := "–"
			if w, ok := issueIdle[c]; ok {
				want = fmt.Sprintf("%.1f", w)
			}
			rows = append(rows, fmt.Sprintf("| idle RSS KiB per connection (in parentheses: after GC only) | %s | %s | %.1f (%.1f) |", c, want, v, gc))
		}
	}
	if len(rows) == 0 {
		return ""
	}
	b.WriteString("\n## Harness sanity check against the issue's peer figures\n\n")
	b.WriteString("| figure | contender | issue | measured |\n|---|---|---:|---:|\n")
	b.WriteString(strings.Join(rows, "\n") + "\n")
	return b.String()
}

// againstGobwas gives every figure of every contender divided by each
// gobwas form's figure in the same round (medians over rounds), so that the
// tables above, which divide by wsapi, can also be read against gobwas:
// through net/http (gobwas-http) and in its zero-copy form (gobwas-zc).
func (rep *Report) againstGobwas() string {
	var b strings.Builder
	for _, sc := range AllScenarios {
		var forms []string
		for _, g := range gobwasForms {
			if slices.Contains(rep.Contenders[sc], g) {
				forms = append(forms, g)
			}
		}
		if len(forms) == 0 {
			continue
		}
		if b.Len() == 0 {
			fmt.Fprintf(&b, "\n## Against the two gobwas forms\n\nEach cell: the contender's figure ÷ %s in the same round (median over rounds); above 1 the contender has more of the figure (better for rates, worse for latency and memory).\n", strings.Join(forms, ", then ÷ "))
		}
		cs := rep.Contenders[sc]
		fmt.Fprintf(&b, "\n### %s (÷ %s)\n\n| figure | cell | %s |\n|---|---|%s\n", scenarioTitles[sc], strings.Join(forms, " / ÷ "), strings.Join(cs, " | "), strings.Repeat("---:|", len(cs)))
		for _, md := range metricDefs {
			if md.Scenario != sc || !md.ratios() {
				continue
			}
			for _, cell := range rep.Cells[sc] {
				row, seen := fmt.Sprintf("| %s | %s |", md.Key, cell), false
				for _, c := range cs {
					var parts []string
					for _, g := range forms {
						if r, ok := rep.Ratio(sc, cell, md.Key, c, g); ok {
							parts, seen = append(parts, fmt.Sprintf("%.2f", r)), true
						} else {
							parts = append(parts, "–")
						}
					}
					row += " " + strings.Join(parts, " / ") + " |"
				}
				if seen {
					b.WriteString(row + "\n")
				}
			}
		}
	}
	return b.String()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
