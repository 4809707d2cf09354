package asyncapi_test

import (
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi/asyncapi"
	"github.com/wsapi-go/wsapi/asyncapi/asyncapitest"
	"github.com/wsapi-go/wsapi/wsapitest"
)

// TestTheDocumentSaysWhatTheAppDoes sends messages to the test app and
// checks both what it sent and what it answered against the payload
// schemas of the document: a message the server takes validates, one it
// refuses does not, and its replies validate.
func TestTheDocumentSaysWhatTheAppDoes(t *testing.T) {
	app := newTestApp()
	spec, err := asyncapi.Document(app, asyncapi.Info{})
	if err != nil {
		t.Fatal(err)
	}
	c := wsapitest.New(t, app, nil)
	ws := c.Connect("/games/g1/ws?player=ann", nil)

	move := `{"kind":"move","from":{"file":"e","rank":2},"to":{"file":"e","rank":4}}`
	if err := asyncapitest.ValidateMessage(spec, "move", []byte(move)); err != nil {
		t.Fatal(err)
	}
	ws.SendText(move)
	reply := ws.ReceiveText()
	if !strings.HasPrefix(reply, `{"kind":"moved",`) {
		t.Fatalf("reply %s", reply)
	}
	if err := asyncapitest.ValidateMessage(spec, "moved", []byte(reply)); err != nil {
		t.Fatalf("%s: %v", reply, err)
	}

	for _, bad := range []string{
		`{"kind":"move","from":{"file":"e","rank":9},"to":{"file":"e","rank":4}}`, // max=8
		`{"kind":"move","from":{"file":"z","rank":2},"to":{"file":"e","rank":4}}`, // oneof
		`{"kind":"move","from":{"file":"e","rank":2}}`,                            // required
		`{"kind":"move","from":{"file":"e","rank":2},"to":{"file":"e","rank":4},"promote":"king"}`,
	} {
		if err := asyncapitest.ValidateMessage(spec, "move", []byte(bad)); err == nil {
			t.Errorf("the document accepts %s", bad)
		}
		ws.SendText(bad)
		problem := ws.ReceiveText()
		if !strings.HasPrefix(problem, `{"kind":"problem","detail":[`) {
			t.Fatalf("sent %s, got %s", bad, problem)
		}
		if err := asyncapitest.ValidateMessage(spec, "problem", []byte(problem)); err != nil {
			t.Fatalf("%s: %v", problem, err)
		}
	}
	ws.SendText(`{"kind":"dance"}`)
	if err := asyncapitest.ValidateMessage(spec, "problem", []byte(ws.ReceiveText())); err != nil {
		t.Fatal(err)
	}
	ws.Close()

	if err := asyncapitest.ValidateMessage(spec, "nope", []byte(`{}`)); err == nil {
		t.Error("an unknown message validated")
	}
}
