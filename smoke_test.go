package wsapi_test

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

type CookieOrToken struct {
	Session *string `cookie:"session"`
	Token   *string `query:"token"`
	Value   string
}

func (d *CookieOrToken) Resolve(ctx context.Context) error {
	if d.Session == nil && d.Token == nil {
		return wsapi.Reject(wsapi.ClosePolicyViolation, "session cookie or token required")
	}
	d.Value = *cmp.Or(d.Session, d.Token)
	return nil
}

type ItemParams struct {
	ItemID string `path:"item_id"`
	Q      *int   `query:"q" validate:"omitempty,min=1"`
	Auth   CookieOrToken
}

func TestSmoke(t *testing.T) {
	app := wsapi.New(nil)
	app.WS("/ws", func(ctx context.Context, ws *wsapi.Conn) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			data, err := ws.ReceiveText(ctx)
			if err != nil {
				return err
			}
			if err := ws.SendText(ctx, "Message text was: "+data); err != nil {
				return err
			}
		}
	})
	wsapi.Route(app, "/items/{item_id}/ws", func(ctx context.Context, ws *wsapi.Conn, p *ItemParams) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		for {
			if _, err := ws.ReceiveText(ctx); err != nil {
				return err
			}
			if err := ws.SendText(ctx, "Session or token: "+p.Auth.Value); err != nil {
				return err
			}
		}
	})
	c := wsapitest.New(t, app)
	ws := c.Connect("/ws")
	ws.SendText("hello")
	if got := ws.ReceiveText(); got != "Message text was: hello" {
		t.Fatalf("got %q", got)
	}
	ws.Close()

	ws = c.Connect("/items/foo/ws?token=some-token")
	ws.SendText("hi")
	if got := ws.ReceiveText(); got != "Session or token: some-token" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
	_, err := c.Dial("/items/foo/ws")
	var he *wsapitest.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Fatalf("want 403, got %v", err)
	}
	t.Logf("403 body: %s", he.Body)
	_, err = c.Dial("/items/foo/ws?token=x&q=0")
	if !errors.As(err, &he) || he.StatusCode != 422 {
		t.Fatalf("want 422, got %v", err)
	}
	t.Logf("422 body: %s", he.Body)
}
