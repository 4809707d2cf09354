package asyncapi_test

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/asyncapi"
)

// docs:start example
type ExampleParams struct {
	Room string `path:"room" validate:"oneof=lobby games" description:"The room to enter."`
	Name string `query:"name" validate:"required,max=20"`
}

type ExampleSay struct {
	Text string `json:"text" validate:"required,max=200"`
}

type ExampleSaid struct {
	From string `json:"from"`
	Text string `json:"text"`
}

func exampleApp() *wsapi.App {
	app := wsapi.New(nil)
	room := wsapi.Route(app, "/rooms/{room}", func(ctx context.Context, ws *wsapi.Conn, p *ExampleParams) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.Dispatch(ctx)
	}).With(&wsapi.EndpointOptions{Title: "Room"})
	wsapi.On(room, "say", func(ctx context.Context, ws *wsapi.Conn, msg ExampleSay) error {
		p := wsapi.Dependency[ExampleParams](ws)
		return ws.SendJSON(ctx, wsapi.Typed("said", ExampleSaid{From: p.Name, Text: msg.Text}))
	})
	wsapi.Emits[ExampleSaid](room, "said")
	return app
}

func ExampleDocument() {
	spec, err := asyncapi.Document(exampleApp(), asyncapi.Info{Title: "Rooms", Version: "1.0.0"})
	if err != nil {
		log.Fatal(err)
	}
	yaml, err := spec.YAML()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(yaml)) // testdata/rooms.yaml
}

// docs:end example

var update = flag.Bool("update", false, "rewrite testdata/rooms.yaml")

// TestExampleDocument checks the output of ExampleDocument against
// testdata/rooms.yaml, which the documentation shows.
func TestExampleDocument(t *testing.T) {
	doc(t, exampleApp(), asyncapi.Info{Title: "Rooms", Version: "1.0.0"}) // valid AsyncAPI
	s, err := asyncapi.Document(exampleApp(), asyncapi.Info{Title: "Rooms", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.YAML()
	if err != nil {
		t.Fatal(err)
	}
	const start, end = "# docs:start rooms-yaml\n", "# docs:end rooms-yaml\n"
	if *update {
		if err := os.WriteFile("testdata/rooms.yaml", []byte(start+string(got)+end), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/rooms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.TrimSuffix(strings.TrimPrefix(string(want), start), end); string(got) != w {
		t.Errorf("the document differs from testdata/rooms.yaml (go test -run TestExampleDocument -update rewrites it):\n%s", got)
	}
}
