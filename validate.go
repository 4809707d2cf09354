package wsapi

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/locales/en"
	ut "github.com/go-playground/universal-translator"
	"github.com/go-playground/validator/v10"
	entrans "github.com/go-playground/validator/v10/translations/en"
)

// checker wraps the app's validator with English messages and the names
// users wrote on the wire (query, header, cookie, path or JSON names).
type checker struct {
	v     *validator.Validate
	trans ut.Translator
	typed sync.Map // reflect.Type -> bool: does the type carry validate tags anywhere?
}

func newChecker() *checker {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(wireName)
	english := en.New()
	trans, _ := ut.New(english, english).GetTranslator("en")
	if err := entrans.RegisterDefaultTranslations(v, trans); err != nil {
		panic("wsapi: registering validator translations: " + err.Error())
	}
	return &checker{v: v, trans: trans}
}

// wireName is the name a field has on the wire: its source tag's name, else
// its JSON name, else its Go name. "-" hides it from messages.
func wireName(f reflect.StructField) string {
	if src, key, err := fieldSource(f); err == nil && src != 0 {
		return key
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return "-"
	case "":
		return f.Name
	}
	return name
}

// message turns one validator failure into an English sentence.
func (c *checker) message(fe validator.FieldError) string {
	msg := fe.Translate(c.trans)
	if msg == fe.Error() { // no translation for a custom tag
		return fmt.Sprintf("%s failed the %q check", fe.Field(), fe.Tag())
	}
	return msg
}

// hasRules reports whether validating a value of type t can fail: whether
// it, or a struct it holds, carries validate tags. The answer is cached.
func (c *checker) hasRules(t reflect.Type) bool {
	if v, ok := c.typed.Load(t); ok {
		return v.(bool)
	}
	has := typeHasRules(t, map[reflect.Type]bool{})
	c.typed.Store(t, has)
	return has
}

func typeHasRules(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return false
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("validate") != "" || typeHasRules(f.Type, seen) {
			return true
		}
	}
	return false
}

// messageErrors validates a decoded message and returns a *ValidationError
// locating each failure under "message", or nil.
func (c *checker) messageErrors(v any) error {
	t := reflect.TypeOf(v)
	if t == nil || !c.hasRules(t) {
		return nil
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil
	}
	err := c.v.Struct(v)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	out := &ValidationError{Errors: make([]FieldError, 0, len(verrs))}
	for _, fe := range verrs {
		out.Errors = append(out.Errors, FieldError{
			Loc:  append([]string{"message"}, namespacePath(fe.Namespace())...),
			Msg:  c.message(fe),
			Type: fe.Tag(),
		})
	}
	return out
}

// namespacePath splits a validator namespace such as "Msg.items[2].name"
// into ["items", "2", "name"], dropping the root type's name.
func namespacePath(ns string) []string {
	_, rest, ok := strings.Cut(ns, ".")
	if !ok {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(rest, ".") {
		for {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				break
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				break
			}
			if i > 0 {
				out = append(out, part[:i])
			}
			out = append(out, part[i+1:i+j])
			part = part[i+j+1:]
		}
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}
