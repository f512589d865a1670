package components

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/keda"
)

// KEDAAPIVersion is the API of KEDA's ScaledObject, ScaledJob and
// TriggerAuthentication (KEDA v2).
const KEDAAPIVersion = "keda.sh/v1alpha1"

// Queue modes: how queued work becomes pods (defined in internal/keda, which
// the config's validation reads without compiling this package).
const (
	// QueueModeWorker: a long-running Deployment that KEDA scales (ScaledObject).
	QueueModeWorker = keda.QueueModeWorker
	// QueueModeJob: one run-to-completion Job per queued message (ScaledJob).
	QueueModeJob = keda.QueueModeJob
)

// QueueScalingArgs hand an app's scale to KEDA, driven by a queue's backlog.
type QueueScalingArgs struct {
	// Mode is QueueModeWorker or QueueModeJob.
	Mode string
	// MinReplicas is the floor; 0 lets the app (and a GPU pool) reach zero.
	MinReplicas int
	// MaxReplicas is the ceiling (workers, or Jobs running at once).
	MaxReplicas int
	// PollingSeconds is how often KEDA reads the backlog.
	PollingSeconds int
	// CooldownSeconds is how long an empty queue keeps workers before zero
	// (worker mode; Jobs end by themselves).
	CooldownSeconds int
	// Trigger is the KEDA scaler that reads the backlog: every job not yet
	// acknowledged, those being worked on included (Pub/Sub's undelivered
	// messages, the local stream's length), so that a worker busy with the
	// last job is not scaled away and job mode's "default" strategy, which
	// subtracts the running Jobs, counts right.
	Trigger TriggerArgs
	// TargetBacklog is the messages per replica the trigger aims at.
	TargetBacklog int
	// Warm are KEDA cron triggers beside the queue's: in each window the app
	// runs at least that window's replicas, queue or no queue (worker mode).
	Warm []WarmWindowArgs
}

// WarmWindowArgs is one time window in which a queue worker is kept ready.
// KEDA's cron scaler: active from each start until the next end.
type WarmWindowArgs struct {
	// Start and End are 5-field cron expressions (minute hour day month weekday).
	Start, End string
	// Timezone is an IANA zone name, e.g. Europe/Berlin.
	Timezone string
	// Replicas is how many workers the window holds.
	Replicas int
}

// TriggerArgs are one KEDA trigger: the scaler type and its metadata. The
// same App takes a redis-streams trigger on the local platform and a prometheus one
// on GKE; nothing else about the app changes.
type TriggerArgs struct {
	// Type is the KEDA scaler, e.g. "redis-streams" or "prometheus".
	Type string
	// Metadata is the scaler's metadata (address, stream, streamLength;
	// subscriptionName, mode, value...).
	Metadata map[string]pulumi.StringInput
	// PodIdentity, when set (e.g. "gcp"), makes the scaler authenticate as
	// KEDA's own workload identity, through a TriggerAuthentication: no keys.
	PodIdentity string
}

// newScaledObject lets KEDA scale the Deployment between the queue's bounds.
func newScaledObject(ctx *pulumi.Context, name string, meta *metav1.ObjectMetaArgs, q *QueueScalingArgs,
	deployment pulumi.StringInput, opts ...pulumi.ResourceOption) error {
	triggers, err := kedaTriggers(ctx, name, meta, q.Trigger, q.Warm, opts...)
	if err != nil {
		return err
	}
	advanced := pulumi.Map{"horizontalPodAutoscalerConfig": pulumi.Map{"behavior": pulumi.Map{
		// Scale in only to zero. The HPA picks which replica goes, not
		// the idle one ("there is no way to control which of the
		// replicas get terminated", KEDA's long-running executions,
		// https://keda.sh/docs/2.21/concepts/scaling-deployments/#long-running-executions):
		// a busy GPU worker would lose its job, and a job handed back
		// MaxDeliveryAttempts times dead-letters unfinished. With scale-down
		// disabled (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#example-disable-scale-down)
		// replicas stay until the backlog, which counts the jobs being
		// worked on, has been empty for the cooldown; then KEDA takes
		// the Deployment to zero. The price: a worker that finishes
		// early idles until the last job of the burst is done.
		"scaleDown": pulumi.Map{"selectPolicy": pulumi.String("Disabled")},
	}}}
	_, err = apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(KEDAAPIVersion),
		Kind:       pulumi.String("ScaledObject"),
		Metadata:   meta,
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
			"scaleTargetRef":  pulumi.Map{"name": deployment},
			"minReplicaCount": pulumi.Int(q.MinReplicas),
			"maxReplicaCount": pulumi.Int(q.MaxReplicas),
			"pollingInterval": pulumi.Int(q.PollingSeconds),
			"cooldownPeriod":  pulumi.Int(q.CooldownSeconds),
			"triggers":        triggers,
			"advanced":        advanced,
		}},
	}, opts...)
	return err
}

// newScaledJob has KEDA start one Job per queued message, up to MaxReplicas at once.
func newScaledJob(ctx *pulumi.Context, name string, meta *metav1.ObjectMetaArgs, q *QueueScalingArgs,
	template *corev1.PodTemplateSpecArgs, opts ...pulumi.ResourceOption) error {
	triggers, err := kedaTriggers(ctx, name, meta, q.Trigger, nil, opts...)
	if err != nil {
		return err
	}
	_, err = apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(KEDAAPIVersion),
		Kind:       pulumi.String("ScaledJob"),
		Metadata:   meta,
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
			"jobTargetRef": pulumi.Map{
				// A message that fails twice is left for a person, not retried forever on a GPU.
				"backoffLimit": pulumi.Int(2),
				"template":     template,
			},
			"minReplicaCount": pulumi.Int(q.MinReplicas),
			"maxReplicaCount": pulumi.Int(q.MaxReplicas),
			"pollingInterval": pulumi.Int(q.PollingSeconds),
			// A new spec (every new image) must not delete the Jobs still
			// running GPU work: by default KEDA does (kedacore/keda#1021);
			// gradual leaves them to finish and starts new ones on the new spec.
			"rollout": pulumi.Map{"strategy": pulumi.String("gradual")},
			// How many Jobs to start (https://keda.sh/docs/2.21/reference/scaledjob-spec/#scalingstrategy):
			// "default" subtracts the running Jobs from the backlog, right
			// when the backlog counts the messages they hold, as Trigger's does.
			"scalingStrategy":            pulumi.Map{"strategy": pulumi.String("default")},
			"successfulJobsHistoryLimit": pulumi.Int(3),
			"failedJobsHistoryLimit":     pulumi.Int(3),
			"triggers":                   triggers,
		}},
	}, opts...)
	return err
}

// kedaTriggers renders the trigger list, creating the TriggerAuthentication
// a pod-identity trigger refers to.
func kedaTriggers(ctx *pulumi.Context, name string, meta *metav1.ObjectMetaArgs, t TriggerArgs, warm []WarmWindowArgs,
	opts ...pulumi.ResourceOption) (pulumi.Array, error) {
	metadata := pulumi.StringMap{}
	for _, k := range slices.Sorted(maps.Keys(t.Metadata)) {
		metadata[k] = t.Metadata[k]
	}
	trigger := pulumi.Map{"type": pulumi.String(t.Type), "metadata": metadata}
	triggers := pulumi.Array{trigger}
	for _, w := range warm {
		triggers = append(triggers, pulumi.Map{"type": pulumi.String("cron"), "metadata": pulumi.StringMap{
			"start": pulumi.String(w.Start), "end": pulumi.String(w.End), "timezone": pulumi.String(w.Timezone),
			"desiredReplicas": pulumi.String(fmt.Sprint(w.Replicas)),
		}})
	}
	if t.PodIdentity != "" {
		auth, err := apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String(KEDAAPIVersion),
			Kind:       pulumi.String("TriggerAuthentication"),
			Metadata:   meta,
			OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
				"podIdentity": pulumi.Map{"provider": pulumi.String(t.PodIdentity)},
			}},
		}, opts...)
		if err != nil {
			return nil, err
		}
		trigger["authenticationRef"] = pulumi.Map{"name": auth.Metadata.Name().Elem()}
	}
	return triggers, nil
}
