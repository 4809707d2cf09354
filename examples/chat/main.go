// Command chat is the chat of the tutorial (sections F and G): every client
// connects to /ws/{client_id}; each message is echoed to its sender as
// "You wrote: <message>" and broadcast to everyone as "Client #<id> says:
// <message>"; when a client leaves, the others read "Client #<id> left the
// chat". GET / serves the HTML chat page, which picks a random client id.
//
//	go run ./examples/chat            # then open http://localhost:8000/ in two tabs
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/natsbroker"
	"github.com/wsapi-go/wsapi/redisbroker"
)

//go:embed index.html
var page []byte

func pageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address to listen on")
	brokerURL := fs.String("broker", "", "share the chat with other instances: redis://host:port or nats://host:port (empty: this process only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	manager := wsapi.NewManager(nil)
	if *brokerURL != "" {
		broker, err := dialBroker(ctx, *brokerURL)
		if err != nil {
			return err // an unreachable broker stops the program: it would run alone
		}
		defer broker.Close()
		if err := manager.UseBroker(ctx, broker); err != nil {
			return err
		}
		defer manager.Close()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wsapi chat: open http://localhost:%d/ in two browser tabs (Ctrl-C to stop)\n", ln.Addr().(*net.TCPAddr).Port)
	return newApp(manager).Serve(ctx, ln)
}

// dialBroker connects to the broker named by a redis:// or nats:// URL.
func dialBroker(ctx context.Context, url string) (wsapi.Broker, error) {
	switch {
	case strings.HasPrefix(url, "redis://"), strings.HasPrefix(url, "rediss://"):
		return redisbroker.Dial(ctx, url, nil)
	case strings.HasPrefix(url, "nats://"):
		return natsbroker.Dial(ctx, url, nil)
	}
	return nil, fmt.Errorf("chat: -broker %q: use redis://host:port or nats://host:port", url)
}
