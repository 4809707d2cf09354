package load

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ProcCPU returns the CPU time the process pid has used: the sum of its
// threads' run time from /proc/<pid>/task/*/schedstat (nanoseconds), or,
// where that is missing, utime+stime from /proc/<pid>/stat (clock ticks,
// assumed 100 Hz).
func ProcCPU(pid int) (time.Duration, error) {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/schedstat")
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread exited
		}
		f := bytes.Fields(b)
		if len(f) > 0 {
			if v, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
				sum += v
			}
		}
	}
	if sum > 0 {
		return time.Duration(sum), nil
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	// After "pid (comm) ", field 3 is state; utime and stime are fields 14, 15.
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// ProcRSS returns VmRSS of pid in bytes.
func ProcRSS(pid int) (int64, error) {
	p := "/proc/self/status"
	if pid > 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			v, err := strconv.ParseInt(f[0], 10, 64)
			return v << 10, err
		}
	}
	return 0, os.ErrNotExist
}

// ProcSyscalls returns the read and write system calls pid has made
// (syscr and syscw of /proc/<pid>/io).
func ProcSyscalls(pid int) (reads, writes int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			reads, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			writes, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return reads, writes, nil
}

// serverSnap is a reading of the server's counters.
type serverSnap struct {
	cpu            time.Duration
	cpuErr         error
	reads, writes  int64
	syscallsFailed bool
}

func snapServer(pid int) serverSnap {
	var s serverSnap
	if pid <= 0 {
		s.cpuErr = errNoPID
		s.syscallsFailed = true
		return s
	}
	s.cpu, s.cpuErr = ProcCPU(pid)
	var err error
	s.reads, s.writes, err = ProcSyscalls(pid)
	s.syscallsFailed = err != nil
	return s
}

// addServerMetrics adds the server's CPU time and system calls between a
// and b, per unit of work n, under the given names.
func addServerMetrics(m map[string]float64, a, b serverSnap, n float64, perCPU, perUnit string) {
	if a.cpuErr == nil && b.cpuErr == nil && b.cpu > a.cpu {
		m["server_cpu_s"] = (b.cpu - a.cpu).Seconds()
		m[perCPU] = n / (b.cpu - a.cpu).Seconds()
	}
	if !a.syscallsFailed && !b.syscallsFailed && n > 0 {
		m["server_reads_per_"+perUnit] = float64(b.reads-a.reads) / n
		m["server_writes_per_"+perUnit] = float64(b.writes-a.writes) / n
	}
}
