package main

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// Unknown stands for a value not known until the resource is created (an
// output of another resource, at preview). Rules pass what they cannot see:
// a literal bad value is always known, so nothing bad hides behind Unknown.
type Unknown struct{}

// Resource is what a rule sees: a resource's type, name and inputs as plain
// Go values (map[string]any, []any, string, float64, bool, nil, Unknown).
type Resource struct {
	Type  string
	Name  string
	URN   string
	Props map[string]any
}

// Get returns the value at a dotted path ("spec.template.spec"), nil if absent.
func (r Resource) Get(path string) any {
	return get(r.Props, path)
}

func get(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			if _, unknown := v.(Unknown); unknown {
				return Unknown{}
			}
			return nil
		}
		v = m[part]
	}
	return v
}

// plain turns engine property values into plain Go values; secrets are
// unwrapped (rules never print them), computed values become Unknown.
func plain(v property.Value) any {
	switch {
	case v.IsComputed():
		return Unknown{}
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.AsBool()
	case v.IsNumber():
		return v.AsNumber()
	case v.IsString():
		return v.AsString()
	case v.IsArray():
		arr := v.AsArray()
		out := make([]any, 0, arr.Len())
		for _, e := range arr.All {
			out = append(out, plain(e))
		}
		return out
	case v.IsMap():
		return plainMap(v.AsMap())
	default:
		// Assets, archives, resource references: nothing a rule reads.
		return Unknown{}
	}
}

func plainMap(m property.Map) map[string]any {
	out := make(map[string]any, m.Len())
	for k, v := range m.All {
		out[k] = plain(v)
	}
	return out
}

// isTrue is true only for a known true.
func isTrue(v any) bool { b, ok := v.(bool); return ok && b }

// isFalse is true only for a known false.
func isFalse(v any) bool { b, ok := v.(bool); return ok && !b }

func isUnknown(v any) bool { _, ok := v.(Unknown); return ok }

func asString(v any) string { s, _ := v.(string); return s }

func asList(v any) []any { l, _ := v.([]any); return l }

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
