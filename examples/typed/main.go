// Command typed is a chat with rooms that speaks typed JSON messages: the
// route /chat?name=NICK dispatches each message on its "type" field to a
// handler registered with wsapi.On (join, leave, say, nick, react), checks
// it against its Go type's validate tags, and answers an invalid or unknown
// message with an "error" message, keeping the connection open. The server
// sends welcome, joined, presence, message and reaction messages.
//
// The app documents itself: GET /asyncapi.json and /asyncapi.yaml serve
// its AsyncAPI 3.0 document, and GET /asyncapi shows it in the browser.
// GET / serves an HTML client.
//
//	go run ./examples/typed            # then open http://localhost:8000/ in two tabs
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/asyncapi"
)

//go:embed index.html
var page []byte

// docs:start info
// info describes the app in its AsyncAPI document.
var info = asyncapi.Info{
	Title:       "wsapi typed chat",
	Version:     "1.0.0",
	Description: "A chat with rooms over one WebSocket connection, in typed JSON messages. Try it at [/](/).",
	Messages: map[string]asyncapi.MessageDoc{
		"join":     {Summary: "Join a room.", Examples: []any{Join{Room: "games"}}},
		"leave":    {Summary: "Leave a room."},
		"say":      {Summary: "Say something in a room you are in.", Examples: []any{Say{Room: "lobby", Text: "hello"}}},
		"nick":     {Summary: "Change your nickname."},
		"react":    {Summary: "React to a message of a room you are in.", Examples: []any{React{Room: "lobby", MessageID: 1, Emoji: "🎉"}}},
		"welcome":  {Summary: "Sent once connected: your nickname and rooms."},
		"joined":   {Summary: "The answer to join."},
		"presence": {Summary: "Someone joined or left one of your rooms, or changed nickname."},
		"message":  {Summary: "Someone said something in one of your rooms."},
		"reaction": {Summary: "Someone reacted to a message of one of your rooms."},
	},
}

// docs:end info

// newApp builds the app; main and the tests share it.
func newApp() *wsapi.App {
	app := wsapi.New(nil)
	chat(app, wsapi.NewManager(nil))
	// docs:start mount
	asyncapi.Mount(app, info) // GET /asyncapi.json, /asyncapi.yaml and /asyncapi
	// docs:end mount
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return app
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx is done, then closes every connection with 1001.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("typed", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	fmt.Fprintf(out, "wsapi typed: open http://localhost:%d/ in two browser tabs, and http://localhost:%d/asyncapi for the API (Ctrl-C to stop)\n", port, port)
	return newApp().Serve(ctx, ln)
}
