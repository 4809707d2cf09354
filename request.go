package wsapi

import (
	"bufio"
	"context"
	"crypto/tls"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// requestRecord is what an accepted connection keeps of its handshake
// request: what Conn.Request needs to rebuild it, in a fraction of the
// memory of net/http's parsed request (its header map above all), which
// an idle connection would otherwise hold for its whole life.
type requestRecord struct {
	uri, host, remote string   // as the request line and net/http gave them
	header            string   // "Key: value\r\n" lines
	pathValues        []string // the route's wildcards: name, value, name, value...
	subprotocol       string   // agreed by Accept
	tls               *tls.ConnectionState
	ctx               context.Context
	// The method is GET and the protocol HTTP/1.1: checkHandshake refuses
	// anything else.
}

// request returns the handshake request, rebuilt once from the record
// after Accept.
func (c *Conn) request() *http.Request {
	if r := c.req.Load(); r != nil {
		return r
	}
	rec := c.record.Load()
	if rec == nil {
		return nil // the test helpers' connections have no request
	}
	r := rec.rebuild(c.route.pattern)
	if !c.req.CompareAndSwap(nil, r) {
		return c.req.Load() // another goroutine rebuilt it first
	}
	return r
}

// compactRequest replaces the handshake request with its record. It runs
// once Accept has answered the handshake: nothing of the request is needed
// after that but what Conn.Request, RemoteAddr and the logs read.
func (c *Conn) compactRequest(subprotocol string) {
	r := c.req.Load()
	if r == nil {
		return
	}
	size := 0
	for k, vs := range r.Header {
		if isHandshakeDefault(k, vs) {
			continue
		}
		for _, v := range vs {
			size += len(k) + len(v) + 4
		}
	}
	var h strings.Builder
	h.Grow(size) // one allocation of the exact size
	for k, vs := range r.Header {
		if isHandshakeDefault(k, vs) {
			continue
		}
		for _, v := range vs {
			h.WriteString(k)
			h.WriteString(": ")
			h.WriteString(v)
			h.WriteString("\r\n")
		}
	}
	rec := &requestRecord{uri: r.RequestURI, host: r.Host, remote: r.RemoteAddr,
		header: h.String(), subprotocol: subprotocol, tls: r.TLS, ctx: c.ctx}
	for _, name := range patternWildcards(c.route.pattern) {
		rec.pathValues = append(rec.pathValues, name, r.PathValue(name))
	}
	c.record.Store(rec)
	c.req.Store(nil) // after the record: a reader that sees nil finds the record
}

// handshakeDefaults are headers every accepted handshake has (checkHandshake
// and the upgrader refuse a request without them), in their usual form. The
// record leaves out those that have exactly this form, and rebuild puts
// back any that is missing.
var handshakeDefaults = [...][2]string{{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-Websocket-Version", "13"}}

func isHandshakeDefault(k string, vs []string) bool {
	for _, d := range handshakeDefaults {
		if k == d[0] {
			return len(vs) == 1 && vs[0] == d[1]
		}
	}
	return false
}

// rebuild makes an *http.Request from the record, as net/http parsed it.
func (rec *requestRecord) rebuild(pattern string) *http.Request {
	u, err := url.ParseRequestURI(rec.uri)
	if err != nil {
		u = &url.URL{}
	}
	header := http.Header{}
	if rec.header != "" {
		tp := textproto.NewReader(bufio.NewReader(strings.NewReader(rec.header + "\r\n")))
		if mh, err := tp.ReadMIMEHeader(); err == nil {
			header = http.Header(mh)
		}
	}
	for _, d := range handshakeDefaults {
		if _, ok := header[d[0]]; !ok {
			header[d[0]] = []string{d[1]}
		}
	}
	r := &http.Request{
		Method: http.MethodGet, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: header,
		Body: http.NoBody, Host: rec.host, RemoteAddr: rec.remote, RequestURI: rec.uri, TLS: rec.tls, Pattern: pattern,
	}
	for i := 0; i+1 < len(rec.pathValues); i += 2 {
		r.SetPathValue(rec.pathValues[i], rec.pathValues[i+1])
	}
	return r.WithContext(rec.ctx)
}

// remoteAddr and requestPath are what logs say of a connection's client
// and path, before and after Accept.
func (c *Conn) remoteAddr() string {
	if rec := c.record.Load(); rec != nil {
		return rec.remote
	}
	if r := c.req.Load(); r != nil {
		return r.RemoteAddr
	}
	return ""
}

func (c *Conn) requestPath() string {
	if rec := c.record.Load(); rec != nil {
		path, _, _ := strings.Cut(rec.uri, "?")
		return path
	}
	if r := c.req.Load(); r != nil {
		return r.URL.Path
	}
	return ""
}

// requestContext is the handshake request's context.
func (c *Conn) requestContext() context.Context {
	if rec := c.record.Load(); rec != nil {
		return rec.ctx
	}
	if r := c.req.Load(); r != nil {
		return r.Context()
	}
	return context.Background()
}
