// Package asyncapi documents a wsapi app with AsyncAPI 3.0: it builds the
// document from the app's routes, serves it as JSON and YAML, and serves a
// page that shows it, rendered by the AsyncAPI React component embedded in
// this package (no CDN: the page works offline).
//
//	app := wsapi.New(nil)
//	chat := wsapi.Route(app, "/chat/{room}", handler).With(&wsapi.EndpointOptions{Title: "Chat"})
//	wsapi.On(chat, "say", onSay)
//	wsapi.Emits[Message](chat, "message")
//	asyncapi.Mount(app, asyncapi.Info{Title: "Chat", Version: "1.0.0"})
//	// GET /asyncapi.json, GET /asyncapi.yaml, GET /asyncapi
//
// # What the document says
//
// Each WebSocket route is a channel whose address is the route's path, its
// wildcards as parameters. The channel's WebSockets binding holds JSON
// Schemas of the handshake's query parameters and headers, from the route's
// params struct and dependencies. Each message type registered with
// wsapi.On or declared with wsapi.Emits is a message whose payload is the
// JSON Schema of its Go type, the discriminator field included as a
// constant; routes with wsapi.On messages also send the error reply. The
// route's wsapi.EndpointOptions give the channel's title, summary,
// description and tags; Info.Messages documents messages.
//
// Operations are described from the app's side, as AsyncAPI 3 does: the
// messages clients send, registered with wsapi.On, are "receive"
// operations; those the app sends, with wsapi.Emits, and the error reply,
// are "send" operations. A client does the opposite of each.
//
// JSON Schemas come from github.com/invopop/jsonschema, which follows json
// tags (and jsonschema tags); validate tags add the keywords they mean
// (see Document), description or doc tags descriptions, example tags
// examples. The schemas of named Go types are shared under
// components.schemas.
//
// Package asyncapitest checks documents against the official AsyncAPI 3.0.0
// JSON Schema, in tests.
package asyncapi
