// Package wsapitest tests wsapi apps the way clients meet them: it serves an
// app on a real loopback socket and dials it with a real WebSocket client,
// as net/http/httptest does for HTTP handlers and Starlette's TestClient
// does for FastAPI.
//
// Every receive has a timeout (5s by default), so a broken test fails
// instead of hanging. Conn.Close waits for the server's handler to return,
// so a test can check cleanup right after it; a handler that panicked or
// returned an error the test did not collect with Conn.Wait fails the test.
package wsapitest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsapi-go/wsapi/internal/testhook"
)

// DefaultTimeout bounds every receive, dial and handler wait of a Client
// whose Options leave Timeout zero.
const DefaultTimeout = 5 * time.Second

// idHeader tags a handshake so the server side can report its handler's end.
const idHeader = "Wsapitest-Conn"

// Client serves an app on a loopback listener and opens WebSocket
// connections to it.
type Client struct {
	t       testing.TB
	srv     *httptest.Server
	timeout time.Duration

	mu       sync.Mutex // guards the fields below
	nextID   int
	results  map[string]chan testhook.Result
	conns    []*Conn
	failures []*serverFailure // server failures behind refused handshakes
}

// Options configures a Client. A nil *Options means the defaults.
type Options struct {
	// Timeout bounds every receive, dial and wait for a handler: past it,
	// the test fails instead of hanging. Default DefaultTimeout.
	Timeout time.Duration
}

// New starts serving h (a *wsapi.App, or any handler that contains one) on a
// loopback address. The server and every connection still open are closed
// when the test ends.
func New(t testing.TB, h http.Handler, opts *Options) *Client {
	t.Helper()
	c := &Client{t: t, timeout: DefaultTimeout, results: map[string]chan testhook.Result{}}
	if opts != nil && opts.Timeout > 0 {
		c.timeout = opts.Timeout
	}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ch := c.resultChan(r.Header.Get(idHeader)); ch != nil {
			r = r.WithContext(testhook.With(r.Context(), func(res testhook.Result) {
				select {
				case ch <- res:
				default:
				}
			}))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(c.cleanup)
	return c
}

func (c *Client) resultChan(id string) chan testhook.Result {
	if id == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.results[id]
}

func (c *Client) cleanup() {
	c.mu.Lock()
	conns, failures := c.conns, c.failures
	c.conns, c.failures = nil, nil
	c.mu.Unlock()
	for _, ws := range conns {
		ws.Close()
	}
	c.srv.Close()
	for _, f := range failures {
		f.mu.Lock()
		collected := f.collected
		f.mu.Unlock()
		if !collected {
			c.t.Errorf("wsapitest: the handshake of %s was refused for a failure on the server: %v (collect it with HandshakeError.ServerError to expect it)", f.path, f.err)
		}
	}
}

// URL returns the server's base URL, such as "http://127.0.0.1:41234".
func (c *Client) URL() string { return c.srv.URL }

// HTTPClient returns an HTTP client for the app's plain routes.
func (c *Client) HTTPClient() *http.Client { return c.srv.Client() }

// Get sends a plain GET request for path and returns the response; the body
// is closed when the test ends.
func (c *Client) Get(path string) *http.Response {
	c.t.Helper()
	resp, err := c.srv.Client().Get(c.srv.URL + path)
	if err != nil {
		c.t.Fatalf("wsapitest: GET %s: %v", path, err)
	}
	c.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// DialOptions is what one handshake request carries beyond the handshake
// itself. A nil *DialOptions dials with none of it.
type DialOptions struct {
	// Header holds headers to send. Setting one of the handshake's own
	// headers (Upgrade, Connection, Sec-WebSocket-Version,
	// Sec-WebSocket-Key) replaces the client's value, to test bad
	// handshakes.
	Header http.Header
	// Cookies are sent in a Cookie header.
	Cookies []*http.Cookie
	// Query is added to the path's query string.
	Query url.Values
	// Subprotocols are offered, in order of preference.
	Subprotocols []string
	// Compression offers permessage-deflate (RFC 7692). When the server
	// agrees, the connection compresses what it sends and inflates what it
	// receives; Receive returns the inflated message.
	Compression bool
}

// HandshakeError is the error of a handshake the server refused: its
// status, headers and body are those of the server's HTTP response. When
// the refusal came from a failure on the server (a handler or dependency
// that returned an unexpected error or panicked, answered with 500), the
// error also carries that failure, as FastAPI's TestClient re-raises the
// server's exception: see ServerError.
type HandshakeError struct {
	StatusCode int
	Header     http.Header
	Body       []byte

	server *serverFailure // nil for a deliberate refusal
}

// serverFailure is a server-side failure behind a refused handshake, which
// the test must collect.
type serverFailure struct {
	path      string
	err       error
	mu        sync.Mutex
	collected bool
}

// Error gives the status and the body of the refusal, and the server's
// failure behind it, if any.
func (e *HandshakeError) Error() string {
	msg := fmt.Sprintf("wsapitest: handshake refused: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), bytes.TrimSpace(e.Body))
	if e.server != nil {
		msg += "; on the server: " + e.server.err.Error()
	}
	return msg
}

// ServerError returns the error of the server's handler or dependency that
// made the server refuse the handshake with 500, or an error describing its
// panic; nil for a deliberate refusal (a RejectError, invalid values, a
// handler that returned without accepting). Calling it marks the failure as
// expected by the test: a server failure that no test collects, with
// ServerError or with errors.Is or errors.As on the error, fails the test
// when it ends, as after Accept (see Conn.Wait).
func (e *HandshakeError) ServerError() error {
	if e.server == nil {
		return nil
	}
	e.server.mu.Lock()
	e.server.collected = true
	e.server.mu.Unlock()
	return e.server.err
}

// Unwrap returns ServerError(), so that errors.Is and errors.As reach the
// server's error.
func (e *HandshakeError) Unwrap() error { return e.ServerError() }

// Connect opens a connection to path (which may carry a query string) and
// fails the test if the handshake does not succeed.
func (c *Client) Connect(path string, opts *DialOptions) *Conn {
	c.t.Helper()
	ws, err := c.Dial(path, opts)
	if err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			he.ServerError() // reported here
		}
		c.t.Fatalf("wsapitest: connect %s: %v", path, err)
	}
	return ws
}

// Dial opens a connection to path and returns an error when the handshake
// fails; a refused handshake returns a *HandshakeError.
func (c *Client) Dial(path string, opts *DialOptions) (*Conn, error) {
	u, err := url.Parse(c.srv.URL + path)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.nextID++
	id := strconv.Itoa(c.nextID)
	results := make(chan testhook.Result, 1)
	c.results[id] = results
	c.mu.Unlock()
	ws, err := dial(c.t, u, c.timeout, id, opts)
	var he *HandshakeError
	if errors.As(err, &he) {
		// The server reports how the handler ended right after answering.
		select {
		case res := <-results:
			if failure := res.Failure(); failure != nil {
				he.server = &serverFailure{path: path, err: failure}
				c.mu.Lock()
				c.failures = append(c.failures, he.server)
				c.mu.Unlock()
			}
		case <-time.After(c.timeout):
		}
	}
	if err != nil {
		return nil, err
	}
	ws.results = results
	c.mu.Lock()
	c.conns = append(c.conns, ws)
	c.mu.Unlock()
	return ws, nil
}

// DialURL opens a connection to a server outside the test, such as a
// running example program, at a ws:// URL. Its Close does not wait for a
// handler, which it cannot see; the connection is closed when the test ends.
func DialURL(t testing.TB, rawURL string, opts *DialOptions) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	ws, err := dial(t, u, DefaultTimeout, "", opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(ws.Close)
	return ws, nil
}

func dial(t testing.TB, u *url.URL, timeout time.Duration, id string, opts *DialOptions) (*Conn, error) {
	var cfg DialOptions
	if opts != nil {
		cfg = *opts
	}
	// A copy, with the keys in canonical form whatever the test wrote.
	header := http.Header{}
	for k, vs := range cfg.Header {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	cfg.Header = header
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	default:
		return nil, fmt.Errorf("wsapitest: unsupported scheme %q (use ws:// or http://)", u.Scheme)
	}
	if len(cfg.Query) > 0 {
		q := u.Query()
		for k, vs := range cfg.Query {
			q[k] = append(q[k], vs...)
		}
		u.RawQuery = q.Encode()
	}
	nc, err := net.DialTimeout("tcp", u.Host, timeout)
	if err != nil {
		return nil, err
	}
	key := newKey()
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Host:       u.Host,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     cfg.Header,
	}
	// The handshake headers, unless the test set its own to try a bad one.
	for k, v := range map[string]string{"Upgrade": "websocket", "Connection": "Upgrade",
		"Sec-Websocket-Version": "13", "Sec-Websocket-Key": key} {
		if req.Header.Get(k) == "" {
			req.Header.Set(k, v)
		}
	}
	key = req.Header.Get("Sec-Websocket-Key")
	if id != "" {
		req.Header.Set(idHeader, id)
	}
	if len(cfg.Subprotocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(cfg.Subprotocols, ", "))
	}
	for _, ck := range cfg.Cookies {
		req.AddCookie(ck)
	}
	manualOffer := cfg.Header.Get("Sec-WebSocket-Extensions") != ""
	if cfg.Compression && !manualOffer {
		req.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
	}
	nc.SetDeadline(time.Now().Add(timeout))
	if err := req.Write(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("wsapitest: writing handshake: %w", err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("wsapitest: reading handshake response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		nc.Close()
		return nil, &HandshakeError{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		nc.Close()
		return nil, fmt.Errorf("wsapitest: Sec-WebSocket-Accept is %q, want %q", got, want)
	}
	nc.SetDeadline(time.Time{})
	ws := &Conn{
		t:           t,
		nc:          nc,
		br:          br,
		timeout:     timeout,
		header:      resp.Header,
		subprotocol: resp.Header.Get("Sec-WebSocket-Protocol"),
	}
	// An offer set by hand with WithHeader is the test's business; one made
	// by WithCompression is honoured.
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" && !manualOffer {
		if !cfg.Compression || !strings.HasPrefix(ext, "permessage-deflate") {
			nc.Close()
			return nil, fmt.Errorf("wsapitest: the server agreed to extensions the client did not offer: %q", ext)
		}
		ws.deflate = true
		ws.serverContext = !strings.Contains(ext, "server_no_context_takeover")
	}
	return ws, nil
}

func newKey() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}
