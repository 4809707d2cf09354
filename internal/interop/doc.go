// Package interop runs independent WebSocket clients (gorilla/websocket,
// coder/websocket and Node's ws) against the example programs, run as real
// processes. It has tests only; see README.md.
package interop
