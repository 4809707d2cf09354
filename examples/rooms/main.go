// Command rooms is a chat with rooms (section G of the tutorial, and the
// scaling guide). A client connects to /rooms/{room}?name=NAME and joins
// that room; what it types goes to the room's other members. Commands:
//
//	/who              how many members the room has on this server
//	/join ROOM        join another room too
//	/leave ROOM       leave it
//	/to ROOM TEXT     send TEXT to a room
//	/all TEXT         send TEXT to everyone
//
// With -broker redis://host:port or nats://host:port, several copies of
// the program share their rooms through Redis or NATS. With -nodes 2 one
// program runs two servers, on the port of -addr and the next one, whose
// managers share an in-memory broker, as processes sharing a broker would.
//
//	go run ./examples/rooms                               # http://localhost:8000/
//	go run ./examples/rooms -nodes 2                      # and http://localhost:8001/
//	go run ./examples/rooms -broker nats://127.0.0.1:4222 -addr :8001
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/natsbroker"
	"github.com/wsapi-go/wsapi/redisbroker"
)

//go:embed index.html
var page []byte

// RoomParams binds the room from the path and the name from the query.
type RoomParams struct {
	Room string `path:"room" validate:"alphanum,max=20"`
	Name string `query:"name" validate:"required,max=20"`
}

func newApp(manager *wsapi.Manager, logger *slog.Logger) *wsapi.App {
	app := wsapi.New(&wsapi.Options{Logger: logger})
	// docs:start route
	wsapi.Route(app, "/rooms/{room}", func(ctx context.Context, ws *wsapi.Conn, p *RoomParams) error {
		if err := manager.Connect(ctx, ws, p.Room); err != nil { // accepts, registers, joins
			return err
		}
		// A broadcast error means the broker failed: this server's clients
		// got the message, other servers' did not. Log it and go on.
		send := func(ctx context.Context, to wsapi.Audience, text string) {
			if err := to.Broadcast(ctx, text); err != nil {
				logger.Warn("broadcast reached this server only", "err", err)
			}
		}
		room := manager.Room(p.Room)
		err := func() error { // until the client leaves
			for {
				text, err := ws.ReceiveText(ctx)
				if err != nil {
					return err
				}
				cmd, arg, _ := strings.Cut(text, " ")
				switch cmd {
				case "/who":
					err = ws.SendText(ctx, fmt.Sprintf("%d in %s on this server", room.Len(), p.Room))
				case "/join":
					err = manager.Join(ws, arg)
				case "/leave":
					manager.Leave(ws, arg)
				case "/to":
					to, msg, _ := strings.Cut(arg, " ")
					send(ctx, manager.Room(to), p.Name+" to "+to+": "+msg)
				case "/all":
					send(ctx, manager.Except(ws), p.Name+" to all: "+arg)
				default:
					send(ctx, room.Except(ws), p.Name+": "+text)
				}
				if err != nil {
					return err
				}
			}
		}()
		if wsapi.IsDisconnect(err) {
			// The client left: the manager dropped it from its rooms already.
			send(ctx, room, p.Name+" left")
			return nil
		}
		return err
	})
	// docs:end route
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return app
}

// newNodes returns the apps of n servers. Unless broker is nil, their
// managers share it with each other and with other processes.
func newNodes(ctx context.Context, n int, broker wsapi.Broker, logger *slog.Logger) ([]*wsapi.App, error) {
	apps := make([]*wsapi.App, n)
	for i := range apps {
		// docs:start broker
		manager := wsapi.NewManager(nil) // the same Topic on every process: default "wsapi"
		if broker != nil {
			// From here on, broadcasts reach the clients of every process.
			if err := manager.UseBroker(ctx, broker); err != nil {
				return nil, err
			}
		}
		// docs:end broker
		apps[i] = newApp(manager, logger.With("node", i+1))
	}
	return apps, nil
}

// docs:start dial
// dialBroker connects to the broker named by a redis:// or nats:// URL.
// Both Dial functions fail when the server cannot be reached, and give up
// when ctx is done.
func dialBroker(ctx context.Context, url string) (wsapi.Broker, error) {
	switch {
	case strings.HasPrefix(url, "redis://"), strings.HasPrefix(url, "rediss://"):
		return redisbroker.Dial(ctx, url, nil)
	case strings.HasPrefix(url, "nats://"):
		return natsbroker.Dial(ctx, url, nil)
	}
	return nil, fmt.Errorf("rooms: -broker %q: use redis://host:port or nats://host:port", url)
}

// docs:end dial

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx is done, then closes every connection with 1001.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rooms", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address of the first server; the others take the next ports")
	nodes := fs.Int("nodes", 1, "how many servers to run, sharing an in-memory broker")
	brokerURL := fs.String("broker", "", "share the rooms with other processes: redis://host:port or nats://host:port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	var broker wsapi.Broker // nil: this process only
	switch {
	case *brokerURL != "":
		if broker, err = dialBroker(ctx, *brokerURL); err != nil {
			return err
		}
		defer broker.Close()
	case *nodes > 1:
		broker = wsapi.NewMemoryBroker()
		defer broker.Close()
	}
	logger := slog.New(slog.NewTextHandler(out, nil))
	apps, err := newNodes(ctx, *nodes, broker, logger)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(apps))
	for i, app := range apps {
		p := port
		if p != "0" {
			var n int
			fmt.Sscan(port, &n)
			p = fmt.Sprint(n + i)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "wsapi rooms: open http://localhost:%d/ in a browser (Ctrl-C to stop)\n", ln.Addr().(*net.TCPAddr).Port)
		wg.Go(func() { errs[i] = app.Serve(ctx, ln) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
