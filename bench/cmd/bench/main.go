// Command bench compares wsapi with its peers (gorilla/websocket,
// coder/websocket, lxzan/gws, raw gobwas/ws through net/http and in its
// zero-copy form, and a raw-epoll server) behind the same contract: echo,
// typed messages, handshake, idle connections, broadcast and a chat burst.
// See ../../README.md.
//
//	GOWORK=off go run ./cmd/bench          # everything, about 10 minutes
//	GOWORK=off go run ./cmd/bench -quick   # a smoke run
//
// The same binary is the server ("bench server -lib NAME") and the load
// generator ("bench load ..."): the orchestrator starts both as separate
// processes pinned to separate cores.
package main

import (
	"os"

	"github.com/wsapi-go/wsapi/bench/internal/load"
	"github.com/wsapi-go/wsapi/bench/internal/orch"
	"github.com/wsapi-go/wsapi/bench/internal/servers"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "server":
			os.Exit(servers.Main(os.Args[2:]))
		case "load":
			os.Exit(load.Main(os.Args[2:]))
		}
	}
	os.Exit(orch.Main(os.Args[1:]))
}
