package wsapi

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// A setter parses s and stores it in the value at p, whose type the setter was
// built for. It returns a *bindError describing a bad value.
type setter func(p unsafe.Pointer, s string) error

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
		return func(p unsafe.Pointer, s string) error {
			u := reflect.NewAt(t, p).Interface().(encoding.TextUnmarshaler)
			if err := u.UnmarshalText([]byte(s)); err != nil {
				return &bindError{"value_error", "invalid value: " + err.Error()}
			}
			return nil
		}, nil
	}
	switch t {
	case durationType:
		return func(p unsafe.Pointer, s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return &bindError{"duration_parsing", `value is not a valid duration, such as "1.5s" or "2m"`}
			}
			*(*time.Duration)(p) = d
			return nil
		}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return func(p unsafe.Pointer, s string) error {
			*(*string)(p) = s
			return nil
		}, nil
	case reflect.Bool:
		return func(p unsafe.Pointer, s string) error {
			b, ok := parseBool(s)
			if !ok {
				return &bindError{"bool_parsing", "value is not a valid boolean"}
			}
			*(*bool)(p) = b
			return nil
		}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return func(p unsafe.Pointer, s string) error {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return intError(err, bits)
			}
			switch bits {
			case 8:
				*(*int8)(p) = int8(n)
			case 16:
				*(*int16)(p) = int16(n)
			case 32:
				*(*int32)(p) = int32(n)
			default:
				*(*int64)(p) = n
			}
			return nil
		}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		bits := t.Bits()
		return func(p unsafe.Pointer, s string) error {
			n, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				return uintError(err, bits)
			}
			switch bits {
			case 8:
				*(*uint8)(p) = uint8(n)
			case 16:
				*(*uint16)(p) = uint16(n)
			case 32:
				*(*uint32)(p) = uint32(n)
			default:
				*(*uint64)(p) = n
			}
			return nil
		}, nil
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(p unsafe.Pointer, s string) error {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil {
				return &bindError{"float_parsing", "value is not a valid number"}
			}
			if bits == 32 {
				*(*float32)(p) = float32(f)
			} else {
				*(*float64)(p) = f
			}
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

// bind stores vals (at least one) in the field at p. A scalar or pointer takes
// the first value, as FastAPI does for a repeated query key.
func (b *fieldBinder) bind(p unsafe.Pointer, vals []string) error {
	switch b.kind {
	case bindPointer:
		v := reflect.New(b.elem)
		if err := b.set(v.UnsafePointer(), vals[0]); err != nil {
			return err
		}
		*(*unsafe.Pointer)(p) = v.UnsafePointer()
		return nil
	case bindSlice:
		s := reflect.MakeSlice(b.field, len(vals), len(vals))
		for i, v := range vals {
			if err := b.set(s.Index(i).Addr().UnsafePointer(), v); err != nil {
				return err
			}
		}
		reflect.NewAt(b.field, p).Elem().Set(s)
		return nil
	}
	return b.set(p, vals[0])
}
