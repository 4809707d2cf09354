// Package asyncapitest checks AsyncAPI documents against the official
// AsyncAPI 3.0.0 JSON Schema (from the npm package @asyncapi/specs, embedded
// here with its licence), for the tests of apps that use package asyncapi.
//
//	func TestAsyncAPI(t *testing.T) {
//		spec := asyncapitest.Check(t, newApp(), asyncapi.Info{Title: "Chat"})
//		// ... assertions on spec
//	}
package asyncapitest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/asyncapi"
	"go.yaml.in/yaml/v3"
)

// SchemaURL is the $id of the AsyncAPI 3.0.0 JSON Schema.
const SchemaURL = "http://asyncapi.com/definitions/3.0.0/asyncapi.json"

// schemaJSON is schemas/3.0.0.json of @asyncapi/specs 6.11.1 (Apache-2.0;
// see schema/LICENSE and schema/NOTICE).
//
//go:embed schema/asyncapi-3.0.0.json
var schemaJSON []byte

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(SchemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(SchemaURL)
})

// Validate checks a JSON document against the AsyncAPI 3.0.0 JSON Schema.
// Its error lists every violation.
func Validate(doc []byte) error {
	sch, err := compiled()
	if err != nil {
		return fmt.Errorf("asyncapitest: compiling the AsyncAPI schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("asyncapitest: the document is not JSON: %w", err)
	}
	return sch.Validate(inst)
}

// Check builds the AsyncAPI document of app, fails t unless it is valid
// AsyncAPI 3.0.0 and its YAML form says the same as its JSON form, and
// returns it.
func Check(t testing.TB, app *wsapi.App, info asyncapi.Info) *asyncapi.Spec {
	t.Helper()
	spec, err := asyncapi.Document(app, info)
	if err != nil {
		t.Fatal(err)
	}
	CheckSpec(t, spec)
	return spec
}

// CheckSpec is Check for a document already built.
func CheckSpec(t testing.TB, spec *asyncapi.Spec) {
	t.Helper()
	data, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(data); err != nil {
		t.Fatalf("the AsyncAPI document is not valid AsyncAPI 3.0.0:\n%v\n\ndocument:\n%s", err, data)
	}
	y, err := spec.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if err := SameDocument(data, y); err != nil {
		t.Fatal(err)
	}
}

// ValidateMessage checks msg, a message as sent on the wire, against the
// payload schema of the message of spec's components.messages whose key
// (or, failing that, name) is key: the way to check, in a test, that the
// document says what the app does.
func ValidateMessage(spec *asyncapi.Spec, key string, msg []byte) error {
	v, _ := validators.Load(spec)
	if v == nil {
		data, err := spec.JSON()
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return err
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft7) // AsyncAPI schemas are draft-07's
		c.AssertFormat()
		if err := c.AddResource(docURL, doc); err != nil {
			return err
		}
		v, _ = validators.LoadOrStore(spec, &messageValidator{c: c, schemas: map[string]*jsonschema.Schema{}})
	}
	mv := v.(*messageValidator)
	mv.mu.Lock()
	defer mv.mu.Unlock()
	sch, ok := mv.schemas[key]
	if !ok {
		found := ""
		if spec.Components != nil {
			for k, m := range spec.Components.Messages.All() {
				if k == key || found == "" && m.Name == key {
					found = k
				}
			}
		}
		if found == "" {
			return fmt.Errorf("asyncapitest: the document has no message %q", key)
		}
		var err error
		if sch, err = mv.c.Compile(docURL + "#/components/messages/" + found + "/payload"); err != nil {
			return err
		}
		mv.schemas[key] = sch
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(msg))
	if err != nil {
		return fmt.Errorf("asyncapitest: the message is not JSON: %w", err)
	}
	return sch.Validate(inst)
}

const docURL = "file:///asyncapi.json"

var validators sync.Map // *asyncapi.Spec -> *messageValidator

type messageValidator struct {
	c       *jsonschema.Compiler
	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
}

// SameDocument reports whether a JSON and a YAML document hold the same
// values.
func SameDocument(jsonDoc, yamlDoc []byte) error {
	var fromJSON, fromYAML any
	if err := json.Unmarshal(jsonDoc, &fromJSON); err != nil {
		return fmt.Errorf("asyncapitest: the JSON does not parse: %w", err)
	}
	if err := yaml.Unmarshal(yamlDoc, &fromYAML); err != nil {
		return fmt.Errorf("asyncapitest: the YAML does not parse: %w", err)
	}
	// Through JSON, so that numbers and maps have the same Go types.
	b, err := json.Marshal(fromYAML)
	if err != nil {
		return fmt.Errorf("asyncapitest: the YAML holds values JSON cannot: %w", err)
	}
	fromYAML = nil
	if err := json.Unmarshal(b, &fromYAML); err != nil {
		return err
	}
	if !reflect.DeepEqual(fromJSON, fromYAML) {
		return fmt.Errorf("asyncapitest: the YAML document differs from the JSON one:\nJSON: %s\nYAML as JSON: %s", jsonDoc, b)
	}
	return nil
}
