package display

import (
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
)

func TestDisplayOneLinePerStep(t *testing.T) {
	var out strings.Builder
	d := New(&out)
	clock := time.Unix(0, 0)
	d.now = func() time.Time { return clock }
	meta := func(op apitype.OpType, typ, name string) apitype.StepEventMetadata {
		return apitype.StepEventMetadata{Op: op, Type: typ, URN: "urn:pulumi:local::gke-gpu-platform::" + typ + "::" + name, Diffs: []string{"spec"}}
	}
	dep := meta(apitype.OpCreate, "kubernetes:apps/v1:Deployment", "frontend")
	same := meta(apitype.OpSame, "kubernetes:core/v1:Namespace", "platform")
	upd := meta(apitype.OpUpdate, "kubernetes:apps/v1:Deployment", "backend")
	events := []apitype.EngineEvent{
		{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: dep}},
		{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: same}},
		{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: upd}},
		// Progress ticks the CLI would print again and again: nothing here.
		{DiagnosticEvent: &apitype.DiagnosticEvent{Message: "creating (1s)", Severity: "info", Ephemeral: true}},
		{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: same}},
		{DiagnosticEvent: &apitype.DiagnosticEvent{URN: upd.URN, Message: "\x1b[33mslow rollout\x1b[0m", Severity: "warning"}},
		{ResOpFailedEvent: &apitype.ResOpFailedEvent{Metadata: upd}},
		{PolicyEvent: &apitype.PolicyEvent{PolicyName: "images-pinned", EnforcementLevel: "mandatory", ResourceURN: dep.URN, Message: "not pinned"}},
	}
	for _, e := range events[:6] {
		d.Handle(e)
	}
	clock = clock.Add(2500 * time.Millisecond)
	d.Handle(apitype.EngineEvent{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: dep}})
	for _, e := range events[6:] {
		d.Handle(e)
	}
	assert.Equal(t, strings.Join([]string{
		"    warning backend: slow rollout",
		" +  kubernetes:apps/v1:Deployment frontend created (2.5s)",
		" ~  kubernetes:apps/v1:Deployment backend update failed (2.5s) [diff: spec]",
		"    policy images-pinned (mandatory) frontend: not pinned",
		"",
	}, "\n"), out.String())
}
