package wsapi

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// A setter parses s and stores it in v, a settable value of the type the
// setter was built for. It returns a *bindError describing a bad value.
type setter func(v reflect.Value, s string) error

// bindError is a parse failure, before it is given a location.
type bindError struct {
	typ string // FieldError.Type, e.g. "int_parsing"
	msg string
}

func (e *bindError) Error() string { return e.msg }

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[time.Duration]()
)

// newSetter returns the setter for a scalar of type t, or an error naming what
// is unsupported. Types implementing encoding.TextUnmarshaler (through a
// pointer receiver) win over their underlying kind; time.Time is one of them
// and parses RFC 3339.
func newSetter(t reflect.Type) (setter, error) {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return func(v reflect.Value, s string) error {
			u := v.Addr().Interface().(encoding.TextUnmarshaler)
			if err := u.UnmarshalText([]byte(s)); err != nil {
				return &bindError{"value_error", "invalid value: " + err.Error()}
			}
			return nil
		}, nil
	}
	switch t {
	case durationType:
		return func(v reflect.Value, s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return &bindError{"duration_parsing", `value is not a valid duration, such as "1.5s" or "2m"`}
			}
			v.SetInt(int64(d))
			return nil
		}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value, s string) error {
			v.SetString(s)
			return nil
		}, nil
	case reflect.Bool:
		return func(v reflect.Value, s string) error {
			b, ok := parseBool(s)
			if !ok {
				return &bindError{"bool_parsing", "value is not a valid boolean"}
			}
			v.SetBool(b)
			return nil
		}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return intError(err, bits)
			}
			v.SetInt(n) // ParseInt kept n within the field's size
			return nil
		}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				return uintError(err, bits)
			}
			v.SetUint(n) // ParseUint kept n within the field's size
			return nil
		}, nil
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil {
				return &bindError{"float_parsing", "value is not a valid number"}
			}
			v.SetFloat(f)
			return nil
		}, nil
	}
	return nil, fmt.Errorf("unsupported type %s (use a string, bool, integer, float, time.Duration, time.Time, "+
		"a type implementing encoding.TextUnmarshaler, a slice of those, or a pointer for an optional value)", t)
}

func intError(err error, bits int) error {
	if errors.Is(err, strconv.ErrRange) {
		return &bindError{"int_range", fmt.Sprintf("value does not fit in a %d-bit integer", bits)}
	}
	return &bindError{"int_parsing", "value is not a valid integer"}
}

func uintError(err error, bits int) error {
	if errors.Is(err, strconv.ErrRange) {
		return &bindError{"int_range", fmt.Sprintf("value does not fit in a %d-bit unsigned integer", bits)}
	}
	return &bindError{"int_parsing", "value is not a valid unsigned integer"}
}

// parseBool accepts what FastAPI accepts for booleans, case-insensitively:
// 1/0, true/false, on/off, yes/no, t/f, y/n.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "1", "true", "t", "on", "yes", "y":
		return true, true
	case "0", "false", "f", "off", "no", "n":
		return false, true
	}
	return false, false
}

// A fieldBinder stores one or more raw string values into a struct field of
// a scalar, pointer-to-scalar or slice-of-scalar type.
type fieldBinder struct {
	kind  bindKind
	elem  reflect.Type // the scalar type
	field reflect.Type // the field's own type
	set   setter
}

type bindKind uint8

const (
	bindScalar bindKind = iota
	bindPointer
	bindSlice
)

func newFieldBinder(t reflect.Type) (*fieldBinder, error) {
	b := &fieldBinder{field: t, elem: t}
	switch {
	case t.Kind() == reflect.Pointer:
		b.kind, b.elem = bindPointer, t.Elem()
	case t.Kind() == reflect.Slice && !reflect.PointerTo(t).Implements(textUnmarshalerType):
		b.kind, b.elem = bindSlice, t.Elem()
	}
	set, err := newSetter(b.elem)
	if err != nil {
		return nil, err
	}
	b.set = set
	return b, nil
}

// bind stores vals (at least one) in the field v. A scalar or pointer takes
// the first value, as FastAPI does for a repeated query key.
func (b *fieldBinder) bind(v reflect.Value, vals []string) error {
	switch b.kind {
	case bindPointer:
		x := reflect.New(b.elem)
		if err := b.set(x.Elem(), vals[0]); err != nil {
			return err
		}
		v.Set(x)
		return nil
	case bindSlice:
		s := reflect.MakeSlice(b.field, len(vals), len(vals))
		for i, val := range vals {
			if err := b.set(s.Index(i), val); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	return b.set(v, vals[0])
}
