package asyncapi

import (
	"bytes"
	"encoding/json"
	"strings"

	"go.yaml.in/yaml/v3"
)

// JSON returns the document as indented JSON.
func (s *Spec) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// YAML returns the document as YAML, keys in the order of the JSON.
func (s *Spec) YAML() ([]byte, error) {
	data, err := s.JSON()
	if err != nil {
		return nil, err
	}
	return jsonToYAML(data)
}

// jsonToYAML re-encodes a JSON document as block-style YAML. JSON is YAML,
// so the YAML decoder reads it into nodes, keeping the order of keys.
func jsonToYAML(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	restyle(&doc)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// restyle drops the JSON flow style, so that the encoder writes block YAML,
// quoting only the strings that need it, and multi-line strings as
// literal blocks.
func restyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && strings.Contains(strings.TrimRight(n.Value, "\n"), "\n") {
		n.Style = yaml.LiteralStyle
	}
	for _, c := range n.Content {
		restyle(c)
	}
}
