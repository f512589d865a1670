package gcpcompute

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type mocks struct {
	inputs map[string]resource.PropertyMap
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.inputs[args.TypeToken] = args.Inputs
	return args.Name + "_id", args.Inputs, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}

// Every input registered by type token must be an input of the typed SDK's
// resource at the pinned version (read from its source, not compiled): a
// misspelt key would reach the provider as an unknown property.
func TestInputsAreTheSDKs(t *testing.T) {
	m := &mocks{inputs: map[string]resource.PropertyMap{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		if _, err := NewGlobalAddress(ctx, "ip", &GlobalAddressArgs{Project: "p", Name: "ip", Description: "d", Labels: map[string]string{"a": "b"}}); err != nil {
			return err
		}
		r, err := NewRouter(ctx, "router", &RouterArgs{Project: "p", Name: "r", Region: "us-central1", Network: "default"})
		if err != nil {
			return err
		}
		_, err = NewRouterNAT(ctx, "nat", &RouterNATArgs{Project: "p", Name: "n", Region: "us-central1", Router: r.Name,
			Subnetwork: "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1/subnetworks/default"})
		return err
	}, pulumi.WithMocks("p", "s", m))
	require.NoError(t, err)

	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/pulumi/pulumi-gcp/sdk/v7").Output()
	require.NoError(t, err)
	sdk := filepath.Join(strings.TrimSpace(string(dir)), "go", "gcp", "compute")
	for token, file := range map[string]string{
		GlobalAddressType: "globalAddress.go", RouterType: "router.go", RouterNATType: "routerNat.go",
	} {
		props, ok := m.inputs[token]
		require.True(t, ok, token)
		fields := argsFields(t, filepath.Join(sdk, file))
		for k := range props {
			assert.Contains(t, fields, string(k), "%s input %q is not in the SDK's %s", token, k, file)
		}
	}
	nat := m.inputs[RouterNATType]
	assert.Equal(t, "LIST_OF_SUBNETWORKS", nat["sourceSubnetworkIpRangesToNat"].StringValue())
	// The subnetwork entry's keys are the SDK's RouterNatSubnetwork fields.
	entry := nat["subnetworks"].ArrayValue()[0].ObjectValue()
	nested := structFields(t, filepath.Join(sdk, "pulumiTypes.go"), "RouterNatSubnetwork")
	for k := range entry {
		assert.Contains(t, nested, string(k))
	}
	assert.Equal(t, []resource.PropertyValue{resource.NewStringProperty("ALL_IP_RANGES")}, entry["sourceIpRangesToNats"].ArrayValue())

	// The invoke's arguments are getSubnetwork's, and the result fields
	// LookupSubnetwork reads are in the SDK's result type.
	args := structFields(t, filepath.Join(sdk, "getSubnetwork.go"), "LookupSubnetworkArgs")
	result := structFields(t, filepath.Join(sdk, "getSubnetwork.go"), "LookupSubnetworkResult")
	for _, f := range reflect.VisibleFields(reflect.TypeOf(SubnetworkArgs{})) {
		assert.Contains(t, args, f.Tag.Get("pulumi"))
	}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Subnetwork{})) {
		assert.Contains(t, result, f.Tag.Get("pulumi"))
	}
}

// argsFields are the `pulumi:"..."` tags of the file's lowercase args struct
// (routerArgs for router.go).
func argsFields(t *testing.T, path string) map[string]bool {
	t.Helper()
	return structFields(t, path, strings.TrimSuffix(filepath.Base(path), ".go")+"Args")
}

// structFields are the `pulumi:"..."` tags of the named struct in the file.
func structFields(t *testing.T, path, name string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	require.NoError(t, err)
	fields := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != name {
			return true
		}
		for _, fl := range ts.Type.(*ast.StructType).Fields.List {
			if fl.Tag != nil {
				tag := reflect.StructTag(strings.Trim(fl.Tag.Value, "`")).Get("pulumi")
				fields[tag] = true
			}
		}
		return false
	})
	require.NotEmpty(t, fields, "no %s in %s", name, path)
	return fields
}
