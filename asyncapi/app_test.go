package asyncapi_test

import (
	"context"
	"time"

	"github.com/wsapi-go/wsapi"
)

// The test app uses every feature the document describes: path, query,
// header, cookie and protocol values with validate tags, nested
// dependencies, app and group dependencies, several messages both ways,
// a custom discriminator and error type, groups, an included router, and
// loop-style routes beside typed ones.

// Auth is a dependency bound from headers, a cookie and a subprotocol.
type Auth struct {
	Token   *string `header:"X-Token" description:"An API token."`
	Session *string `cookie:"session" description:"The session cookie."`
	Ticket  *string `protocol:"ticket" description:"A one-time ticket."`
}

// Client is a dependency with a sub-dependency.
type Client struct {
	Auth    Auth
	Version string `query:"v" default:"1" validate:"oneof=1 2" description:"The protocol version."`
}

// Region is an app-wide dependency added with wsapi.Depends.
type Region struct {
	Region string `header:"X-Region" default:"eu" validate:"oneof=eu us"`
}

type GameParams struct {
	Game    string        `path:"game" validate:"alphanum,max=20" description:"The game's id." example:"chess42"`
	Player  string        `query:"player" validate:"required,min=2,max=20" example:"ann"`
	Email   *string       `query:"email" validate:"omitempty,email"`
	Seats   []int         `query:"seat" validate:"max=4,dive,min=1,max=8"`
	Level   int           `query:"level" default:"3" validate:"gte=1,lte=10"`
	Timeout time.Duration `query:"timeout" default:"30s"`
	Client  Client
}

type Square struct {
	File string `json:"file" validate:"required,len=1,oneof=a b c d e f g h"`
	Rank int    `json:"rank" validate:"min=1,max=8"`
}

type Move struct {
	From    Square `json:"from" validate:"required"`
	To      Square `json:"to" validate:"required"`
	Promote string `json:"promote,omitempty" validate:"omitempty,oneof=queen rook bishop knight"`
}

type Say struct {
	Text string   `json:"text" validate:"required,max=200" description:"What to say." example:"good game"`
	To   []string `json:"to,omitempty" validate:"omitempty,max=3,dive,uuid"`
}

type Register struct {
	Email string `json:"email" validate:"required,email"`
	ID    string `json:"id" validate:"uuid4"`
	Home  string `json:"home" validate:"url"`
	Age   *int   `json:"age,omitempty" validate:"omitempty,gt=12,lt=130"`
	Code  string `json:"code" validate:"startswith=G-,alphanum"`
}

type Resign struct{}

type Moved struct {
	Move
	By string    `json:"by"`
	At time.Time `json:"at"`
}

type Board struct {
	Squares map[string]string `json:"squares"`
	Turn    string            `json:"turn" validate:"oneof=white black"`
	Meta    struct {
		Moves int `json:"moves" validate:"min=0"`
	} `json:"meta"`
	Last *Moved `json:"last,omitempty"`
}

type RoomParams struct {
	Room string `path:"room" validate:"oneof=lobby games"`
	Name string `query:"name" validate:"required,max=20"`
}

type ChatSend struct {
	Text string `json:"text" validate:"required,max=100"`
}

type ChatMessage struct {
	Room string `json:"room"`
	From string `json:"from"`
	Text string `json:"text"`
}

func serve(ctx context.Context, ws *wsapi.Conn) error {
	if err := ws.Accept(ctx, nil); err != nil {
		return err
	}
	return ws.Dispatch(ctx)
}

func loop(ctx context.Context, ws *wsapi.Conn) error {
	if err := ws.Accept(ctx, nil); err != nil {
		return err
	}
	for {
		text, err := ws.ReceiveText(ctx)
		if err != nil {
			return err
		}
		if err := ws.SendText(ctx, text); err != nil {
			return err
		}
	}
}

func nop[M any](ctx context.Context, ws *wsapi.Conn, msg M) error { return nil }

func newTestApp() *wsapi.App {
	app := wsapi.New(nil)
	wsapi.Depends[Region](app)

	games := app.Group("/games")
	// docs:start discriminator
	game := wsapi.Route(games, "/{game}/ws", func(ctx context.Context, ws *wsapi.Conn, p *GameParams) error {
		if err := ws.Accept(ctx, nil); err != nil {
			return err
		}
		return ws.Dispatch(ctx)
	}).With(&wsapi.EndpointOptions{
		Title:         "Game",
		Summary:       "Play a game of chess.",
		Description:   "Moves go to the other player.\n\nSee **rules**.",
		Tags:          []string{"games"},
		Discriminator: "kind",    // {"kind": "move", ...}
		ErrorType:     "problem", // {"kind": "problem", "detail": [...]}
		MessageRate:   5,         // messages per second, on average
		MessageBurst:  10,        // at once
	})
	wsapi.On(game, "move", func(ctx context.Context, ws *wsapi.Conn, m Move) error {
		return ws.SendJSON(ctx, wsapi.TypedAs("kind", "moved", Moved{Move: m, By: "ann"}))
	})
	// docs:end discriminator
	wsapi.On(game, "say", nop[Say])
	wsapi.On(game, "register", nop[Register])
	wsapi.On(game, "resign", nop[Resign])
	wsapi.Emits[Moved](game, "moved")
	wsapi.Emits[Board](game, "board")
	wsapi.Emits[Say](game, "said")

	chat := wsapi.NewRouter()
	room := wsapi.Route(chat, "/chat/{room}", func(ctx context.Context, ws *wsapi.Conn, p *RoomParams) error {
		return serve(ctx, ws)
	}).With(&wsapi.EndpointOptions{Title: "Chat room"})
	wsapi.On(room, "chat.send", nop[ChatSend])
	wsapi.Emits[ChatMessage](room, "chat.message")
	app.Include("/v1", chat)

	app.WS("/echo", loop)
	app.WS("/files/{path...}", loop)
	return app
}
