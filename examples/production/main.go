// Command production serves a small WebSocket app the way the deployment,
// security and observability guides describe: explicit limits and allowed
// origins, the app mounted under /api/ in an http.ServeMux beside a health
// check and Prometheus metrics, its own http.Server, the client's address
// taken from X-Forwarded-For only when the request comes from a proxy on
// the same host, and a graceful shutdown that closes WebSocket connections
// with 1001.
//
//	go run ./examples/production      # ws://localhost:8000/api/ws, /api/room, http://localhost:8000/healthz, /metrics
package main

import (
	"context"
	"errors"
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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/otelwsapi"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// docs:start clientip
// ClientIP is the client's IP address. Behind a reverse proxy,
// Request.RemoteAddr is the proxy's address; the proxy appends the
// client's to X-Forwarded-For. Anyone can send that header, so it is only
// believed when the request comes from the proxy, here on the same host.
type ClientIP struct {
	Forwarded []string      `header:"X-Forwarded-For"` // one entry per header line
	Req       *http.Request // injected
	IP        string
}

func (c *ClientIP) Resolve(ctx context.Context) error {
	host, _, err := net.SplitHostPort(c.Req.RemoteAddr)
	if err != nil {
		return err
	}
	c.IP = host
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() && len(c.Forwarded) > 0 {
		hops := strings.Split(c.Forwarded[len(c.Forwarded)-1], ",")
		c.IP = strings.TrimSpace(hops[len(hops)-1]) // the hop our proxy added
	}
	return nil
}

// docs:end clientip

type Params struct {
	Client ClientIP
}

// docs:start telemetry
// telemetry is the metrics pipeline: an OpenTelemetry MeterProvider whose
// reader is the Prometheus exporter, on a registry of its own, and the
// observer that feeds it from the app and its manager.
type telemetry struct {
	Observer *wsapi.Observer
	Metrics  http.Handler // serves the registry in Prometheus's format
	provider *sdkmetric.MeterProvider
}

func newTelemetry() (*telemetry, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		sdkmetric.WithResource(resource.NewSchemaless(semconv.ServiceName("wsapi-production"))),
	)
	obs, err := otelwsapi.NewObserver(&otelwsapi.Options{MeterProvider: provider})
	if err != nil {
		return nil, err
	}
	return &telemetry{
		Observer: obs,
		Metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		provider: provider,
	}, nil
}

// docs:end telemetry

// newApp returns the app, reporting to obs (nil for none).
func newApp(obs *wsapi.Observer) *wsapi.App {
	// docs:start options
	app := wsapi.New(&wsapi.Options{
		// Pages on these hosts may connect, besides the app's own host.
		OriginPatterns: []string{"example.com", "*.example.com"},
		ReadLimit:      64 << 10, // 64 KiB per message; larger closes with 1009
		MaxConnections: 10_000,   // further handshakes get 503
		WriteTimeout:   5 * time.Second,
		PingInterval:   25 * time.Second, // below the proxy's read timeout
		IdleTimeout:    60 * time.Second,
		Observer:       obs, // metrics: see newTelemetry
	})
	// docs:end options
	wsapi.Route(app, "/ws", func(ctx context.Context, ws *wsapi.Conn, p *Params) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		if err := ws.SendText(ctx, "hello "+p.Client.IP); err != nil {
			return err
		}
		for {
			text, err := ws.ReceiveText(ctx)
			if err != nil {
				return err
			}
			if err := ws.SendText(ctx, fmt.Sprintf("%d bytes", len(text))); err != nil {
				return err
			}
		}
	})
	// docs:start room
	// /room: every text message goes to every client of the room.
	manager := wsapi.NewManager(&wsapi.ManagerOptions{Observer: obs})
	app.WS("/room", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := manager.Connect(ctx, ws); err != nil {
			return err
		}
		for {
			text, err := ws.ReceiveText(ctx)
			if err != nil {
				return err
			}
			if err := manager.Broadcast(ctx, text); err != nil {
				return err
			}
		}
	})
	// docs:end room
	return app
}

// docs:start mux
// newMux mounts the app under /api/: its /ws route answers at /api/ws.
// metrics, when not nil, answers at /metrics.
func newMux(app *wsapi.App, metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", app))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return mux
}

// docs:end mux

// docs:start serve
// serve serves mux on ln until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, app *wsapi.App, mux http.Handler) error {
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second, // against slow handshakes
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// srv.Shutdown stops accepting and waits for HTTP requests, but it
	// does not track the connections WebSocket handshakes took over:
	// app.Shutdown closes those with 1001 and waits for their handlers.
	return errors.Join(srv.Shutdown(sctx), app.Shutdown(sctx))
}

// docs:end serve

// docs:start main
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// docs:end main

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("production", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	tel, err := newTelemetry()
	if err != nil {
		ln.Close()
		return err
	}
	defer tel.provider.Shutdown(context.Background())
	port := ln.Addr().(*net.TCPAddr).Port
	fmt.Fprintf(out, "wsapi production: ws://localhost:%d/api/ws, http://localhost:%d/healthz, http://localhost:%d/metrics (Ctrl-C to stop)\n", port, port, port)
	app := newApp(tel.Observer)
	return serve(ctx, ln, app, newMux(app, tel.Metrics))
}
