package samtemplate

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Resource returns the resource with the given logical ID in Doc, or nil.
func (t *Template) Resource(id string) map[string]any {
	r, _ := Get(t.Doc, "Resources", id).(map[string]any)
	return r
}

// Props returns a resource's Properties in Doc (nil when it does not exist).
func (t *Template) Props(id string) map[string]any {
	p, _ := t.Resource(id)["Properties"].(map[string]any)
	return p
}

// Resources returns the resources of a document with the given type, by logical ID.
func Resources(doc map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	rs, _ := doc["Resources"].(map[string]any)
	for id, v := range rs {
		r, _ := v.(map[string]any)
		if r != nil && r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// Get follows a path of map keys in a document and returns what is there (nil if absent).
func Get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// Scalar is the string CloudFormation makes of a value: a number without a fraction
// ("60"), a boolean ("true"), a list joined with commas.
func Scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Scalar(e)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// Strings returns v as a list of strings: a string is a list of one.
func Strings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, Scalar(e))
		}
		return out
	}
	return nil
}

// Sorted returns a map's keys in order.
func Sorted[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
