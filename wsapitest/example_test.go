package wsapitest_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// exampleT stands in for the *testing.T a real test has: Example functions
// get none. Failures print; cleanups run at the end.
type exampleT struct {
	testing.TB // only satisfies testing.TB's unexported method; never called
	cleanups   []func()
}

func (t *exampleT) Helper()                   {}
func (t *exampleT) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Logf(string, ...any)       {}
func (t *exampleT) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (t *exampleT) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

func ExampleNew() {
	type Auth struct {
		Token string `query:"token" validate:"required"`
	}
	app := wsapi.New(nil)
	wsapi.Route(app, "/greet", func(ctx context.Context, ws *wsapi.Conn, p *Auth) error {
		if p.Token != "s3cret" {
			return wsapi.Reject(wsapi.ClosePolicyViolation, "unknown token")
		}
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		name, err := ws.ReceiveText(ctx)
		if err != nil {
			return err
		}
		return ws.SendText(ctx, "hello "+name)
	})

	// In a test: c := wsapitest.New(t, app, nil)
	t := &exampleT{}
	defer t.done()
	c := wsapitest.New(t, app, nil)

	ws := c.Connect("/greet", &wsapitest.DialOptions{Query: url.Values{"token": {"s3cret"}}})
	ws.SendText("ann")
	fmt.Println(ws.ReceiveText())
	fmt.Println(ws.ExpectClose(wsapi.CloseNormalClosure) == "") // the handler returned nil

	_, err := c.Dial("/greet", &wsapitest.DialOptions{Query: url.Values{"token": {"nope"}}})
	var he *wsapitest.HandshakeError
	if errors.As(err, &he) {
		fmt.Println(he.StatusCode, string(he.Body))
	}
	// Output:
	// hello ann
	// true
	// 403 {"code":1008,"detail":"unknown token"}
}
