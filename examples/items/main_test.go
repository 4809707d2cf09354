package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/wsapi-go/wsapi/wsapitest"
)

func TestTokenInQuery(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	ws := c.Connect("/items/foo/ws?token=some-token", nil)
	for range 2 {
		ws.SendText("hi")
		if got := ws.ReceiveText(); got != "Session or token: some-token" {
			t.Fatalf("got %q", got)
		}
	}
	ws.Close()
}

func TestSessionCookieWinsOverToken(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	ws := c.Connect("/items/foo/ws", &wsapitest.DialOptions{Cookies: []*http.Cookie{{Name: "session", Value: "cookie-value"}}, Query: url.Values{"token": {"tok"}}})
	ws.SendText("hi")
	if got := ws.ReceiveText(); got != "Session or token: cookie-value" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
}

func TestNeitherCookieNorTokenIsRefused(t *testing.T) {
	c := wsapitest.New(t, newApp(), nil)
	_, err := c.Dial("/items/foo/ws", nil)
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Fatalf("want a 403 handshake error, got %v", err)
	}
	var body struct {
		Detail string `json:"detail"`
		Code   int    `json:"code"`
	}
	if err := json.Unmarshal(he.Body, &body); err != nil || body.Code != 1008 || body.Detail == "" {
		t.Fatalf("body %s: want {detail, code: 1008} (err %v)", he.Body, err)
	}
}
