// Package orch is the benchmark's orchestrator: it starts each contender's
// server and the load generator as separate processes pinned to different
// cores, runs the scenarios round by round with the contenders interleaved,
// and writes the report.
package orch

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wsapi-go/wsapi/bench/internal/load"
	"github.com/wsapi-go/wsapi/bench/internal/servers"
)

// Options configures a run.
type Options struct {
	Rounds      int
	Scenarios   []string
	Contenders  []string
	EchoWarmup  time.Duration
	EchoDur     time.Duration
	EchoConns   []int
	TypedConns  []int
	TypedSize   int
	HSDur       time.Duration
	HSWorkers   int
	IdleConns   int
	IdleSettle  time.Duration
	BcastConns  int
	BcastMsgs   int
	BcastSize   int
	BurstConns  int
	BurstMsgs   int
	BurstSize   int
	BurstWait   time.Duration
	Out         string
	Profile     bool
	Quick       bool
	NoPin       bool
	ServerCPU   int
	LoadCPU     int
	CommandLine string
	Note        string
}

// AllScenarios lists the scenarios in the order they run.
var AllScenarios = []string{"echo", "typed", "hs", "idle", "bcast", "burst"}

type runner struct {
	opts               Options
	self, taskset      string
	serverCPU, loadCPU int
	log                io.Writer
	logPath            string
	samples            []Sample
	started            time.Time
}

// Main is the orchestrator's entry point (the default subcommand).
func Main(args []string) int {
	o := Options{CommandLine: "go run ./cmd/bench " + strings.Join(args, " ")}
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	scen := fs.String("scenarios", strings.Join(AllScenarios, ","), "scenarios to run: "+strings.Join(AllScenarios, ",")+" (or none, with -profile)")
	cont := fs.String("contenders", strings.Join(servers.Names, ","), "contenders (wsapi is always included: ratios are to it)")
	fs.IntVar(&o.Rounds, "rounds", 3, "rounds; each round runs every contender once per cell, interleaved")
	fs.DurationVar(&o.EchoWarmup, "echo-warmup", 300*time.Millisecond, "echo: load before each measuring window")
	fs.DurationVar(&o.EchoDur, "echo-duration", time.Second, "echo: measuring window")
	conns := fs.String("echo-conns", "1,64,512", "echo: connection counts")
	typedConns := fs.String("typed-conns", "1,64", "typed: connection counts")
	fs.IntVar(&o.TypedSize, "typed-size", 64, "typed: length of the message's text field")
	fs.DurationVar(&o.HSDur, "hs-duration", 1500*time.Millisecond, "handshake: measuring window")
	fs.IntVar(&o.HSWorkers, "hs-workers", 32, "handshake: concurrent clients")
	fs.IntVar(&o.IdleConns, "idle-conns", 9000, "idle: connections")
	fs.DurationVar(&o.IdleSettle, "idle-settle", time.Second, "idle: wait after connecting")
	fs.IntVar(&o.BcastConns, "bcast-conns", 5000, "broadcast: connections")
	fs.IntVar(&o.BcastMsgs, "bcast-messages", 100, "broadcast: messages")
	fs.IntVar(&o.BcastSize, "bcast-size", 64, "broadcast: message size")
	fs.IntVar(&o.BurstConns, "burst-clients", 1000, "burst: chat clients")
	fs.IntVar(&o.BurstMsgs, "burst-messages", 5, "burst: messages each client sends at once")
	fs.IntVar(&o.BurstSize, "burst-size", 32, "burst: message size")
	fs.DurationVar(&o.BurstWait, "burst-timeout", 60*time.Second, "burst: give up after this")
	fs.StringVar(&o.Out, "out", "results", "output directory")
	fs.BoolVar(&o.Profile, "profile", false, "also take CPU profiles of wsapi (echo 64×32 B, handshake) into the output directory")
	fs.BoolVar(&o.Quick, "quick", false, "one short round with fewer connections (a smoke run, about a minute)")
	fs.BoolVar(&o.NoPin, "no-pin", false, "do not pin server and load to separate cores")
	fs.IntVar(&o.ServerCPU, "server-cpu", 0, "core for the servers")
	fs.IntVar(&o.LoadCPU, "load-cpu", 1, "core for the load generator")
	fs.StringVar(&o.Note, "note", "", "a note printed in the report's header")
	fromJSON := fs.String("from-json", "", "measure nothing: redraw latest.md and ratios.svg in -out from this latest.json")
	fs.Parse(args)
	if o.Quick {
		o.Rounds = 1
		o.EchoWarmup, o.EchoDur, o.HSDur = 100*time.Millisecond, 300*time.Millisecond, 500*time.Millisecond
		o.IdleConns, o.BcastConns, o.IdleSettle = 2000, 1000, 300*time.Millisecond
		o.BurstConns = 500
	}
	var ok bool
	if o.EchoConns, ok = parseCounts(*conns); !ok {
		fmt.Fprintf(os.Stderr, "bad -echo-conns %q\n", *conns)
		return 2
	}
	if o.TypedConns, ok = parseCounts(*typedConns); !ok {
		fmt.Fprintf(os.Stderr, "bad -typed-conns %q\n", *typedConns)
		return 2
	}
	for _, s := range strings.Split(*scen, ",") {
		s = strings.TrimSpace(s)
		if s == "none" || s == "" {
			continue
		}
		if !slices.Contains(AllScenarios, s) {
			fmt.Fprintf(os.Stderr, "unknown scenario %q (have %v)\n", s, AllScenarios)
			return 2
		}
		o.Scenarios = append(o.Scenarios, s)
	}
	o.Contenders = []string{"wsapi"}
	for _, c := range strings.Split(*cont, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(servers.Names, c) {
			fmt.Fprintf(os.Stderr, "unknown contender %q (have %v)\n", c, servers.Names)
			return 2
		}
		if !slices.Contains(o.Contenders, c) {
			o.Contenders = append(o.Contenders, c)
		}
	}
	if o.Rounds < 1 {
		o.Rounds = 1
	}
	if *fromJSON != "" {
		rep, err := LoadReport(*fromJSON)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return write(rep, o.Out)
	}
	return run(o)
}

// parseCounts parses a comma-separated list of positive integers.
func parseCounts(list string) ([]int, bool) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n <= 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func run(o Options) (code int) {
	r := &runner{opts: o, serverCPU: -1, loadCPU: -1, started: time.Now()}
	var err error
	if r.self, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if !o.NoPin {
		if r.taskset = lookTaskset(); r.taskset == "" {
			fmt.Fprintln(os.Stderr, "bench: taskset not found: running unpinned")
		} else {
			r.serverCPU, r.loadCPU = o.ServerCPU, o.LoadCPU
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r.logPath = filepath.Join(o.Out, "children.log")
	lf, err := os.Create(r.logPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer lf.Close()
	r.log = lf
	raiseNoFile()

	// Every child dies with us: on return, on panic, and on a signal.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		n := KillAll()
		fmt.Fprintf(os.Stderr, "\nbench: %v: killed %d child process(es)\n", s, n)
		os.Exit(130)
	}()
	defer KillAll()
	defer func() {
		if v := recover(); v != nil {
			KillAll()
			panic(v)
		}
	}()

	r.progress("bench: rounds=%d scenarios=%v contenders=%v pinned=%v (server cpu %d, load cpu %d); children's stderr in %s",
		o.Rounds, o.Scenarios, o.Contenders, r.taskset != "", r.serverCPU, r.loadCPU, r.logPath)
	for _, s := range o.Scenarios {
		t := time.Now()
		var err error
		switch s {
		case "echo":
			err = r.echo()
		case "typed":
			err = r.typed()
		case "hs":
			err = r.handshake()
		case "idle":
			err = r.idle()
		case "bcast":
			err = r.broadcast()
		case "burst":
			err = r.burst()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", s, err)
			return 1
		}
		r.progress("bench: %s done in %.0fs", s, time.Since(t).Seconds())
	}
	if o.Profile {
		if err := r.profile(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: profile: %v\n", err)
		}
	}
	if code := write(r.report(), o.Out); code != 0 {
		return code
	}
	r.progress("bench: wrote %s, %s and %s; total %.0fs", filepath.Join(o.Out, "latest.md"),
		filepath.Join(o.Out, "latest.json"), filepath.Join(o.Out, "ratios.svg"), time.Since(r.started).Seconds())
	return 0
}

// write prints the Markdown report and writes it, the JSON and the SVG to dir.
func write(rep *Report, dir string) int {
	md := rep.Markdown()
	fmt.Print(md)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for name, data := range map[string][]byte{
		"latest.md":   []byte(md),
		"latest.json": rep.JSON(),
		"ratios.svg":  []byte(rep.SVG()),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%5.1fs] "+format+"\n", append([]any{time.Since(r.started).Seconds()}, args...)...)
}

// rotate returns s started at its k-th element, so that no contender
// always runs first.
func rotate[T any](s []T, k int) []T {
	k %= len(s)
	return append(slices.Clone(s[k:]), s[:k]...)
}

func (r *runner) record(scenario, cell, contender string, round int, m map[string]float64, err error) {
	s := Sample{Scenario: scenario, Cell: cell, Contender: contender, Round: round, Metrics: m}
	if err != nil {
		s.Error = err.Error()
		r.progress("bench: %s %s %s round %d: %v", scenario, cell, contender, round+1, err)
	}
	r.samples = append(r.samples, s)
}

func (r *runner) startAll(names []string) (map[string]*server, func(), error) {
	srv := map[string]*server{}
	stop := func() {
		for _, s := range srv {
			s.stop()
		}
	}
	for _, n := range names {
		s, err := r.startServer(n)
		if err != nil {
			stop()
			return nil, nil, err
		}
		srv[n] = s
	}
	return srv, stop, nil
}

type echoCell struct {
	label  string
	conns  int
	size   int
	binary bool
}

func (r *runner) echoCells() []echoCell {
	var cells []echoCell
	for _, n := range r.opts.EchoConns {
		cells = append(cells,
			echoCell{fmt.Sprintf("%d × 32 B text", n), n, 32, false},
			echoCell{fmt.Sprintf("%d × 16 KiB binary", n), n, 16 << 10, true})
	}
	return cells
}

// echoTarget is one echo route measured as a contender of its own.
type echoTarget struct{ name, path string }

func (r *runner) echo() error {
	srv, stop, err := r.startAll(r.opts.Contenders)
	if err != nil {
		return err
	}
	defer stop()
	cells := r.echoCells()
	for round := range r.opts.Rounds {
		t := time.Now()
		for k, cell := range cells {
			for _, c := range rotate(r.opts.Contenders, round+k) {
				s := srv[c]
				targets := []echoTarget{{c, "/echo"}}
				if c == "wsapi" {
					// wsapi's echo through Receive/Send, as the tutorial
					// teaches, and through ReceiveFunc, which lends messages.
					targets = append(targets, echoTarget{"wsapi-func", "/echo-func"})
				}
				for _, t := range targets {
					m, err := r.runLoad(load.Config{Mode: "echo", Addr: s.addr, Debug: s.debug, PID: s.pid, Path: t.path,
						Conns: cell.conns, Size: cell.size, Binary: cell.binary, Warmup: r.opts.EchoWarmup, Duration: r.opts.EchoDur})
					r.record("echo", cell.label, t.name, round, m, err)
				}
			}
		}
		r.progress("bench: echo round %d/%d in %.0fs", round+1, r.opts.Rounds, time.Since(t).Seconds())
	}
	return nil
}

// only returns the contenders of this run that are in names, in the run's
// order.
func (r *runner) only(names []string) []string {
	var out []string
	for _, c := range r.opts.Contenders {
		if slices.Contains(names, c) {
			out = append(out, c)
		}
	}
	return out
}

// typed runs the typed-message scenario: like echo, with JSON messages that
// the server decodes, validates and answers, on the contenders that serve
// it (servers.TypedNames).
func (r *runner) typed() error {
	names := r.only(servers.TypedNames)
	srv, stop, err := r.startAll(names)
	if err != nil {
		return err
	}
	defer stop()
	for round := range r.opts.Rounds {
		t := time.Now()
		for k, n := range r.opts.TypedConns {
			cell := fmt.Sprintf("%d × %d B text", n, r.opts.TypedSize)
			for _, c := range rotate(names, round+k) {
				s := srv[c]
				m, err := r.runLoad(load.Config{Mode: "typed", Addr: s.addr, Debug: s.debug, PID: s.pid, Path: "/typed",
					Conns: n, Size: r.opts.TypedSize, Warmup: r.opts.EchoWarmup, Duration: r.opts.EchoDur})
				r.record("typed", cell, c, round, m, err)
			}
		}
		r.progress("bench: typed round %d/%d in %.0fs", round+1, r.opts.Rounds, time.Since(t).Seconds())
	}
	return nil
}

// hsTarget is a contender of the handshake scenario: a server and a path.
type hsTarget struct{ name, server, path string }

// hsPath is the request of the handshake scenario's wsapi route: path,
// query and (sent with every request) User-Agent and Cookie.
const hsPath = "/hs/room1?token=t0k3n&page=2"

func (r *runner) hsTargets() []hsTarget {
	var ts []hsTarget
	for _, c := range r.opts.Contenders {
		switch c {
		case "wsapi":
			ts = append(ts, hsTarget{"wsapi", "wsapi", hsPath}, hsTarget{"wsapi-bare", "wsapi", "/hsbare"})
		case "gobwas-http", "gobwas-zc":
			ts = append(ts, hsTarget{c, c, "/hsbare"})
		default:
			ts = append(ts, hsTarget{c, c, "/echo"})
		}
	}
	return ts
}

func (r *runner) handshake() error {
	srv, stop, err := r.startAll(r.opts.Contenders)
	if err != nil {
		return err
	}
	defer stop()
	targets := r.hsTargets()
	for round := range r.opts.Rounds {
		for _, t := range rotate(targets, round) {
			s := srv[t.server]
			m, err := r.runLoad(load.Config{Mode: "hs", Addr: s.addr, Debug: s.debug, PID: s.pid, Path: t.path,
				Workers: r.opts.HSWorkers, Warmup: 200 * time.Millisecond, Duration: r.opts.HSDur})
			r.record("hs", "dial, handshake, close", t.name, round, m, err)
		}
		r.progress("bench: handshake round %d/%d", round+1, r.opts.Rounds)
	}
	return nil
}

// fresh runs f against a newly started server of each contender in turn,
// round by round, so that memory figures start from a clean process.
func (r *runner) fresh(scenario string, f func(s *server) (map[string]float64, error), cell string) error {
	return r.freshOf(r.opts.Contenders, scenario, f, cell)
}

// freshOf is fresh for the contenders names.
func (r *runner) freshOf(names []string, scenario string, f func(s *server) (map[string]float64, error), cell string) error {
	for round := range r.opts.Rounds {
		t := time.Now()
		for _, c := range rotate(names, round) {
			s, err := r.startServer(c)
			if err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
			m, err := f(s)
			s.stop()
			r.record(scenario, cell, c, round, m, err)
		}
		r.progress("bench: %s round %d/%d in %.0fs", scenario, round+1, r.opts.Rounds, time.Since(t).Seconds())
	}
	return nil
}

func (r *runner) idle() error {
	cell := fmt.Sprintf("%d idle connections", r.opts.IdleConns)
	return r.fresh("idle", func(s *server) (map[string]float64, error) {
		return r.runLoad(load.Config{Mode: "idle", Addr: s.addr, Debug: s.debug, PID: s.pid, Path: "/echo",
			Conns: r.opts.IdleConns, Settle: r.opts.IdleSettle})
	}, cell)
}

func (r *runner) broadcast() error {
	cell := fmt.Sprintf("%d conns × %d msgs of %d B", r.opts.BcastConns, r.opts.BcastMsgs, r.opts.BcastSize)
	return r.fresh("bcast", func(s *server) (map[string]float64, error) {
		return r.runLoad(load.Config{Mode: "bcast", Addr: s.addr, Debug: s.debug, PID: s.pid, Path: "/sub",
			Conns: r.opts.BcastConns, Messages: r.opts.BcastMsgs, Size: r.opts.BcastSize})
	}, cell)
}

// burst runs the chat burst on the contenders that serve it
// (servers.BurstNames), each on a fresh server.
func (r *runner) burst() error {
	o := r.opts
	cell := fmt.Sprintf("%d clients × %d msgs of %d B", o.BurstConns, o.BurstMsgs, o.BurstSize)
	return r.freshOf(r.only(servers.BurstNames), "burst", func(s *server) (map[string]float64, error) {
		return r.runLoad(load.Config{Mode: "burst", Addr: s.addr, Debug: s.debug, PID: s.pid, Path: "/chat",
			Conns: o.BurstConns, Messages: o.BurstMsgs, Size: o.BurstSize, Timeout: o.BurstWait})
	}, cell)
}

func raiseNoFile() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < 20000 {
		rl.Cur = min(20000, rl.Max)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// coreInfo says which wsapi the binary was built from: the replace
// directory and, when it is a git checkout, its commit and whether Go files
// had uncommitted changes.
func coreInfo() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path != "github.com/wsapi-go/wsapi" {
			continue
		}
		if d.Replace == nil {
			return d.Version
		}
		dir := d.Replace.Path
		out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output()
		if err != nil {
			return dir + " (not a git checkout)"
		}
		info := dir + " at " + strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--", "*.go").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			info += " with uncommitted changes to Go files"
		}
		return info
	}
	return "unknown"
}

func goInfo() string {
	return fmt.Sprintf("%s %s/%s, %d CPUs", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}
