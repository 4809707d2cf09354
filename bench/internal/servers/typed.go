package servers

// The typed scenario's protocol, served by wsapi (wsapi.On and Conn.Serve)
// and by gws (a hand-written OnMessage): a client sends
//
//	{"type":"echo","text":"...","n":3}
//
// and the server decodes it, validates it and answers
//
//	{"type":"echoed","text":"...","n":3}
//
// A message that is not JSON, has another type or fails validation is
// answered with {"type":"error",...}, and the connection stays open.

// TypedNames lists the contenders that serve the typed scenario's route,
// /typed.
var TypedNames = []string{"wsapi", "gws"}

// TypedEcho is the typed scenario's message, without its "type" field.
type TypedEcho struct {
	Text string `json:"text" validate:"required,max=1024"`
	N    int    `json:"n" validate:"min=0"`
}

// TypedReply is the answer to a TypedEcho, without its "type" field.
type TypedReply struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}
