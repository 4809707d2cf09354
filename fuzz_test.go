package wsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bindTarget covers each kind of setter.
type bindTarget struct {
	I   int           `query:"i"`
	I8  int8          `query:"i8"`
	U   uint32        `query:"u"`
	F   float64       `query:"f"`
	B   bool          `query:"b"`
	D   *int64        `query:"d"`
	S   []uint16      `query:"s"`
	Dur time.Duration `header:"X-Dur"`
}

func FuzzBind(f *testing.F) {
	f.Add("1", "-8", "7", "1.5", "true", "9", "1", "1s")
	f.Add("x", "300", "-1", "nan", "maybe", "", "70000", "soon")
	f.Fuzz(func(t *testing.T, i, i8, u, fl, b, d, s, dur string) {
		q := url.Values{"i": {i}, "i8": {i8}, "u": {u}, "f": {fl}, "b": {b}, "d": {d}, "s": {s, "2"}}
		r := httptest.NewRequest("GET", "/x?"+q.Encode(), nil)
		r.Header = http.Header{"X-Dur": {dur}}
		app := New(quietOptions(Options{}))
		c := newConn(app, &route{app: app, pattern: "/x"}, nil, r, 1, time.Now())
		st := &depState{app: app, pattern: "/x", c: c, r: r, base: r.Context()}
		var v bindTarget
		if err := st.resolveRoot(context.Background(), planFor(reflect.TypeFor[bindTarget]()), reflect.ValueOf(&v)); err != nil {
			t.Fatal(err)
		}
		failed := map[string]bool{}
		for _, fe := range st.errs {
			failed[fe.Loc[1]] = true
		}
		// The binder must agree with strconv, field by field.
		check := func(name string, ok bool) {
			if failed[name] == ok {
				t.Fatalf("%s: binder failed=%v, strconv ok=%v (%+v)", name, failed[name], ok, st.errs)
			}
		}
		n, err := strconv.ParseInt(i, 10, 64)
		check("i", err == nil)
		if err == nil && int64(v.I) != n {
			t.Fatalf("i: bound %d, parsed %d", v.I, n)
		}
		_, err = strconv.ParseInt(i8, 10, 8)
		check("i8", err == nil)
		_, err = strconv.ParseUint(u, 10, 32)
		check("u", err == nil)
		_, err = strconv.ParseFloat(fl, 64)
		check("f", err == nil)
		_, ok := parseBool(b)
		check("b", ok)
		_, err = strconv.ParseInt(d, 10, 64)
		check("d", err == nil)
		_, err = strconv.ParseUint(s, 10, 16)
		check("s", err == nil)
		_, err = time.ParseDuration(dur)
		check("X-Dur", err == nil)
	})
}

// FuzzHandshake sends arbitrary handshakes through the whole app: whatever
// the request, the app answers with a status that fits and a JSON body,
// and never panics.
func FuzzHandshake(f *testing.F) {
	f.Add("GET", "/ws", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==", "", "token=t&n=1")
	f.Add("POST", "/ws", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==", "", "")
	f.Add("GET", "/ws", "websocket", "Upgrade", "8", "short", "http://evil.example", "n=x")
	f.Add("GET", "/nowhere", "WebSocket", "keep-alive, Upgrade", "", "", "null", "")
	f.Add("GET", "/ws", "", "", "13", "", "", "")
	app := New(quietOptions(Options{}))
	type P struct {
		Token string `query:"token"`
		N     *int   `query:"n" validate:"omitempty,min=1"`
	}
	Route(app, "/ws", func(ctx context.Context, c *Conn, p *P) error { return c.Accept(ctx, nil) })
	app.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {})
	// ServeMux redirects unclean paths such as "/." (301, 307, 308).
	allowed := map[int]bool{200: true, 301: true, 307: true, 308: true, 400: true, 403: true, 404: true, 405: true, 422: true, 426: true, 500: true, 505: true}
	f.Fuzz(func(t *testing.T, method, path, upgrade, connection, version, key, origin, query string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?#\x00") {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Method = method
		r.URL = &url.URL{Path: path, RawQuery: query}
		r.RequestURI = path
		for k, v := range map[string]string{"Upgrade": upgrade, "Connection": connection,
			"Sec-Websocket-Version": version, "Sec-Websocket-Key": key, "Origin": origin} {
			if v != "" {
				r.Header[k] = []string{v}
			}
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r) // a recorder cannot be hijacked: a valid handshake fails in Accept
		if !allowed[w.Code] {
			t.Fatalf("status %d for %s %s", w.Code, method, path)
		}
		if w.Code >= 400 && w.Header().Get("Content-Type") == "application/json" && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("status %d with a body that is not JSON: %q", w.Code, w.Body)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
