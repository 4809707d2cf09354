package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// bearer offers the token as the browser page does:
// new WebSocket(url, ["bearer", token]).
func bearer(token string) *wsapitest.DialOptions {
	return &wsapitest.DialOptions{Subprotocols: []string{"bearer", token}}
}

func TestFeedBindsEverything(t *testing.T) {
	c := wsapitest.New(t, newApp(nil), nil)
	ws := c.Connect("/feed/lobby?tag=go&tag=ws&since=2026-01-02T03:04:05Z",
		&wsapitest.DialOptions{Subprotocols: []string{"bearer", "alice-token"}, Header: http.Header{"Accept-Language": {"es"}}})
	if ws.Subprotocol() != "bearer" {
		t.Fatalf("agreed on %q, want the marker, never the token", ws.Subprotocol())
	}
	want := `{"room":"lobby","user":"alice","limit":10,"since":"2026-01-02T03:04:05Z","tags":["go","ws"],"lang":"es"}`
	if got := ws.ReceiveText(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	ws.Close()

	ws = c.Connect("/feed/lobby", bearer("bob-token"))
	want = `{"room":"lobby","user":"bob","limit":10,"since":null,"tags":null,"lang":"en"}`
	if got := ws.ReceiveText(); got != want {
		t.Fatalf("defaults: got  %s\nwant %s", got, want)
	}
	ws.Close()
}

// TestSettingsShareTheFilters: the HTTP route binds and validates the same
// Filters dependency as the WebSocket route.
func TestSettingsShareTheFilters(t *testing.T) {
	c := wsapitest.New(t, newApp(nil), nil)
	want := `{"room":"lobby","user":"","limit":5,"since":null,"tags":["go"],"lang":"en"}`
	if got := body(t, c, "/feed/lobby/settings?limit=5&tag=go"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	resp := c.Get("/feed/lobby/settings?limit=0")
	got, _ := io.ReadAll(resp.Body)
	want = `{"detail":[{"loc":["query","limit"],"msg":"limit must be 1 or greater","type":"min"}],"endpoint":"GET /feed/{room}/settings"}`
	if resp.StatusCode != http.StatusUnprocessableEntity || string(got) != want+"\n" && string(got) != want {
		t.Fatalf("limit=0: %d %s", resp.StatusCode, got)
	}
}

func TestSessionCloseRunsAfterHandler(t *testing.T) {
	c := wsapitest.New(t, newApp(nil), nil)
	ws := c.Connect("/feed/lobby", bearer("alice-token"))
	ws.ReceiveText()
	if got := body(t, c, "/online"); got != `["alice"]` {
		t.Fatalf("online while connected: %s", got)
	}
	ws.Close() // waits for the handler to return and the dependencies to close
	if got := body(t, c, "/online"); got != `[]` {
		t.Fatalf("online after leaving: %s", got)
	}
}

func TestRefusals(t *testing.T) {
	c := wsapitest.New(t, newApp(nil), nil)
	tests := []struct {
		path   string
		opts   *wsapitest.DialOptions
		status int
		body   string
	}{
		{"/feed/lobby", nil, 422,
			`{"detail":[{"loc":["protocol","bearer"],"msg":"field required","type":"missing"}],"endpoint":"WS /feed/{room}"}`},
		{"/feed/lobby", bearer("nope"), 401,
			`{"code":1008,"detail":"unknown token"}`},
		{"/feed/lob-by?limit=0&since=yesterday", bearer("alice-token"), 422,
			`{"detail":[` +
				`{"loc":["query","since"],"msg":"invalid value: parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as \"2006\"","type":"value_error"},` +
				`{"loc":["query","limit"],"msg":"limit must be 1 or greater","type":"min"},` +
				`{"loc":["path","room"],"msg":"room can only contain alphanumeric characters","type":"alphanum"}],` +
				`"endpoint":"WS /feed/{room}"}`},
		{"/admin/ws", bearer("bob-token"), 403,
			`{"code":4003,"detail":"admins only"}`},
	}
	for _, tt := range tests {
		_, err := c.Dial(tt.path, tt.opts)
		var he *wsapitest.HandshakeError
		if !errors.As(err, &he) {
			t.Fatalf("%s: want a refused handshake, got %v", tt.path, err)
		}
		if he.StatusCode != tt.status || string(he.Body) != tt.body {
			t.Errorf("%s: got %d %s\nwant %d %s", tt.path, he.StatusCode, he.Body, tt.status, tt.body)
		}
		if got := he.Header.Get("WWW-Authenticate"); (tt.status == 401) != (got == `Bearer realm="feed"`) {
			t.Errorf("%s: WWW-Authenticate %q", tt.path, got)
		}
	}
	if got := body(t, c, "/online"); got != `[]` {
		t.Fatalf("a refused connection left someone online: %s", got)
	}
}

func TestGroupGuard(t *testing.T) {
	c := wsapitest.New(t, newApp(nil), nil)
	ws := c.Connect("/admin/ws", bearer("alice-token"))
	if got := ws.ReceiveText(); got != "welcome, admin" {
		t.Fatalf("got %q", got)
	}
	ws.ExpectClose(wsapi.CloseNormalClosure)
}

// docs:start reject-after-accept
func TestRejectAfterAccept(t *testing.T) {
	// Browsers cannot read the status of a refused handshake; with
	// RejectAfterAccept the refusal is a close code and reason instead.
	app := newApp(&wsapi.Options{RejectAfterAccept: true})
	c := wsapitest.New(t, app, nil)

	ws := c.Connect("/feed/lobby", bearer("nope")) // the handshake succeeds...
	if reason := ws.ExpectClose(wsapi.ClosePolicyViolation); reason != "unknown token" {
		t.Fatalf("reason %q", reason)
	}
	ws = c.Connect("/feed/lobby?limit=0", bearer("alice-token"))
	if reason := ws.ExpectClose(wsapi.ClosePolicyViolation); reason != "wsapi: invalid value for WS /feed/{room}: query.limit: limit must be 1 or greater" {
		t.Fatalf("reason %q", reason)
	}
}

// docs:end reject-after-accept

// docs:start registration-panic
func TestWrongDeclarationPanicsAtRegistration(t *testing.T) {
	type Params struct {
		ID string `path:"id"` // the pattern below has no {id}
	}
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, `field Params.ID has path:"id" but the pattern has no {id} wildcard`) {
			t.Fatalf("panic %q", msg)
		}
	}()
	wsapi.Route(wsapi.New(nil), "/items/{item_id}", func(ctx context.Context, ws *wsapi.Conn, p *Params) error {
		return nil
	})
}

// docs:end registration-panic

func body(t *testing.T, c *wsapitest.Client, path string) string {
	t.Helper()
	resp := c.Get(path)
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return strings.TrimSpace(string(b))
}
