package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/kedaschema"
)

// Every trigger the program renders, on GKE (prometheus) and locally
// (redis), in worker and job mode, passes KEDA's own scaler schema at the
// pinned KEDA version: a misspelt key is otherwise only seen by the KEDA
// operator, at run time, as a ScaledObject that never scales. A scaler KEDA
// has announced it retires (gcp-pubsub, since 2.16) fails too.
func TestKEDATriggersMatchScalerSchema(t *testing.T) {
	schema, err := kedaschema.Load()
	require.NoError(t, err)
	jobMode := map[string]string{"gke-gpu-platform:apps": `[
		{"name": "render", "image": "render:1.0", "gpu": 1, "queue": {"mode": "job"}}]`}
	tests := []struct {
		stack string
		edits map[string]string
		kind  string
	}{
		{stack: "dev", kind: scaledObjectType},
		{stack: "prod", kind: scaledObjectType},
		{stack: "pr", kind: scaledObjectType},
		{stack: "local", kind: scaledObjectType},
		{stack: "dev", edits: jobMode, kind: scaledJobType},
		{stack: "local", edits: map[string]string{"gke-gpu-platform:apps": `[
			{"name": "render", "image": "render:1.0", "gpu": 1, "queue": {"mode": "job"}}]`}, kind: scaledJobType},
	}
	for _, tt := range tests {
		t.Run(tt.stack+"/"+tt.kind, func(t *testing.T) {
			g := runStack(t, tt.stack, tt.edits)
			objects := g.OfType(tt.kind)
			require.NotEmpty(t, objects)
			for _, o := range objects {
				triggers, err := kedaschema.Triggers(o.Plain("spec").(map[string]any))
				require.NoError(t, err, o.Name)
				for _, tr := range triggers {
					problems, notes := schema.Check(tr)
					assert.Empty(t, problems, "%s %s: KEDA %s", tt.kind, o.Name, schema.Module)
					assert.Empty(t, notes, "%s %s: KEDA %s retires the %s scaler", tt.kind, o.Name, schema.Module, tr.Type)
				}
			}
		})
	}
}
