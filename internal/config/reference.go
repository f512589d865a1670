package config

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
)

//go:generate go run ./docgen

// A Field is one documented config key or field: what docs/config.md lists
// and Pulumi.yaml declares.
type Field struct {
	// Key is the full path under the project namespace, e.g. "cluster.name",
	// "apps[].queue.mode", or a provider key such as "gcp:zone".
	Key string
	// Type is the YAML shape: string, int, number, bool, list of strings,
	// map of strings, object, list of objects.
	Type string
	// Default is the value the program uses when the stack leaves the field
	// out, rendered as YAML would show it, or "none".
	Default string
	// Doc is the field's doc comment with the Go name replaced by the key's
	// last element and the "Default:" and "Key:" sentences removed.
	Doc string
}

// Reference documents every key and field of the config, in the order the
// Config struct declares them. dir is this package's source directory: the
// doc comments are read from its files (the one place a key's meaning is
// written). Defaults come from Defaults and the per-app defaults, unless a
// comment states a conditional default in a "Default: ..." sentence.
func Reference(dir string) ([]Field, error) {
	comments, err := fieldComments(dir)
	if err != nil {
		return nil, err
	}
	r := referencer{comments: comments}
	defaults := Defaults(referenceStack)
	app := AppConfig{Name: "app", Queue: &QueueConfig{Warm: []WarmWindowConfig{{}}}, Autoscaling: &AutoscalingConfig{}}
	appDefaults(&app)

	ct := reflect.TypeOf(Config{})
	cv := reflect.ValueOf(defaults)
	for i := range ct.NumField() {
		f := ct.Field(i)
		if !f.IsExported() || f.Name == "Stack" {
			continue
		}
		doc := comments["Config."+f.Name]
		key := topKey(doc)
		if key == "" {
			return nil, fmt.Errorf("config.Config.%s: its doc comment names no key (end it with \"Key: <key>.\")", f.Name)
		}
		value := cv.Field(i)
		if f.Name == "Apps" {
			value = reflect.ValueOf([]AppConfig{app})
		}
		r.add(key, f.Type, value, doc, f.Name, true)
	}
	return r.fields, nil
}

// referenceStack is the stack name the reference computes defaults for; it
// is shown as <stack>.
const referenceStack = "stack"

type referencer struct {
	comments map[string]string
	fields   []Field
}

// add documents one field, then the fields of its object (or of its list's
// objects) below it.
func (r *referencer) add(key string, t reflect.Type, v reflect.Value, doc, goName string, top bool) {
	r.fields = append(r.fields, Field{Key: key, Type: typeName(t), Default: defaultOf(v, doc, top), Doc: cleanDoc(doc, goName, key)})
	elem := t
	sub := key
	for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice {
		if elem.Kind() == reflect.Slice {
			sub += "[]"
			if v.IsValid() && v.Len() > 0 {
				v = v.Index(0)
			} else {
				v = reflect.Value{}
			}
		} else if v.IsValid() {
			v = v.Elem()
		}
		elem = elem.Elem()
	}
	if elem.Kind() != reflect.Struct {
		return
	}
	for i := range elem.NumField() {
		f := elem.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		var fv reflect.Value
		if v.IsValid() && !(v.Kind() == reflect.Pointer && v.IsNil()) {
			fv = reflect.Indirect(v).Field(i)
		}
		r.add(sub+"."+name, f.Type, fv, r.comments[elem.Name()+"."+f.Name], f.Name, false)
	}
}

// typeName is a Go type as the stack file spells it.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Int:
		return "int"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "bool"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "list of objects"
		}
		return "list of " + typeName(t.Elem()) + "s"
	case reflect.Map:
		return "map of " + typeName(t.Elem()) + "s"
	case reflect.Struct:
		return "object"
	}
	return t.Kind().String()
}

var (
	defaultSentence = regexp.MustCompile(`(?s)\s*Default:\s*(.*?)\.(\s|$)`)
	keySentence     = regexp.MustCompile(`\s*Key:\s*([\w:]+)\.\s*$`)
	stackWord       = regexp.MustCompile(`\b` + referenceStack + `\b`)
)

// topKey is the key a Config field's comment names ("... Key: cluster.").
func topKey(doc string) string {
	m := keySentence.FindStringSubmatch(doc)
	if m == nil {
		return ""
	}
	return m[1]
}

// defaultOf renders a field's default: the comment's "Default: ..." when it
// has one (a default that depends on other fields), else the value.
func defaultOf(v reflect.Value, doc string, top bool) string {
	if m := defaultSentence.FindStringSubmatch(doc); m != nil {
		return strings.Join(strings.Fields(m[1]), " ")
	}
	if !v.IsValid() {
		return "none"
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "none"
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return `""`
		}
		return stackWord.ReplaceAllString(v.String(), "<"+referenceStack+">")
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			if v.Kind() == reflect.Map {
				return "{}"
			}
			return "[]"
		}
		return "see fields"
	case reflect.Struct:
		if top {
			return "{}"
		}
		return "see fields"
	case reflect.Float64:
		return fmt.Sprint(v.Float())
	}
	return fmt.Sprint(v.Interface())
}

// cleanDoc is a comment as the reference shows it: one line, the Go name
// replaced by the key's last element, without its Key and Default sentences.
func cleanDoc(doc, goName, key string) string {
	doc = keySentence.ReplaceAllString(doc, "")
	doc = defaultSentence.ReplaceAllString(doc, " ")
	doc = strings.Join(strings.Fields(doc), " ")
	last := key[strings.LastIndexAny(key, ".:")+1:]
	for _, sep := range []string{" ", ", "} {
		if rest, ok := strings.CutPrefix(doc, goName+sep); ok {
			doc = "`" + last + "`" + sep + rest
		}
	}
	return strings.TrimSpace(doc)
}

// fieldComments maps "Type.Field" to the field's doc comment, for every
// struct type declared in dir's non-test Go files.
func fieldComments(dir string) (map[string]string, error) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("config reference: parse %s: %w", dir, err)
	}
	pkg, ok := pkgs["config"]
	if !ok {
		return nil, fmt.Errorf("config reference: no package config in %s", dir)
	}
	out := map[string]string{}
	for _, file := range pkg.Files {
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, f := range st.Fields.List {
				for _, name := range f.Names {
					out[ts.Name.Name+"."+name.Name] = f.Doc.Text()
				}
			}
			return false
		})
	}
	return out, nil
}

// Markdown renders the reference as docs/config.md: one table per top-level
// key, like the input tables of terraform-google-modules.
func Markdown(fields []Field) string {
	var b bytes.Buffer
	b.WriteString(`# Config reference

<!-- Generated by "make docs" (go generate ./internal/config) from the doc
comments in internal/config/config.go and the defaults in
internal/config/defaults.go. Do not edit: a test fails when this file is
stale. -->

Every key lives in the ` + "`" + ConfigNamespace + ":`" + ` namespace of ` + "`Pulumi.<stack>.yaml`" + `
(except ` + "`gcp:project`" + ` and ` + "`gcp:zone`" + `, the Google provider's). Objects merge field by
field onto the defaults; every value is validated before any resource is registered
([how config is validated](config-rules.md)). ` + "`<stack>`" + ` stands for the stack's name.

`)
	for _, f := range fields {
		if strings.ContainsAny(f.Key, ".[") {
			continue
		}
		fmt.Fprintf(&b, "## `%s`\n\n%s\n\n", f.Key, f.Doc)
		fmt.Fprintf(&b, "| key | type | default | meaning |\n|---|---|---|---|\n")
		if f.Type != "object" && f.Type != "list of objects" {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Key, f.Type, code(f.Default), cell(f.Doc))
		}
		for _, sub := range fields {
			if strings.HasPrefix(sub.Key, f.Key+".") || strings.HasPrefix(sub.Key, f.Key+"[]") {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", sub.Key, sub.Type, code(sub.Default), cell(sub.Doc))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func code(v string) string {
	switch v {
	case "none", "see fields":
		return v
	}
	return "`" + v + "`"
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// PulumiYAML renders Pulumi.yaml's config block: every project key with its
// type, the empty default that means "the program's", and a description
// naming its fields.
func PulumiYAML(fields []Field) string {
	var b bytes.Buffer
	b.WriteString(`# Every key of the project namespace, generated by "make docs" from
# internal/config (docs/config.md has each field's type, default and rule).
# Empty defaults mean "the program's defaults": objects are merged field by
# field onto them, and every value is validated before any resource is
# registered.
config:
`)
	for _, f := range fields {
		if strings.ContainsAny(f.Key, ".[:") {
			continue
		}
		var subs []string
		for _, sub := range fields {
			if rest, ok := strings.CutPrefix(sub.Key, f.Key+"."); ok && !strings.ContainsAny(rest, ".[") {
				subs = append(subs, rest)
			} else if rest, ok := strings.CutPrefix(sub.Key, f.Key+"[]."); ok && !strings.ContainsAny(rest, ".[") {
				subs = append(subs, rest)
			}
		}
		desc := firstSentence(f.Doc)
		if len(subs) > 0 {
			desc += " Fields: " + strings.Join(subs, ", ") + "."
		}
		fmt.Fprintf(&b, "  %s:\n", f.Key)
		switch {
		case f.Type == "list of objects":
			b.WriteString("    type: array\n    items:\n      type: object\n    default: []\n")
		case f.Type == "object" || strings.HasPrefix(f.Type, "map of"):
			b.WriteString("    type: object\n    default: {}\n")
		default:
			b.WriteString("    type: string\n    default: \"\"\n")
		}
		fmt.Fprintf(&b, "    description: %q\n", desc)
	}
	return b.String()
}

// firstSentence is a doc's first sentence, for a one-line description.
func firstSentence(s string) string {
	s = strings.ReplaceAll(s, "`", "")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// ReferenceFiles are the generated files, relative to the project root, and
// what each holds now when generated from the project at root.
func ReferenceFiles(root string) (map[string]string, error) {
	fields, err := Reference(filepath.Join(root, "internal", "config"))
	if err != nil {
		return nil, err
	}
	project, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		return nil, err
	}
	// Pulumi.yaml keeps everything above its config block by hand.
	head, _, found := strings.Cut(string(project), "\n# Every key of the project namespace")
	if !found {
		head, _, found = strings.Cut(string(project), "\nconfig:\n")
	}
	if !found {
		return nil, fmt.Errorf("config reference: Pulumi.yaml has no config block")
	}
	return map[string]string{
		filepath.Join("docs", "config.md"): Markdown(fields),
		"Pulumi.yaml":                      head + "\n" + PulumiYAML(fields),
	}, nil
}

// WriteReference writes ReferenceFiles under root.
func WriteReference(root string) error {
	files, err := ReferenceFiles(root)
	if err != nil {
		return err
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
