package stacks

import (
	"fmt"
	"net"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/components"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// deploySpendGuard runs the spend guard when the stack has a budget and
// GPU scalers to pause: on GKE it reads its own subscription of the
// budget's topic, as a Google identity of its own; locally it reads the
// budget stream of the local queue, and runs where the stack has its image
// (real nodes: local.images), the namespace and RBAC only elsewhere.
func deploySpendGuard(ctx *pulumi.Context, cfg config.Config, t *target, appsNamespace pulumi.StringInput) error {
	scalers := cfg.GuardedScalers()
	if cfg.Budget == nil || len(scalers) == 0 {
		return nil
	}
	name := config.SpendGuardName
	args := &components.SpendGuardArgs{
		Name: name, AppsNamespace: appsNamespace, AppsNamespaceName: cfg.Namespace,
		Scalers: scalers, CapPercent: cfg.Budget.CapPercent,
	}
	if t.gke {
		identity, err := components.NewWorkloadIdentity(ctx, name, &components.WorkloadIdentityArgs{
			Project: cfg.Project, WorkloadPool: t.workloadPool,
			AccountID: cfg.Cluster.Name + "-guard", DisplayName: "spend guard of " + cfg.Cluster.Name,
			Namespace: name, ServiceAccount: name,
		})
		if err != nil {
			return err
		}
		subscription := cfg.Cluster.Name + "-budget-guard"
		if err := t.budget.Subscribe(ctx, name, cfg.Project, subscription, identity.Member); err != nil {
			return err
		}
		args.Source = map[string]string{"BUDGET_SUBSCRIPTION": fmt.Sprintf("projects/%s/subscriptions/%s", cfg.Project, subscription)}
		args.GCPServiceAccount = identity.Email
		args.Traffic.GoogleAPIs = true
		// The API server: the kubernetes Service's endpoint is the control
		// plane's private address with private nodes, which GoogleAPIs'
		// public ranges leave out: 443 anywhere, for this one pod.
		args.Traffic.Egress = []components.EgressArgs{{CIDR: "0.0.0.0/0", Ports: []int{443}}}
		args.Build = &components.ImageBuildArgs{
			Context: "apps/" + name, Dockerfile: "apps/" + name + "/Dockerfile",
			Repository: t.registry.URL, Registry: t.registry.DockerRegistry(ctx), Platform: "linux/amd64",
		}
	} else {
		args.Source = map[string]string{"REDIS_ADDR": cfg.Local.RedisAddress, "BUDGET_STREAM": config.BudgetStream}
		args.Image = cfg.Local.Images[name]
		// The local queue, and the loopback API server, whose port is
		// chosen when it starts: any port (GKE's is the 443 of GoogleAPIs).
		if host, port, err := net.SplitHostPort(cfg.Local.RedisAddress); err == nil && net.ParseIP(host) != nil {
			p, _ := strconv.Atoi(port)
			args.Traffic.Egress = append(args.Traffic.Egress, components.EgressArgs{CIDR: host + "/32", Ports: []int{p}})
		}
		args.Traffic.Egress = append(args.Traffic.Egress, components.EgressArgs{CIDR: "0.0.0.0/0"})
	}
	guard, err := components.NewSpendGuard(ctx, name, args, pulumi.Provider(t.provider))
	if err != nil {
		return err
	}
	ctx.Export("spendGuardNamespace", guard.Namespace)
	return nil
}

// deployAlerts creates the stack's alert policies and its dashboard (GKE,
// with `alerts`): the queues' consumer subscriptions, the GPU pools (and
// their GPUs' DCGM metrics) and the spend guard's Events are what they watch.
func deployAlerts(ctx *pulumi.Context, cfg config.Config, t *target) error {
	a := cfg.Alerts
	if a == nil || !t.gke {
		return nil
	}
	var subscriptions []string
	for _, app := range cfg.Apps {
		if app.Queue != nil {
			subscriptions = append(subscriptions, cfg.QueueResourceID(app.Queue.Name))
		}
	}
	args := &components.AlertsArgs{
		Project: cfg.Project, Cluster: cfg.Cluster.Name, Emails: a.Emails, Subscriptions: subscriptions,
		OldestJobSeconds: a.OldestJobMinutes * 60, GPUPoolPrefix: config.GPUPoolName,
		SpendGuard: cfg.Budget != nil && len(cfg.GuardedScalers()) > 0,
	}
	if cfg.GPUPool.Enabled {
		args.GPUNodeSeconds = a.GPUNodeHours * 3600
	}
	if _, err := components.NewAlerts(ctx, "alerts", args); err != nil {
		return err
	}
	dash := &components.DashboardArgs{
		Project: cfg.Project, Cluster: cfg.Cluster.Name, Subscriptions: subscriptions,
		GPUPoolPrefix: config.GPUPoolName, GPUMetrics: cfg.Cluster.GPUMetrics,
	}
	if b := cfg.Budget; b != nil {
		dash.Budget = fmt.Sprintf("%g %s", b.Amount, b.Currency)
	}
	_, err := components.NewDashboard(ctx, "dashboard", dash)
	return err
}
