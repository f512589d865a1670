package components

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/monitoring"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DashboardArgs configure the stack's Cloud Monitoring dashboard.
type DashboardArgs struct {
	// Project is the project ID.
	Project string
	// Cluster is the GKE cluster's name.
	Cluster string
	// Subscriptions are the queues' consumer subscriptions.
	Subscriptions []string
	// GPUPoolPrefix starts every GPU pool's name.
	GPUPoolPrefix string
	// GPUMetrics says the cluster exports GKE's managed DCGM metrics.
	GPUMetrics bool
	// Budget is the monthly budget and its currency, when the stack has one.
	Budget string
}

// Dashboard is the stack's dashboard: the queues, the GPU nodes and their
// GPUs, and the budget.
type Dashboard struct {
	pulumi.ResourceState
}

// NewDashboard creates it from DashboardJSON.
// https://cloud.google.com/monitoring/api/ref_v3/rest/v1/projects.dashboards
func NewDashboard(ctx *pulumi.Context, name string, args *DashboardArgs, opts ...pulumi.ResourceOption) (*Dashboard, error) {
	d := &Dashboard{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:Dashboard", name, d, opts...); err != nil {
		return nil, err
	}
	body, err := DashboardJSON(args)
	if err != nil {
		return nil, err
	}
	if _, err := monitoring.NewDashboard(ctx, name, &monitoring.DashboardArgs{
		Project: pulumi.String(args.Project), DashboardJson: pulumi.String(body),
	}, childOf(d, opts)); err != nil {
		return nil, err
	}
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{})
}

// chart is one line chart of a metric filter, aligned per minute.
func chart(title, filter, aligner, reducer string, groupBy ...string) map[string]any {
	agg := map[string]any{"alignmentPeriod": "60s", "perSeriesAligner": aligner}
	if reducer != "" {
		agg["crossSeriesReducer"] = reducer
		if len(groupBy) > 0 {
			agg["groupByFields"] = groupBy
		}
	}
	return map[string]any{"title": title, "xyChart": map[string]any{"dataSets": []any{map[string]any{
		"plotType":        "LINE",
		"timeSeriesQuery": map[string]any{"timeSeriesFilter": map[string]any{"filter": filter, "aggregation": agg}},
	}}}}
}

func text(title, content string) map[string]any {
	return map[string]any{"title": title, "text": map[string]any{"content": content, "format": "MARKDOWN"}}
}

// DashboardJSON is the dashboard's body: a mosaic of two tiles a row.
func DashboardJSON(args *DashboardArgs) (string, error) {
	var widgets []map[string]any
	if len(args.Subscriptions) > 0 {
		subs := `resource.type="pubsub_subscription" resource.label.subscription_id=` + oneOf(args.Subscriptions)
		widgets = append(widgets,
			chart("Jobs waiting, per queue", subs+` metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages"`, "ALIGN_MEAN", "REDUCE_SUM", "resource.label.subscription_id"),
			chart("Oldest job's age (s), per queue", subs+` metric.type="pubsub.googleapis.com/subscription/oldest_unacked_message_age"`, "ALIGN_MAX", "REDUCE_MAX", "resource.label.subscription_id"),
			chart("Jobs dead-lettered, per minute", subs+` metric.type="pubsub.googleapis.com/subscription/dead_letter_message_count"`, "ALIGN_DELTA", "REDUCE_SUM", "resource.label.subscription_id"),
		)
	}
	widgets = append(widgets, chart("GPU nodes up", fmt.Sprintf(`resource.type="gce_instance" metric.type="compute.googleapis.com/instance/uptime_total"`+
		` metadata.user_labels."goog-k8s-cluster-name"=%q metadata.user_labels."goog-k8s-node-pool-name"=starts_with(%q)`, args.Cluster, args.GPUPoolPrefix),
		"ALIGN_MAX", "REDUCE_COUNT"))
	if args.GPUMetrics {
		widgets = append(widgets,
			chart("GPU utilisation (%), per GPU", `metric.type="prometheus.googleapis.com/DCGM_FI_DEV_GPU_UTIL/gauge"`, "ALIGN_MEAN", ""),
			chart("GPU memory used (MiB), per GPU", `metric.type="prometheus.googleapis.com/DCGM_FI_DEV_FB_USED/gauge"`, "ALIGN_MEAN", ""))
	} else {
		widgets = append(widgets, text("GPU utilisation and memory", "Off: set `cluster.gpuMetrics: true` for GKE's managed DCGM metrics (Managed Prometheus bills their samples)."))
	}
	if args.Budget != "" {
		widgets = append(widgets, text("Spend against the budget", fmt.Sprintf("Budget %s a month: the billing console's Budgets & alerts page shows spend against it; the spend guard pauses GPU scaling at the cap (docs/spend.md). Billing data is hours late.", args.Budget)))
	}
	tiles := make([]any, len(widgets))
	for i, w := range widgets {
		tiles[i] = map[string]any{"xPos": (i % 2) * 24, "yPos": (i / 2) * 16, "width": 24, "height": 16, "widget": w}
	}
	body, err := json.Marshal(map[string]any{
		"displayName":  args.Cluster + ": GPUs and queues",
		"mosaicLayout": map[string]any{"columns": 48, "tiles": tiles},
	})
	return string(body), err
}
