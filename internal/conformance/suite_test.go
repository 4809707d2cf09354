// Package conformance is a protocol conformance suite for the server side of
// wsapi, organised like the case groups of the Autobahn|Testsuite
// (crossbario/autobahn-testsuite). It drives a wsapi echo route with raw
// frames over real TCP sockets and checks the answers against RFC 6455, and
// against RFC 7692 (permessage-deflate) in groups 12 and 13, which run on two
// more echo servers, one per compression mode.
//
// Case ids follow Autobahn's where a case matches one of its cases; cases
// Autobahn does not have are marked "extra" in their names. Run it with
//
//	go test -race -count=1 ./internal/conformance/ -v
//
// With -short, the multi-megabyte cases of group 9 are skipped.
package conformance

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi"
)

// readLimit is the echo app's Options.ReadLimit.
const readLimit = 32 << 20

// serverAddr is the host:port of the echo server, set by TestMain.
var serverAddr string

// deflateAddr is the host:port of the echo servers that negotiate
// permessage-deflate (groups 12 and 13), by compression mode, set by TestMain.
var deflateAddr = map[wsapi.CompressionMode]string{}

// newEchoApp returns the app under test: one route, /echo, that echoes every
// data message with its type, compressing as mode says.
func newEchoApp(logger *slog.Logger, mode wsapi.CompressionMode) *wsapi.App {
	app := wsapi.New(&wsapi.Options{ReadLimit: readLimit, Logger: logger, Compression: mode})
	app.WS("/echo", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			t, data, err := ws.Receive(ctx) // t is wsapi.MessageText or wsapi.MessageBinary
			if err != nil {
				return err // a *wsapi.DisconnectError ends quietly
			}
			if t == wsapi.MessageText {
				err = ws.SendText(ctx, string(data))
			} else {
				err = ws.SendBytes(ctx, data)
			}
			if err != nil {
				return err
			}
		}
	})
	return app
}

// syncBuffer collects the app's log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	serverLog   syncBuffer
	shutdownErr string
)

func TestMain(m *testing.M) {
	// The cases mostly wait on sockets: run more of them at once than the
	// default of GOMAXPROCS, unless -parallel was given. This also bounds
	// the run time against a server that makes every case wait for a
	// timeout.
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	logger := slog.New(slog.NewTextHandler(&serverLog, nil))
	type server struct {
		name string
		app  *wsapi.App
		srv  *httptest.Server
	}
	var servers []server
	for _, mode := range []wsapi.CompressionMode{wsapi.CompressionDisabled, wsapi.CompressionNoContextTakeover, wsapi.CompressionContextTakeover} {
		app := newEchoApp(logger, mode)
		srv := httptest.NewServer(app)
		servers = append(servers, server{modeName(mode), app, srv})
		if mode == wsapi.CompressionDisabled {
			serverAddr = srv.Listener.Addr().String()
		} else {
			deflateAddr[mode] = srv.Listener.Addr().String()
		}
	}
	code := m.Run()
	// Every client has closed its socket by now: a handler still running
	// after a few seconds is a connection the server failed to end.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	for _, s := range servers {
		if err := s.app.Shutdown(ctx); err != nil {
			shutdownErr += fmt.Sprintf("app.Shutdown after the run (%s server): %v: some handlers had not returned 3s after their clients left\n", s.name, err)
		}
		s.srv.Close()
	}
	cancel()
	printSummary()
	os.Exit(code)
}

// testCase is one conformance case.
type testCase struct {
	id   string // Autobahn-like id, such as "1.1.1"
	name string // short description, used in the subtest name
	slow bool   // skipped under -short
	run  func(t *testing.T)
}

// group is one table of cases.
type group struct {
	id    string // "1" ... "10", "hs", "12", "13"
	title string
	cases []testCase
	// serial keeps the cases from running in parallel (group 9, whose
	// cases move tens of megabytes each).
	serial bool
}

// groups lists every group, in the order the summary prints them.
var groups = []*group{
	groupFraming(),
	groupPings(),
	groupReserved(),
	groupOpcodes(),
	groupFragments(),
	groupUTF8(),
	groupClose(),
	groupLimits(),
	groupMisc(),
	groupHandshake(),
	groupDeflatePayloads(),
	groupDeflateParams(),
}

func groupByID(id string) *group {
	for _, g := range groups {
		if g.id == id {
			return g
		}
	}
	panic("no group " + id)
}

// caseCounts returns the number of cases of each group.
func caseCounts() map[string]int {
	out := map[string]int{}
	for _, g := range groups {
		out[g.id] = len(g.cases)
	}
	return out
}

// outcome of a case, as recorded by runGroup.
type outcome int

const (
	passed outcome = iota + 1
	failed
	skipped
)

var (
	resMu   sync.Mutex
	results = map[string]map[string]outcome{} // group id → case id → outcome
	notes   []string                          // observations printed with the summary
)

func record(groupID, caseID string, o outcome) {
	resMu.Lock()
	defer resMu.Unlock()
	if results[groupID] == nil {
		results[groupID] = map[string]outcome{}
	}
	results[groupID][caseID] = o
}

// note records an observation worth printing in the summary.
func note(t testing.TB, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.Log(msg)
	resMu.Lock()
	defer resMu.Unlock()
	notes = append(notes, msg)
}

// runGroup runs each case of the group as a subtest named after its id.
func runGroup(t *testing.T, id string) {
	g := groupByID(id)
	seen := map[string]bool{}
	for _, c := range g.cases {
		if seen[c.id] {
			t.Fatalf("duplicate case id %s in group %s", c.id, g.id)
		}
		seen[c.id] = true
		t.Run(c.id+"_"+c.name, func(t *testing.T) {
			defer func() {
				switch {
				case t.Failed():
					record(g.id, c.id, failed)
				case t.Skipped():
					record(g.id, c.id, skipped)
				default:
					record(g.id, c.id, passed)
				}
			}()
			if !g.serial {
				t.Parallel()
			}
			if c.slow && testing.Short() {
				t.Skip("multi-megabyte case skipped with -short")
			}
			c.run(t)
		})
	}
}

func printSummary() {
	resMu.Lock()
	defer resMu.Unlock()
	counts := caseCounts()
	var b strings.Builder
	b.WriteString("\n=== wsapi server conformance summary (RFC 6455, Autobahn-style groups) ===\n")
	total, totalPassed := 0, 0
	for _, g := range groups {
		res := results[g.id]
		n := counts[g.id]
		var p, f, s int
		var failedIDs []string
		for id, o := range res {
			switch o {
			case passed:
				p++
			case failed:
				f++
				failedIDs = append(failedIDs, id)
			case skipped:
				s++
			}
		}
		total += n
		totalPassed += p
		fmt.Fprintf(&b, "group %s: %d cases, %d passed", g.id, n, p)
		if f > 0 {
			fmt.Fprintf(&b, ", %d failed", f)
		}
		if s > 0 {
			fmt.Fprintf(&b, ", %d skipped", s)
		}
		if r := n - p - f - s; r > 0 {
			fmt.Fprintf(&b, ", %d not run", r)
		}
		fmt.Fprintf(&b, "  (%s)\n", g.title)
		if len(failedIDs) > 0 {
			sort.Slice(failedIDs, func(i, j int) bool { return lessID(failedIDs[i], failedIDs[j]) })
			fmt.Fprintf(&b, "    failed: %s\n", strings.Join(failedIDs, " "))
		}
	}
	fmt.Fprintf(&b, "total: %d cases, %d passed\n", total, totalPassed)
	if len(notes) > 0 {
		sort.Strings(notes)
		b.WriteString("notes:\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	if shutdownErr != "" {
		b.WriteString(shutdownErr)
	}
	if l := serverLog.String(); l != "" {
		b.WriteString("server log (lines cut at 400 bytes):\n")
		for _, line := range strings.Split(strings.TrimSpace(l), "\n") {
			if len(line) > 400 {
				line = line[:400] + "..."
			}
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	fmt.Print(b.String())
}

// lessID orders case ids such as "6.10.2" numerically, part by part.
func lessID(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		var na, nb int
		_, ea := fmt.Sscan(pa[i], &na)
		_, eb := fmt.Sscan(pb[i], &nb)
		if ea == nil && eb == nil {
			return na < nb
		}
		return pa[i] < pb[i]
	}
	return len(pa) < len(pb)
}

// The groups, one test each, in Autobahn's order.

func TestGroup01Framing(t *testing.T)           { runGroup(t, "1") }
func TestGroup02PingPong(t *testing.T)          { runGroup(t, "2") }
func TestGroup03ReservedBits(t *testing.T)      { runGroup(t, "3") }
func TestGroup04Opcodes(t *testing.T)           { runGroup(t, "4") }
func TestGroup05Fragmentation(t *testing.T)     { runGroup(t, "5") }
func TestGroup06UTF8(t *testing.T)              { runGroup(t, "6") }
func TestGroup07Close(t *testing.T)             { runGroup(t, "7") }
func TestGroup09Limits(t *testing.T)            { runGroup(t, "9") }
func TestGroup10Misc(t *testing.T)              { runGroup(t, "10") }
func TestGroupHandshake(t *testing.T)           { runGroup(t, "hs") }
func TestGroup12Compression(t *testing.T)       { runGroup(t, "12") }
func TestGroup13CompressionParams(t *testing.T) { runGroup(t, "13") }

// Helpers shared by the groups.

// textOf returns size bytes of ASCII text.
func textOf(size int) []byte {
	return periodic(size, 26, func(i int) byte { return 'a' + byte(i%26) })
}

// binaryOf returns size bytes covering every byte value.
func binaryOf(size int) []byte {
	return periodic(size, 1<<16, func(i int) byte { return byte(i*7 + i>>8) })
}

// periodic returns size bytes of a sequence of the given period: one period
// computed by f, the rest copied, which keeps large payloads cheap under -race.
func periodic(size, period int, f func(int) byte) []byte {
	b := make([]byte, size)
	for i := range min(size, period) {
		b[i] = f(i)
	}
	for n := period; n < size; n *= 2 {
		copy(b[n:], b[:n])
	}
	return b
}

// utf8Of returns size bytes of valid UTF-8 text mixing 1- to 4-byte
// sequences, padded with ASCII to the exact size.
func utf8Of(size int) []byte {
	const pattern = "Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞😀 "
	b := make([]byte, size)
	full := size / len(pattern) * len(pattern)
	n := copy(b[:full], pattern)
	for ; n < full; n *= 2 {
		copy(b[n:full], b[:n])
	}
	for i := full; i < size; i++ {
		b[i] = '.'
	}
	return b
}

func payloadOf(op byte, size int) []byte {
	if op == opText {
		return textOf(size)
	}
	return binaryOf(size)
}

// fragments splits p into frames of at most size bytes, the first with op.
func fragments(op byte, p []byte, size int) []frame {
	var fs []frame
	for first := true; first || len(p) > 0; first = false {
		n := min(size, len(p))
		f := fr(false, opCont, p[:n])
		if first {
			f.op = op
		}
		fs = append(fs, f)
		p = p[n:]
	}
	fs[len(fs)-1].fin = true
	return fs
}

func TestCaseCounts(t *testing.T) {
	counts := caseCounts()
	var ids []string
	for id := range counts {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) })
	for _, id := range ids {
		t.Logf("group %s: %d cases", id, counts[id])
		if counts[id] == 0 {
			t.Errorf("group %s has no cases", id)
		}
	}
}
