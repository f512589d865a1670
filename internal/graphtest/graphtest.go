// Package graphtest runs a Pulumi program under mocks and records every
// resource it registers, with the inputs, parent, provider and options the
// engine would have received, so tests can assert on what matters.
package graphtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// Resource is one registered resource as the engine would see it.
type Resource struct {
	// Type is the resource token, e.g. gcp:container/nodePool:NodePool.
	Type string
	// Name is the logical name.
	Name string
	// Inputs are the inputs sent to the engine.
	Inputs resource.PropertyMap
	// Parent is the parent's URN ("" for the stack's direct children).
	Parent resource.URN
	// Provider is the explicit provider reference ("urn::id"), if any.
	Provider string
	// Protect is the protect option.
	Protect bool
	// Dependencies are the URNs this resource depends on.
	Dependencies []string
	// Custom is false for component resources.
	Custom bool
	// IgnoreChanges are the input paths the engine keeps from the last deployment.
	IgnoreChanges []string
}

// Input returns the input at a dotted path ("nodeConfig.taints"), or a null value.
func (r Resource) Input(path string) resource.PropertyValue {
	v := resource.NewObjectProperty(r.Inputs)
	for _, part := range strings.Split(path, ".") {
		for v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			return resource.NewNullProperty()
		}
		v = v.ObjectValue()[resource.PropertyKey(part)]
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// Plain returns the input at path as plain Go values (maps, slices, strings, float64, bool).
func (r Resource) Plain(path string) any {
	return r.Input(path).Mappable()
}

// Graph is what a program registered, and what it exported.
type Graph struct {
	mu        sync.Mutex
	Resources []Resource
	// Exports are the stack outputs, resolved; secrets are unwrapped.
	Exports map[string]any
	// SecretExports names the outputs that were secret.
	SecretExports map[string]bool
	// Calls are the invoke tokens the program made.
	Calls []string
}

// OfType returns the resources of one type, in registration order.
func (g *Graph) OfType(typ string) []Resource {
	var out []Resource
	for _, r := range g.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// One returns the only resource of a type, failing the test if there is not exactly one.
func (g *Graph) One(t testing.TB, typ string) Resource {
	t.Helper()
	rs := g.OfType(typ)
	if len(rs) != 1 {
		t.Fatalf("want exactly one %s, got %d", typ, len(rs))
	}
	return rs[0]
}

// Named returns the resource of the given type and name.
func (g *Graph) Named(typ, name string) (Resource, bool) {
	for _, r := range g.Resources {
		if r.Type == typ && r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

const projectName = "gke-gpu-platform"

type mocks struct{ g *Graph }

// NewResource records the resource and returns plausible outputs: the
// inputs plus what the cloud would compute (IDs, emails, endpoints, digests).
func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := Resource{Type: args.TypeToken, Name: args.Name, Inputs: args.Inputs, Provider: args.Provider, Custom: args.Custom}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = resource.URN(rpc.GetParent())
		r.Protect = rpc.GetProtect()
		r.Dependencies = rpc.GetDependencies()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
	}
	m.g.mu.Lock()
	m.g.Resources = append(m.g.Resources, r)
	m.g.mu.Unlock()

	outs := args.Inputs.Copy()
	str := func(key string) string {
		if v, ok := args.Inputs[resource.PropertyKey(key)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	set := func(key string, v any) { outs[resource.PropertyKey(key)] = resource.NewPropertyValue(v) }
	switch args.TypeToken {
	case "gcp:serviceaccount/account:Account":
		set("email", fmt.Sprintf("%s@%s.iam.gserviceaccount.com", str("accountId"), str("project")))
	case "gcp:container/cluster:Cluster":
		set("endpoint", "203.0.113.1")
		set("masterAuth", map[string]any{"clusterCaCertificate": "Q0EtQ0VSVA=="})
		// A Private Service Connect control plane: a private endpoint in the
		// node subnet, no masterIpv4CidrBlock.
		set("privateClusterConfig", map[string]any{"privateEndpoint": "10.128.0.2"})
	case "gcp:container/nodePool:NodePool":
		set("name", str("namePrefix")+"a1b2c3")
	case "gcp:artifactregistry/repository:Repository":
		set("name", str("repositoryId"))
	case "gcp:compute/globalAddress:GlobalAddress":
		set("address", "203.0.113.7")
	case "docker:index/image:Image":
		set("repoDigest", strings.TrimSuffix(str("imageName"), ":latest")+"@sha256:0123456789abcdef")
	case "kubernetes:networking.k8s.io/v1:Ingress":
		set("status", map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "203.0.113.7"}}}})
	}
	return args.Name + "-id", outs, nil
}

// NoPrivateGoogleAccess ends the name of a subnetwork the mocks report with
// Private Google Access off.
const NoPrivateGoogleAccess = "-no-pga"

// MockProjectNumber is the number the mocks give every Google Cloud project.
const MockProjectNumber = "123456789012"

// Call answers the invokes the program makes.
func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.g.mu.Lock()
	m.g.Calls = append(m.g.Calls, args.Token)
	m.g.mu.Unlock()
	switch args.Token {
	case "gcp:organizations/getClientConfig:getClientConfig":
		return resource.NewPropertyMapFromMap(map[string]any{
			"accessToken": "ya29.mock-token", "project": "mock", "region": "us-central1", "zone": "us-central1-a", "id": "mock",
		}), nil
	case "gcp:compute/getSubnetwork:getSubnetwork":
		// Private Google Access is on, as on a subnetwork GKE made private;
		// a name ending in NoPrivateGoogleAccess reports it off.
		name, region := args.Args["name"].StringValue(), args.Args["region"].StringValue()
		return resource.NewPropertyMapFromMap(map[string]any{
			"name": name, "region": region,
			"selfLink":              fmt.Sprintf("https://www.googleapis.com/compute/v1/projects/%s/regions/%s/subnetworks/%s", args.Args["project"].StringValue(), region, name),
			"privateIpGoogleAccess": !strings.HasSuffix(name, NoPrivateGoogleAccess),
		}), nil
	case "gcp:organizations/getProject:getProject":
		// A project's number is Google's to give; this one is the mock's.
		return resource.NewPropertyMapFromMap(map[string]any{
			"projectId": args.Args["projectId"].StringValue(), "number": MockProjectNumber, "name": args.Args["projectId"].StringValue(),
		}), nil
	}
	return nil, fmt.Errorf("graphtest: no mock for invoke %s", args.Token)
}

// Run runs program under mocks with the given stack config (the values the
// CLI would pass: strings, objects as JSON). It also sets PULUMI_CONFIG the
// way the Go language host does, so config-key checks run as under the CLI.
// Tests that use it must not run in parallel.
func Run(t testing.TB, program pulumi.RunFunc, stack string, config map[string]string) (*Graph, error) {
	t.Helper()
	raw, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULUMI_CONFIG", string(raw))

	g := &Graph{Exports: map[string]any{}, SecretExports: map[string]bool{}}
	withConfig := func(info *pulumi.RunInfo) {
		info.Config = config
		// A value read from a stack file's `secure:` entry is secret, as the
		// engine would say (stacks.StackFileConfig puts a placeholder there).
		for k, v := range config {
			if strings.Contains(v, "[secret]") {
				info.ConfigSecretKeys = append(info.ConfigSecretKeys, k)
			}
		}
	}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		if err := program(ctx); err != nil {
			return err
		}
		for name, v := range ctx.GetCurrentExportMap() {
			res, err := internals.UnsafeAwaitOutput(context.Background(), pulumi.ToOutput(v))
			if err != nil {
				return fmt.Errorf("export %s: %w", name, err)
			}
			g.Exports[name] = res.Value
			g.SecretExports[name] = res.Secret
		}
		return nil
	}, pulumi.WithMocks(projectName, stack, &mocks{g: g}), withConfig)
	return g, err
}
