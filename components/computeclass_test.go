package components

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// computeClassFields are the ComputeClass fields GKE's reference
// documents, of those this component may write (read 2026-12-03 from
// ComputeClassReference: "spec: activeMigration, autoscalingPolicy,
// nodePoolAutoCreation, nodePoolGroup, nodePoolConfig, autopilot,
// priorities, priorityDefaults, whenUnsatisfiable"; priorities:
// "flexStart, gpu, location, machineFamily, machineType,
// maxRunDurationSeconds, ... nodepools, ... spot, storage ..."; gpu:
// count, driverVersion, type; storage: bootDiskSize, bootDiskType), with
// the values the reference allows where it lists them.
var computeClassFields = map[string][]any{
	"activeMigration.optimizeRulePriority":  nil,
	"nodePoolAutoCreation.enabled":          nil,
	"nodePoolConfig.serviceAccount":         nil,
	"nodePoolConfig.imageStreaming.enabled": nil,
	"priorities[].nodepools[]":              nil,
	"priorities[].machineType":              nil,
	"priorities[].gpu.type":                 nil,
	"priorities[].gpu.count":                nil,
	// "must be default or latest", GKE 1.31.1-gke.1858000 and later.
	"priorities[].gpu.driverVersion":     {"default", "latest"},
	"priorities[].flexStart.enabled":     nil,
	"priorities[].maxRunDurationSeconds": nil,
	"priorities[].location.zones[]":      nil,
	"priorities[].storage.bootDiskType":  nil,
	"priorities[].storage.bootDiskSize":  nil,
	"whenUnsatisfiable":                  {"ScaleUpAnyway", "DoNotScaleUp"},
}

// Every key the class is written with is one GKE's reference lists: an
// unknown one would be refused by the CRD's schema only at deploy time,
// which the mocks never reach. Both kinds of rule, and every option on.
func TestComputeClassFieldsAreDocumented(t *testing.T) {
	g := run(t, func(ctx *pulumi.Context) error {
		_, err := NewComputeClass(ctx, "gpu", &ComputeClassArgs{
			Priorities: []ComputeClassPriority{
				{NodePool: pulumi.String("gpu-abc")},
				{MachineType: "g2-standard-4", AcceleratorType: "nvidia-l4", AcceleratorCount: 1, DriverVersion: "LATEST",
					FlexStart: true, MaxRunDurationSeconds: 3600, Zones: []string{"us-central1-a"}, DiskType: "pd-balanced", DiskSizeGb: 100},
			},
			WhenUnsatisfiable:    "DoNotScaleUp",
			OptimizeRulePriority: true,
			NodeServiceAccount:   pulumi.String("nodes@p.iam.gserviceaccount.com"),
			ImageStreaming:       true,
		})
		return err
	})
	requireParented(t, g, "gke-gpu-platform:index:ComputeClass")
	class := g.One(t, "kubernetes:cloud.google.com/v1:ComputeClass")
	assert.Equal(t, "cloud.google.com/v1", class.Plain("apiVersion"))
	spec, ok := class.Plain("spec").(map[string]any)
	require.True(t, ok)

	seen := map[string]bool{}
	walk("", spec, func(path string, value any) {
		seen[path] = true
		allowed, documented := computeClassFields[path]
		if assert.True(t, documented, "spec.%s is not in GKE's ComputeClass reference (%s)", path, ComputeClassReference) && allowed != nil {
			assert.Contains(t, allowed, value, "spec.%s", path)
		}
	})
	for path := range computeClassFields {
		assert.True(t, seen[path], "spec.%s is never written: drop it from the list", path)
	}
	// "You can't use other spec.priorities fields alongside the nodepools
	// field in the same priority rule item."
	for _, rule := range spec["priorities"].([]any) {
		if r := rule.(map[string]any); r["nodepools"] != nil {
			assert.Len(t, r, 1, "a nodepools rule carries nothing else")
		}
	}
}

// walk calls visit with the dotted path of every leaf ("[]" for a list's items).
func walk(prefix string, v any, visit func(path string, value any)) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			walk(strings.TrimPrefix(prefix+"."+k, "."), x[k], visit)
		}
	case []any:
		for _, item := range x {
			walk(prefix+"[]", item, visit)
		}
	default:
		visit(prefix, v)
	}
}
