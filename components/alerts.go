package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/monitoring"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AlertsArgs configure the alerts a founder needs, as Cloud Monitoring
// alert policies emailed to Emails.
type AlertsArgs struct {
	// Project is the project ID the policies and channels live in.
	Project string
	// Cluster is the GKE cluster's name (GKE labels its node VMs
	// goog-k8s-cluster-name with it).
	Cluster string
	// Emails get every alert: one email notification channel each.
	Emails []string
	// Subscriptions are the queues' consumer subscriptions (their IDs):
	// their dead letters and their oldest job are watched.
	Subscriptions []string
	// OldestJobSeconds alerts when a queue's oldest unacknowledged job is
	// older: stuck, or no GPU to be had.
	OldestJobSeconds int
	// GPUNodeSeconds alerts when a GPU node has been up longer.
	GPUNodeSeconds int
	// GPUPoolPrefix starts every GPU pool's name (gpu: gpu-xxxx, gpu-1-xxxx).
	GPUPoolPrefix string
	// SpendGuard alerts when the spend guard pauses GPU scaling (its
	// SpendGuardPaused Event, in the cluster's events log).
	SpendGuard bool
}

// Alerts are the stack's alert policies and their email channels.
type Alerts struct {
	pulumi.ResourceState
}

// NewAlerts creates them. Sources of the metrics:
// https://cloud.google.com/monitoring/api/metrics_gcp (pubsub, compute).
func NewAlerts(ctx *pulumi.Context, name string, args *AlertsArgs, opts ...pulumi.ResourceOption) (*Alerts, error) {
	a := &Alerts{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:Alerts", name, a, opts...); err != nil {
		return nil, err
	}
	parent := childOf(a, opts)
	var channels pulumi.StringArray
	for i, email := range args.Emails {
		ch, err := monitoring.NewNotificationChannel(ctx, fmt.Sprintf("%s-email-%d", name, i), &monitoring.NotificationChannelArgs{
			Project: pulumi.String(args.Project), Type: pulumi.String("email"),
			DisplayName: pulumi.String(args.Cluster + ": " + email),
			Labels:      pulumi.StringMap{"email_address": pulumi.String(email)},
		}, parent)
		if err != nil {
			return nil, err
		}
		channels = append(channels, ch.Name)
	}
	for _, p := range alertPolicies(args) {
		p.Project, p.NotificationChannels, p.Combiner = pulumi.String(args.Project), channels, pulumi.String("OR")
		if _, err := monitoring.NewAlertPolicy(ctx, name+"-"+p.key, &p.AlertPolicyArgs, parent); err != nil {
			return nil, err
		}
	}
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{})
}

type policy struct {
	key string
	monitoring.AlertPolicyArgs
}

// threshold is a condition on a metric's per-series maximum (or delta)
// over a minute above value for duration.
func threshold(display, filter, aligner string, value float64, duration string) monitoring.AlertPolicyConditionArray {
	return monitoring.AlertPolicyConditionArray{&monitoring.AlertPolicyConditionArgs{
		DisplayName: pulumi.String(display),
		ConditionThreshold: &monitoring.AlertPolicyConditionConditionThresholdArgs{
			Filter: pulumi.String(filter), Comparison: pulumi.String("COMPARISON_GT"),
			ThresholdValue: pulumi.Float64(value), Duration: pulumi.String(duration),
			Aggregations: monitoring.AlertPolicyConditionConditionThresholdAggregationArray{
				&monitoring.AlertPolicyConditionConditionThresholdAggregationArgs{
					AlignmentPeriod: pulumi.String("60s"), PerSeriesAligner: pulumi.String(aligner),
				},
			},
		},
	}}
}

func docs(text string) *monitoring.AlertPolicyDocumentationArgs {
	return &monitoring.AlertPolicyDocumentationArgs{Content: pulumi.String(text), MimeType: pulumi.String("text/markdown")}
}

// alertPolicies are the four a founder is told of: jobs dead-lettered, the
// oldest job too old, a GPU node up too long, the spend guard engaged.
func alertPolicies(args *AlertsArgs) []policy {
	var out []policy
	if len(args.Subscriptions) > 0 {
		subs := `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = ` + oneOf(args.Subscriptions)
		out = append(out,
			policy{"dead-letters", monitoring.AlertPolicyArgs{
				DisplayName: pulumi.String(args.Cluster + ": jobs dead-lettered"),
				Conditions: threshold("a job went to the dead letters",
					subs+` AND metric.type = "pubsub.googleapis.com/subscription/dead_letter_message_count"`, "ALIGN_DELTA", 0, "0s"),
				Documentation: docs("A job failed every delivery and went to its queue's dead letters: docs/gpus-and-queues.md says how to read and replay them."),
			}},
			policy{"oldest-job", monitoring.AlertPolicyArgs{
				DisplayName: pulumi.String(fmt.Sprintf("%s: a job waiting over %d min", args.Cluster, args.OldestJobSeconds/60)),
				Conditions: threshold("the oldest unacknowledged job's age",
					subs+` AND metric.type = "pubsub.googleapis.com/subscription/oldest_unacked_message_age"`, "ALIGN_MAX", float64(args.OldestJobSeconds), "60s"),
				Documentation: docs("A queue's oldest job has waited this long: a stuck worker, a paused spend guard, or no GPU to be had in any option of the GPU ComputeClass (kubectl describe pod of a Pending worker says which)."),
			}})
	}
	if args.GPUNodeSeconds > 0 {
		out = append(out, policy{"gpu-node-up", monitoring.AlertPolicyArgs{
			DisplayName: pulumi.String(fmt.Sprintf("%s: a GPU node up over %d h", args.Cluster, args.GPUNodeSeconds/3600)),
			Conditions: threshold("a GPU node's uptime", fmt.Sprintf(`resource.type = "gce_instance" AND metric.type = "compute.googleapis.com/instance/uptime_total"`+
				` AND metadata.user_labels."goog-k8s-cluster-name" = %q AND metadata.user_labels."goog-k8s-node-pool-name" = starts_with(%q)`,
				args.Cluster, args.GPUPoolPrefix), "ALIGN_MAX", float64(args.GPUNodeSeconds), "60s"),
			Documentation: docs("A GPU node has run this long: a long queue, a warm window, or something keeping it up (an always-on GPU app, a pod not safe to evict)."),
		}})
	}
	if args.SpendGuard {
		out = append(out, policy{"spend-guard", monitoring.AlertPolicyArgs{
			DisplayName: pulumi.String(args.Cluster + ": the spend guard paused GPU scaling"),
			Conditions: monitoring.AlertPolicyConditionArray{&monitoring.AlertPolicyConditionArgs{
				DisplayName: pulumi.String("a SpendGuardPaused event"),
				ConditionMatchedLog: &monitoring.AlertPolicyConditionConditionMatchedLogArgs{Filter: pulumi.String(fmt.Sprintf(
					`logName = "projects/%s/logs/events" AND resource.labels.cluster_name = %q AND jsonPayload.reason = "SpendGuardPaused"`, args.Project, args.Cluster))},
			}},
			// A log-based alert needs a notification rate limit.
			AlertStrategy: &monitoring.AlertPolicyAlertStrategyArgs{
				NotificationRateLimit: &monitoring.AlertPolicyAlertStrategyNotificationRateLimitArgs{Period: pulumi.String("3600s")},
			},
			Documentation: docs("The budget period's spend reached the cap: GPU workers are at zero and jobs wait in the queues until the next period, or `/spend-guard resume` (docs/spend.md)."),
		}})
	}
	return out
}

// oneOf is a Monitoring filter's one_of("a", "b") of values.
func oneOf(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	return "one_of(" + strings.Join(quoted, ", ") + ")"
}
