package apps_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordFields are the fields and JSON tags of the `record` struct (and
// the structs it names) in one app's jobs.go.
func recordFields(t *testing.T, app string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "..", "apps", app, "jobs.go"), nil, 0)
	require.NoError(t, err)
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || (ts.Name.Name != "record" && ts.Name.Name != "workerRef") {
			return true
		}
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			for _, name := range field.Names {
				tag := ""
				if field.Tag != nil {
					tag = field.Tag.Value
				}
				out[ts.Name.Name+"."+name.Name] = tag + " " + types(field.Type)
			}
		}
		return false
	})
	require.NotEmpty(t, out, "apps/%s/jobs.go has no record type", app)
	return out
}

func types(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.StarExpr:
		return "*" + types(t.X)
	case *ast.SelectorExpr:
		return types(t.X) + "." + t.Sel.Name
	}
	return "?"
}

// The backend creates and serves a job's record, the worker updates it:
// two modules (each app builds alone, into its own image), one shape. A
// field added to one and not the other would be silently dropped by a
// read-modify-write.
func TestJobRecordIsOneShapeInBothApps(t *testing.T) {
	assert.Equal(t, recordFields(t, "backend"), recordFields(t, "gpu-worker"))
}
