package servers

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// Main is the "server" subcommand: it starts one contender and a debug
// HTTP server beside it, prints "READY <ws addr> <debug addr>" and serves
// until its standard input closes (the orchestrator ended) or a signal.
func Main(args []string) int {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	lib := fs.String("lib", "wsapi", "contender")
	fs.Parse(args)
	raiseNoFile()
	in, err := Start(*lib)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go http.Serve(dln, DebugHandler(in))
	fmt.Printf("READY %s %s\n", in.Addr, dln.Addr())
	os.Stdout.Sync()

	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
	return 0
}

// DebugHandler serves a server's debug endpoints:
//
//	GET  /mem                   heap, stacks and RSS after a GC, as JSON
//	GET  /count                 registered subscribers (of /sub)
//	GET  /count?route=chat      clients registered on /chat
//	POST /broadcast?n=&size=    n broadcasts of size bytes to every subscriber
//	/debug/pprof/...            the standard profiles
func DebugHandler(in *Instance) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /mem", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rssGC := vmRSS()
		debug.FreeOSMemory()
		json.NewEncoder(w).Encode(map[string]int64{
			"heap_inuse":  int64(ms.HeapInuse),
			"stack_inuse": int64(ms.StackInuse),
			"rss_gc":      rssGC,
			"rss_free":    vmRSS(),
			"goroutines":  int64(runtime.NumGoroutine()),
		})
	})
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("route") == "chat" {
			n, ok := in.ChatClients()
			if !ok {
				http.Error(w, "no /chat route", http.StatusNotFound)
				return
			}
			fmt.Fprintln(w, n)
			return
		}
		fmt.Fprintln(w, in.Subscribers())
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		if n <= 0 || size <= 0 {
			http.Error(w, "n and size must be positive", http.StatusBadRequest)
			return
		}
		if err := in.Broadcast(context.Background(), n, size); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	return mux
}

// vmRSS returns this process's VmRSS in bytes.
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v << 10
			}
		}
	}
	return 0
}

func raiseNoFile() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < 20000 {
		rl.Cur = min(20000, rl.Max)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}
