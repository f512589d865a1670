package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

// A budget is the project's, per calendar month, emails at each threshold
// of actual spend, and publishes every update to the stack's topic.
func TestBudget(t *testing.T) {
	g := runStack(t, "dev", map[string]string{
		"gke-gpu-platform:budget": `{"amount": 250.5, "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`,
	})
	topic := named(t, g, "gcp:pubsub/topic:Topic", "budget")
	assert.Equal(t, "platform-dev-budget", topic.Plain("name"))
	b := named(t, g, "gcp:billing/budget:Budget", "budget")
	assert.Equal(t, "01A2B3-C4D5E6-F7A8B9", b.Plain("billingAccount"))
	assert.Equal(t, "platform-dev", b.Plain("displayName"))
	assert.Equal(t, map[string]any{"projects": []any{"projects/" + graphtest.MockProjectNumber}, "calendarPeriod": "MONTH"}, b.Plain("budgetFilter"))
	assert.Equal(t, map[string]any{"specifiedAmount": map[string]any{"currencyCode": "USD", "units": "250", "nanos": 500000000.0}}, b.Plain("amount"))
	assert.Equal(t, []any{
		map[string]any{"thresholdPercent": 0.5, "spendBasis": "CURRENT_SPEND"},
		map[string]any{"thresholdPercent": 0.9, "spendBasis": "CURRENT_SPEND"},
		map[string]any{"thresholdPercent": 1.0, "spendBasis": "CURRENT_SPEND"},
	}, b.Plain("thresholdRules"))
	assert.Equal(t, "1.0", b.Plain("allUpdatesRule.schemaVersion"))
	assert.Equal(t, "budget-id", b.Plain("allUpdatesRule.pubsubTopic"), "every update goes to the stack's topic (the mocks give it this ID)")
	assert.Equal(t, "budget-id", g.Exports["budgetTopic"])
}

// Pulumi.yaml's default for the key, {}, is no budget.
func TestNoBudgetByDefault(t *testing.T) {
	g := runStack(t, "dev", map[string]string{"gke-gpu-platform:budget": `{}`})
	assert.Empty(t, g.OfType("gcp:billing/budget:Budget"))
	assert.NotContains(t, g.Exports, "budgetTopic")
}

// With a budget, the spend guard runs in a namespace of its own, reads its
// own subscription of the budget's topic as a Google identity of its own,
// and may get and patch the GPU worker's ScaledObject and nothing else.
func TestSpendGuardOnGKE(t *testing.T) {
	g := runStack(t, "dev", map[string]string{
		"gke-gpu-platform:budget": `{"amount": 250, "capPercent": 90, "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`,
	})
	ns := named(t, g, namespaceType, "spend-guard")
	assert.Equal(t, "restricted", ns.Plain("metadata.labels").(map[string]any)["pod-security.kubernetes.io/enforce"])

	role := named(t, g, "kubernetes:rbac.authorization.k8s.io/v1:Role", "spend-guard")
	assert.Equal(t, "dev", role.Plain("metadata.namespace"), "the Role is in the apps' namespace")
	assert.Equal(t, []any{
		map[string]any{"apiGroups": []any{""}, "resources": []any{"events"}, "verbs": []any{"create"}},
		map[string]any{"apiGroups": []any{"keda.sh"}, "resources": []any{"scaledobjects"}, "resourceNames": []any{"gpu-worker"}, "verbs": []any{"get", "patch"}},
	}, role.Plain("rules"))
	binding := named(t, g, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "spend-guard")
	assert.Equal(t, []any{map[string]any{"kind": "ServiceAccount", "name": "spend-guard", "namespace": "spend-guard"}}, binding.Plain("subjects"))

	d := named(t, g, deploymentType, "spend-guard")
	assert.Equal(t, "spend-guard", d.Plain("metadata.namespace"))
	pod := podSpec(t, d.Plain("spec").(map[string]any))
	assert.Equal(t, true, pod["automountServiceAccountToken"], "it calls the Kubernetes API")
	assert.Nil(t, pod["tolerations"], "on the CPU pool")
	assert.Equal(t, map[string]string{
		"SPEND_GUARD_SCALERS": "ScaledObject/gpu-worker", "SPEND_GUARD_CAP": "0.9", "SPEND_GUARD_NAMESPACE": "dev",
		"BUDGET_SUBSCRIPTION": "projects/acme-platform-dev/subscriptions/platform-dev-budget-guard",
	}, containerEnv(pod))

	sub := named(t, g, "gcp:pubsub/subscription:Subscription", "spend-guard")
	assert.Equal(t, "platform-dev-budget-guard", sub.Plain("name"))
	assert.Equal(t, "budget-id", sub.Plain("topic"), "a subscription of the budget's topic")
	grant := named(t, g, "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember", "spend-guard")
	assert.Equal(t, "roles/pubsub.subscriber", grant.Plain("role"))
	assert.Equal(t, "serviceAccount:platform-dev-guard@acme-platform-dev.iam.gserviceaccount.com", grant.Plain("member"))

	var policies []string
	for _, p := range g.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		if p.Plain("metadata.namespace") == "spend-guard" {
			policies = append(policies, p.Plain("metadata.name").(string))
		}
	}
	assert.ElementsMatch(t, []string{"default-deny", "allow-dns", "allow-spend-guard"}, policies)
	allow := named(t, g, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-spend-guard")
	assert.Contains(t, allow.Plain("spec.egress"), map[string]any{
		"to":    []any{map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0"}}},
		"ports": []any{map[string]any{"protocol": "TCP", "port": 443.0}},
	}, "the API server on 443, wherever its endpoint is")
}

// Locally the guard reads the budget stream of the local queue; without
// its image (simulated nodes) it gets its namespace and RBAC only.
func TestSpendGuardLocally(t *testing.T) {
	budget := map[string]string{"gke-gpu-platform:budget": `{"amount": 300}`}
	g := runStack(t, "local", budget)
	named(t, g, "kubernetes:rbac.authorization.k8s.io/v1:Role", "spend-guard")
	_, deployed := g.Named(deploymentType, "spend-guard")
	assert.False(t, deployed, "no image, no Deployment")

	budget["gke-gpu-platform:local"] = `{"redisAddress": "10.89.0.2:6379", "images": {"spend-guard": "gke-gpu-platform.local/spend-guard@sha256:00"}}`
	g = runStack(t, "local", budget)
	d := named(t, g, deploymentType, "spend-guard")
	env := containerEnv(podSpec(t, d.Plain("spec").(map[string]any)))
	assert.Equal(t, "10.89.0.2:6379", env["REDIS_ADDR"])
	assert.Equal(t, "budget", env["BUDGET_STREAM"])
}

// Alerts: every policy emails every address; the queue policies watch the
// consumer subscriptions only (not the dead letters' own), the GPU one the
// cluster's GPU pools, the spend guard's its Events.
func TestAlerts(t *testing.T) {
	g := runStack(t, "dev", map[string]string{
		"gke-gpu-platform:alerts": `{"emails": ["founder@acme.example", "oncall@acme.example"], "oldestJobMinutes": 20}`,
		"gke-gpu-platform:budget": `{"amount": 250, "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`,
	})
	channels := g.OfType("gcp:monitoring/notificationChannel:NotificationChannel")
	if assert.Len(t, channels, 2) {
		assert.Equal(t, "email", channels[0].Plain("type"))
	}
	policies := map[string]graphtest.Resource{}
	for _, p := range g.OfType("gcp:monitoring/alertPolicy:AlertPolicy") {
		policies[p.Name] = p
		assert.Len(t, p.Plain("notificationChannels"), 2, p.Name)
	}
	assert.ElementsMatch(t, []string{"alerts-dead-letters", "alerts-oldest-job", "alerts-gpu-node-up", "alerts-spend-guard"}, keys(policies))
	named(t, g, "gcp:monitoring/dashboard:Dashboard", "dashboard")
	oldest := policies["alerts-oldest-job"].Plain("conditions").([]any)[0].(map[string]any)["conditionThreshold"].(map[string]any)
	assert.Equal(t, 1200.0, oldest["thresholdValue"])
	assert.Contains(t, oldest["filter"], `resource.labels.subscription_id = one_of("platform-dev-gpu-jobs")`)
	assert.Contains(t, oldest["filter"], `metric.type = "pubsub.googleapis.com/subscription/oldest_unacked_message_age"`)
	gpu := policies["alerts-gpu-node-up"].Plain("conditions").([]any)[0].(map[string]any)["conditionThreshold"].(map[string]any)
	assert.Equal(t, 6*3600.0, gpu["thresholdValue"])
	assert.Contains(t, gpu["filter"], `metadata.user_labels."goog-k8s-cluster-name" = "platform-dev"`)
	guard := policies["alerts-spend-guard"]
	assert.Contains(t, guard.Plain("conditions").([]any)[0].(map[string]any)["conditionMatchedLog"].(map[string]any)["filter"], `jsonPayload.reason = "SpendGuardPaused"`)
	assert.Equal(t, "3600s", guard.Plain("alertStrategy.notificationRateLimit.period"))
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
