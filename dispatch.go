package wsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// Dispatch runs the typed-message loop of the route registered with On: it
// receives JSON messages, dispatches each on its discriminator field to its
// handler, and answers a message that is not JSON, has an unknown type or
// fails validation with an error message (its "detail" lists each failing
// field, as in a 422 response), keeping the connection open. A client that
// sends faster than EndpointOptions.MessageRate is closed with 1008.
//
// Dispatch returns nil when the connection ends, and a handler's error
// otherwise; a handler's *ValidationError is answered like a bad message.
// The handler calls Accept before Dispatch, and may mix Dispatch with
// nothing else that receives.
func (c *Conn) Dispatch(ctx context.Context) error {
	e := c.route.endpoint
	e.mu.Lock()
	opts := e.opts
	handlers := slices.Clone(e.receives)
	e.mu.Unlock()
	field := opts.discriminator()
	byName := make(map[string]*messageHandler, len(handlers))
	for _, h := range handlers {
		byName[h.info.Name] = h
	}
	head := discriminatorType(field)
	limit := newRateLimit(opts.MessageRate, opts.MessageBurst)
	for {
		c.beginReceive()
		_, data, kind, err := c.next(ctx, false)
		if err == nil && kind == msgAliased {
			// The handler may run long: copy the message out of the read
			// buffer and give the socket back now. The copy is pooled: a
			// handler gets the decoded message, never these bytes.
			data = append(getMessageBuf(len(data))[:0], data...)
			kind = msgPooled
		}
		c.endReceive()
		if IsDisconnect(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if !limit.allow(time.Now()) {
			c.closeHandshake(ClosePolicyViolation, "message rate limit exceeded")
			return nil
		}
		name, err := discriminate(data, field, head)
		var h *messageHandler
		if err == nil {
			if h = byName[name]; h == nil {
				err = &ValidationError{Errors: []FieldError{{
					Loc: []string{"message", field}, Msg: fmt.Sprintf("unknown message type %q", name), Type: "unknown_type",
				}}}
			}
		}
		if err == nil {
			hctx, end := ctx, (func(error))(nil)
			if o := c.app.obs; o != nil && o.TypedMessage != nil {
				hctx, end = o.TypedMessage(ctx, TypedMessageEvent{Route: c.route.pattern, ConnID: c.id, Type: name, Size: len(data)})
			}
			err = h.invoke(hctx, c, data)
			if end != nil {
				end(err)
			}
		}
		if kind == msgPooled {
			putMessageBuf(data)
		}
		var ve *ValidationError
		if errors.As(err, &ve) {
			if o := c.app.obs; o != nil && o.InvalidMessage != nil {
				o.InvalidMessage(InvalidMessageEvent{Route: c.route.pattern, ConnID: c.id, Type: name, Failure: ve})
			}
			if err := c.SendJSON(ctx, TypedAs(field, opts.errorType(), ve)); err != nil {
				return nil // the connection ended
			}
			continue
		}
		if err != nil {
			return err
		}
	}
}

// discriminatorType returns a struct type with one field, Name, decoded
// from the JSON member field: decoding a message into it reads the
// discriminator and skips the rest, without building a map.
func discriminatorType(field string) reflect.Type {
	if field == "type" {
		return typeHead
	}
	return reflect.StructOf([]reflect.StructField{{
		Name: "Name", Type: reflect.TypeFor[string](), Tag: reflect.StructTag("json:" + strconv.Quote(field)),
	}})
}

var typeHead = reflect.TypeFor[struct {
	Name string `json:"type"`
}]()

// discriminate returns the discriminator of a JSON message, decoded with
// the type discriminatorType made.
func discriminate(data []byte, field string, head reflect.Type) (string, error) {
	v := reflect.New(head)
	if err := json.Unmarshal(data, v.Interface()); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return "", jsonError(err)
		}
		// The discriminator is not a string: reported below.
	}
	if name := v.Elem().Field(0).String(); name != "" {
		return name, nil
	}
	return "", &ValidationError{Errors: []FieldError{{
		Loc: []string{"message", field}, Msg: fmt.Sprintf("the message needs a string %q field naming its type", field), Type: "missing",
	}}}
}

// rateLimit is a token bucket.
type rateLimit struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newRateLimit(rate float64, burst int) *rateLimit {
	if rate == 0 {
		rate = 100
	}
	if burst <= 0 {
		burst = max(int(2*rate), 1)
	}
	return &rateLimit{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

func (l *rateLimit) allow(now time.Time) bool {
	if l.rate < 0 {
		return true
	}
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
