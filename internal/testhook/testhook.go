// Package testhook lets wsapitest learn how a handler ended. wsapi reports
// each connection's end to the observer found in the handshake request's
// context; without one, reporting costs a context lookup.
package testhook

import (
	"context"
	"fmt"
)

// Result is how one connection's handler ended.
type Result struct {
	Err     error // what the handler returned, nil for a quiet end or a deliberate refusal
	Panic   any   // the recovered panic value, if it panicked
	Refused bool  // the handshake was refused
}

// Failure returns the handler's failure: its error, or one describing its
// panic; nil for a quiet end.
func (r Result) Failure() error {
	if r.Panic != nil {
		return fmt.Errorf("handler or dependency panicked: %v", r.Panic)
	}
	return r.Err
}

// Observer receives the result of the connection it was attached to.
type Observer func(Result)

type key struct{}

// With returns ctx carrying o.
func With(ctx context.Context, o Observer) context.Context {
	return context.WithValue(ctx, key{}, o)
}

// Report hands r to the observer in ctx, if any.
func Report(ctx context.Context, r Result) {
	if o, ok := ctx.Value(key{}).(Observer); ok {
		o(r)
	}
}
