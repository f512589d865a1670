package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// keyShapes say, for each project key that holds an object or a list, what
// it holds and how a stack file writes it: the error for a value of the
// wrong shape shows both.
var keyShapes = map[string]struct{ what, example string }{
	"cluster":  {"an object", "name: platform-dev\n    releaseChannel: REGULAR"},
	"cpuPool":  {"an object", "machineType: n1-standard-1\n    minNodes: 1\n    maxNodes: 3"},
	"gpuPool":  {"an object", "enabled: true\n    machineType: n1-standard-4\n    acceleratorType: nvidia-tesla-t4"},
	"registry": {"an object", "keepVersions: 10"},
	"apps":     {"a list of apps, one object each", "- name: web\n      image: nginx:1.27\n      port: 8080\n      path: /"},
	"ingress":  {"an object", "host: app.example.com\n    staticIp: true"},
	"cost":     {"an object", "gpuBusyHoursPerMonth: 40"},
	"local":    {"an object", "kubeconfig: ~/.kube/config"},
	"secrets":  {"an object of secret values, each set with `pulumi config set --secret --path 'gke-gpu-platform:secrets.<name>' <value>`", "enqueueToken:\n      secure: v1:..."},
}

// fieldExamples show how a nested object or list field is written, by its
// JSON name; scalars are described by their Go type instead.
var fieldExamples = map[string]string{
	"queue":         "{name: gpu-jobs, mode: worker, maxReplicas: 2}",
	"resources":     `{cpuRequest: 250m, memoryRequest: 256Mi, cpuLimit: "1", memoryLimit: 512Mi}`,
	"autoscaling":   "{minReplicas: 2, maxReplicas: 6}",
	"env":           "{LOG_LEVEL: info}",
	"command":       `["/app", "--serve"]`,
	"args":          `["--port=8080"]`,
	"publishes":     "[gpu-jobs]",
	"connectsTo":    "[backend]",
	"nodeLocations": "[us-central1-a, us-central1-b]",
	"secretEnv":     "{ENQUEUE_TOKEN: enqueueToken}",
}

// decodeKey decodes the JSON text of one object key into field, strictly
// (unknown fields are errors). Every error names the key (with the list
// index and field path), the shape expected, what came instead, and an example.
func decodeKey(key, text string, field any) error {
	shape := keyShapes[key]
	want := reflect.TypeOf(field).Elem()
	if got := jsonKind(text); got != kindOf(want) {
		return fmt.Errorf("%s:%s = %s: must be %s, not %s; for example:\n  %s:%s:\n    %s",
			ConfigNamespace, key, shortValue(text), shape.what, got, ConfigNamespace, key, shape.example)
	}
	if want.Kind() != reflect.Slice {
		return decodeStrict(ConfigNamespace+":"+key, []byte(text), field)
	}
	// Lists element by element, so an error can say which element.
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(text), &elems); err != nil {
		return fmt.Errorf("%s:%s: %v", ConfigNamespace, key, err)
	}
	// Every element is decoded, so that three apps with the same typo give
	// three errors, each naming its app.
	list := reflect.MakeSlice(want, len(elems), len(elems))
	var errs []error
	for i, raw := range elems {
		path := fmt.Sprintf("%s:%s[%d]", ConfigNamespace, key, i)
		elem := list.Index(i).Addr().Interface()
		if got := jsonKind(string(raw)); got != kindOf(want.Elem()) {
			errs = append(errs, fmt.Errorf("%s = %s: must be %s, not %s; for example:\n  %s:%s:\n    %s",
				path, shortValue(string(raw)), describeType(want.Elem(), ""), got, ConfigNamespace, key, shape.example))
			continue
		}
		if err := decodeStrict(path, raw, elem); err != nil {
			errs = append(errs, withElementName(err, raw))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	reflect.ValueOf(field).Elem().Set(list)
	return nil
}

// withElementName adds the element's name (an app's) to its error: a
// position alone is hard to find in a long stack file.
func withElementName(err error, raw json.RawMessage) error {
	var named struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &named) != nil || named.Name == "" {
		return err
	}
	return fmt.Errorf("%w (in %q)", err, named.Name)
}

// decodeStrict decodes one JSON value, turning the decoder's errors into
// ones that name the field path and the expected shape.
func decodeStrict(path string, raw []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(into)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		name := typeErr.Field[strings.LastIndex(typeErr.Field, ".")+1:]
		return fmt.Errorf("%s.%s: must be %s, not %s", path, typeErr.Field, describeType(typeErr.Type, name), article(typeErr.Value))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		name = strings.Trim(name, `"`)
		hint := didYouMean(name, jsonFieldNames(reflect.TypeOf(into)))
		if hint == "" {
			hint = " (see docs/config.md for every field)"
		}
		return fmt.Errorf("%s: %s%s", path, msg, hint)
	}
	return fmt.Errorf("%s: %s", path, msg)
}

// describeType says in a stack file's words what a Go type holds.
func describeType(t reflect.Type, field string) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	example := ""
	if e, ok := fieldExamples[field]; ok {
		example = ", e.g. " + field + ": " + e
	}
	switch t.Kind() {
	case reflect.Struct:
		return "an object" + example
	case reflect.Map:
		return "an object of " + describeType(t.Elem(), "") + " values" + example
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem(), ""), "a "), "an ") + "s" + example
	case reflect.String:
		if field != "" {
			return fmt.Sprintf(`a string (quote numbers: %s: "1")`, field)
		}
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	}
	return t.String()
}

// kindOf is the JSON kind a Go type decodes from.
func kindOf(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a value"
}

// jsonKind names the kind of a config value's text: the CLI passes objects
// and lists as JSON, and a plain string as itself.
func jsonKind(text string) string {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return "a string"
	}
	switch v.(type) {
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "true or false"
	}
	return "null"
}

// article turns encoding/json's kind names ("string", "array") into words.
func article(kind string) string {
	switch kind {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	}
	return "a " + kind
}

// shortValue shows a value for an error the way a stack file holds it: a
// string quoted once, a list or an object as its JSON, cut to a readable length.
func shortValue(text string) string {
	var str string
	if json.Unmarshal([]byte(text), &str) == nil {
		text = str
	} else if json.Valid([]byte(text)) {
		return cut(text)
	}
	return fmt.Sprintf("%q", cut(text))
}

func cut(text string) string {
	if len(text) > 60 {
		return text[:57] + "..."
	}
	return text
}

// jsonFieldNames are the stack-file names of every field of t and of the
// objects below it: the candidates for a misspelt field.
func jsonFieldNames(t reflect.Type) []string {
	seen := map[reflect.Type]bool{}
	var names []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				names = append(names, name)
			}
			walk(t.Field(i).Type)
		}
	}
	walk(t)
	return names
}
