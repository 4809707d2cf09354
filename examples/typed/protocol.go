package main

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/wsapi-go/wsapi"
)

// docs:start session
// Session is the route's params struct: the handshake's query values, and
// the connection's own state, which the message handlers reach with
// wsapi.Dependency.
type Session struct {
	Name string `query:"name" validate:"required,min=2,max=20,alphanum" description:"Your nickname." example:"ann"`
	Room string `query:"room" default:"lobby" validate:"alphanum,max=20" description:"The room to enter first."`

	rooms []string // the rooms joined; unexported fields are private state
}

// docs:end session

// docs:start incoming
// The messages clients send. Their "type" field names them; wsapi.On
// decodes the rest into these types and checks their validate tags.

// Join enters a room.
type Join struct {
	Room string `json:"room" validate:"required,alphanum,max=20" description:"The room to join." example:"games"`
}

// Leave leaves a room.
type Leave struct {
	Room string `json:"room" validate:"required,alphanum,max=20"`
}

// Say sends text to a room the client is in.
type Say struct {
	Room string `json:"room" validate:"required,alphanum,max=20" example:"lobby"`
	Text string `json:"text" validate:"required,max=500" example:"hello"`
}

// Nick changes the client's nickname.
type Nick struct {
	Name string `json:"name" validate:"required,min=2,max=20,alphanum" example:"annie"`
}

// React reacts to a message of a room.
type React struct {
	Room      string `json:"room" validate:"required,alphanum,max=20"`
	MessageID int64  `json:"message_id" validate:"required,min=1" description:"The id of the message reacted to."`
	Emoji     string `json:"emoji" validate:"required,oneof=👍 ❤️ 😂 🎉"`
}

// docs:end incoming

// docs:start outgoing
// The messages the server sends, declared with wsapi.Emits and sent with
// wsapi.Typed, which adds the "type" field.

// Welcome greets a client that connected.
type Welcome struct {
	Name  string   `json:"name"`
	Rooms []string `json:"rooms"`
}

// Joined confirms a Join.
type Joined struct {
	Room    string `json:"room"`
	Members int    `json:"members" description:"How many clients are in the room, the joiner included."`
}

// Presence tells a room that someone came, left or changed nickname.
type Presence struct {
	Room  string `json:"room"`
	Name  string `json:"name"`
	Event string `json:"event" validate:"oneof=joined left renamed"`
	Was   string `json:"was,omitempty" description:"The previous nickname, for renamed."`
}

// Message is a Say, as the room's members receive it.
type Message struct {
	ID   int64     `json:"id"`
	Room string    `json:"room"`
	From string    `json:"from"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Reaction is a React, as the room's members receive it.
type Reaction struct {
	Room      string `json:"room"`
	MessageID int64  `json:"message_id"`
	From      string `json:"from"`
	Emoji     string `json:"emoji"`
}

// docs:end outgoing

// chat registers the chat protocol on app at /chat, its rooms kept by
// manager.
func chat(app *wsapi.App, manager *wsapi.Manager) {
	var lastID atomic.Int64

	// docs:start route
	ep := wsapi.Route(app, "/chat", func(ctx context.Context, ws *wsapi.Conn, s *Session) error {
		if err := manager.Connect(ctx, ws, s.Room); err != nil { // accepts and joins the first room
			return err
		}
		s.rooms = []string{s.Room}
		presence(ctx, manager, ws, s.Room, Presence{Name: s.Name, Event: "joined"})
		if err := ws.SendJSON(ctx, wsapi.Typed("welcome", Welcome{Name: s.Name, Rooms: s.rooms})); err != nil {
			return err
		}
		err := ws.Dispatch(ctx) // dispatches the messages to the On handlers until the client leaves
		for _, room := range s.rooms {
			presence(ctx, manager, nil, room, Presence{Name: s.Name, Event: "left"})
		}
		return err
	}).With(&wsapi.EndpointOptions{
		Title:       "Chat",
		Summary:     "Chat in rooms.",
		Description: "Connect with `?name=NICK`, then send JSON messages whose `type` field names them. Invalid messages are answered with an `error` message, and the connection stays open.",
		Tags:        []string{"chat"},
		MessageRate: 20, // per second, on average; more closes the connection with 1008
	})
	// docs:end route

	// docs:start handlers
	wsapi.On(ep, "join", func(ctx context.Context, ws *wsapi.Conn, msg Join) error {
		s := wsapi.Dependency[Session](ws)
		if slices.Contains(s.rooms, msg.Room) {
			return notAllowed("room", "you are in room "+msg.Room+" already")
		}
		if err := manager.Join(ws, msg.Room); err != nil {
			return err
		}
		s.rooms = append(s.rooms, msg.Room)
		presence(ctx, manager, ws, msg.Room, Presence{Name: s.Name, Event: "joined"})
		return ws.SendJSON(ctx, wsapi.Typed("joined", Joined{Room: msg.Room, Members: manager.Room(msg.Room).Len()}))
	})
	wsapi.On(ep, "say", func(ctx context.Context, ws *wsapi.Conn, msg Say) error {
		s := wsapi.Dependency[Session](ws)
		if !slices.Contains(s.rooms, msg.Room) {
			return notAllowed("room", "join room "+msg.Room+" first")
		}
		out := Message{ID: lastID.Add(1), Room: msg.Room, From: s.Name, Text: msg.Text, At: time.Now().UTC()}
		return manager.Room(msg.Room).BroadcastJSON(ctx, wsapi.Typed("message", out))
	})
	// docs:end handlers
	wsapi.On(ep, "leave", func(ctx context.Context, ws *wsapi.Conn, msg Leave) error {
		s := wsapi.Dependency[Session](ws)
		i := slices.Index(s.rooms, msg.Room)
		if i < 0 {
			return notAllowed("room", "you are not in room "+msg.Room)
		}
		manager.Leave(ws, msg.Room)
		s.rooms = slices.Delete(s.rooms, i, i+1)
		presence(ctx, manager, nil, msg.Room, Presence{Name: s.Name, Event: "left"})
		return nil
	})
	wsapi.On(ep, "nick", func(ctx context.Context, ws *wsapi.Conn, msg Nick) error {
		s := wsapi.Dependency[Session](ws)
		was := s.Name
		s.Name = msg.Name
		for _, room := range s.rooms {
			presence(ctx, manager, nil, room, Presence{Name: s.Name, Event: "renamed", Was: was})
		}
		return nil
	})
	wsapi.On(ep, "react", func(ctx context.Context, ws *wsapi.Conn, msg React) error {
		s := wsapi.Dependency[Session](ws)
		if !slices.Contains(s.rooms, msg.Room) {
			return notAllowed("room", "join room "+msg.Room+" first")
		}
		if msg.MessageID > lastID.Load() {
			return notAllowed("message_id", fmt.Sprintf("there is no message %d", msg.MessageID))
		}
		return manager.Room(msg.Room).BroadcastJSON(ctx, wsapi.Typed("reaction",
			Reaction{Room: msg.Room, MessageID: msg.MessageID, From: s.Name, Emoji: msg.Emoji}))
	})

	// docs:start emits
	wsapi.Emits[Welcome](ep, "welcome")
	wsapi.Emits[Joined](ep, "joined")
	wsapi.Emits[Presence](ep, "presence")
	wsapi.Emits[Message](ep, "message")
	wsapi.Emits[Reaction](ep, "reaction")
	// docs:end emits
}

// docs:start not-allowed
// notAllowed is the error of a message that is valid but not allowed now:
// Dispatch answers it with an error message, as it does an invalid one, and
// keeps the connection open.
func notAllowed(field, msg string) error {
	return &wsapi.ValidationError{Errors: []wsapi.FieldError{{
		Loc: []string{"message", field}, Msg: msg, Type: "not_allowed",
	}}}
}

// docs:end not-allowed

// presence tells room about p, except the client except (nil: everyone).
// A failed broadcast only means that the room's members missed it.
func presence(ctx context.Context, manager *wsapi.Manager, except *wsapi.Conn, room string, p Presence) {
	p.Room = room
	to := manager.Room(room)
	if except != nil {
		to = to.Except(except)
	}
	to.BroadcastJSON(ctx, wsapi.Typed("presence", p))
}
