package wsapi

import (
	"fmt"
	"reflect"
	"strings"
)

// checkTagKeys rejects tag keys that look like a misspelt source, such as
// `querry:"q"` or `headers:"X-Token"`, which would otherwise be ignored.
func checkTagKeys(tag reflect.StructTag) error {
	for _, k := range tagKeys(string(tag)) {
		if knownTags[k] {
			continue
		}
		for _, s := range sourceTags[1:] {
			if strings.EqualFold(k, s) || editDistance(strings.ToLower(k), s) <= 2 && len(k) >= 4 {
				return fmt.Errorf("unknown tag %q; did you mean %q?", k, s)
			}
		}
	}
	return nil
}

// tagKeys returns the keys of a conventionally formatted struct tag.
func tagKeys(tag string) []string {
	var keys []string
	for tag != "" {
		tag = strings.TrimLeft(tag, " ")
		i := strings.IndexByte(tag, ':')
		if i <= 0 || i+1 >= len(tag) || tag[i+1] != '"' {
			break
		}
		keys = append(keys, tag[:i])
		rest := tag[i+2:]
		j := 0
		for j < len(rest) && rest[j] != '"' {
			if rest[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(rest) {
			break
		}
		tag = rest[j+1:]
	}
	return keys
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// knownTags are struct tag keys wsapi reads or that commonly sit beside them;
// any other key that looks like a misspelt source is a registration error.
var knownTags = map[string]bool{
	"path": true, "query": true, "header": true, "cookie": true, "protocol": true,
	"default": true, "validate": true, "json": true, "doc": true, "description": true,
	"example": true, "title": true, "deprecated": true, "jsonschema": true,
}
