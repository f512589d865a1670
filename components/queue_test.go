package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/keda"
)

func TestQueue(t *testing.T) {
	var topic, subscription string
	g := run(t, func(ctx *pulumi.Context) error {
		q, err := NewQueue(ctx, "jobs", &QueueArgs{
			Project: "p", TopicID: "c-jobs", SubscriptionID: "c-jobs", AckDeadlineSeconds: 600,
			Consumers:  []pulumi.StringInput{pulumi.String("serviceAccount:w@p")},
			Publishers: []pulumi.StringInput{pulumi.String("serviceAccount:a@p"), pulumi.String("serviceAccount:b@p")},
		})
		if err != nil {
			return err
		}
		q.Topic.ApplyT(func(s string) string { topic = s; return s })
		q.Subscription.ApplyT(func(s string) string { subscription = s; return s })
		return nil
	})
	requireParented(t, g, "gke-gpu-platform:index:Queue")
	sub := g.One(t, "gcp:pubsub/subscription:Subscription")
	assert.Equal(t, "c-jobs", sub.Plain("name"))
	assert.Equal(t, 600.0, sub.Plain("ackDeadlineSeconds"))
	assert.Equal(t, map[string]any{"ttl": ""}, sub.Plain("expirationPolicy"), "an idle queue's subscription must not expire")
	assert.Equal(t, "604800s", sub.Plain("messageRetentionDuration"))
	consumer := g.One(t, "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember")
	assert.Equal(t, "roles/pubsub.subscriber", consumer.Plain("role"))
	assert.Equal(t, "serviceAccount:w@p", consumer.Plain("member"))
	var publishers []any
	for _, p := range g.OfType("gcp:pubsub/topicIAMMember:TopicIAMMember") {
		assert.Equal(t, "roles/pubsub.publisher", p.Plain("role"))
		publishers = append(publishers, p.Plain("member"))
	}
	assert.ElementsMatch(t, []any{"serviceAccount:a@p", "serviceAccount:b@p"}, publishers)
	assert.Empty(t, g.OfType("gcp:projects/iAMMember:IAMMember"), "no project-wide Pub/Sub roles")
	assert.Equal(t, "projects/p/topics/c-jobs", topic)
	assert.Equal(t, "projects/p/subscriptions/c-jobs", subscription)
}

func TestWorkloadIdentity(t *testing.T) {
	g := run(t, func(ctx *pulumi.Context) error {
		_, err := NewWorkloadIdentity(ctx, "worker", &WorkloadIdentityArgs{
			Project: "acme", WorkloadPool: pulumi.String("acme.svc.id.goog"), AccountID: "worker-abc123", Namespace: "dev", ServiceAccount: "worker",
			ProjectRoles: []string{"roles/monitoring.viewer"},
		})
		return err
	})
	requireParented(t, g, "gke-gpu-platform:index:WorkloadIdentity")
	assert.Equal(t, "worker-abc123", g.One(t, "gcp:serviceaccount/account:Account").Plain("accountId"))
	binding := g.One(t, "gcp:serviceaccount/iAMMember:IAMMember")
	assert.Equal(t, "roles/iam.workloadIdentityUser", binding.Plain("role"))
	assert.Equal(t, "serviceAccount:acme.svc.id.goog[dev/worker]", binding.Plain("member"))
	role := g.One(t, "gcp:projects/iAMMember:IAMMember")
	assert.Equal(t, "roles/monitoring.viewer", role.Plain("role"))
	assert.Equal(t, "serviceAccount:worker-abc123@acme.iam.gserviceaccount.com", role.Plain("member"))
}

func TestKEDA(t *testing.T) {
	g := run(t, func(ctx *pulumi.Context) error {
		_, err := NewKEDA(ctx, "keda", &KEDAArgs{
			Namespace: "keda", NodeSelector: map[string]string{PoolLabel: "cpu"},
			GCPServiceAccount: pulumi.String("keda@p.iam.gserviceaccount.com"),
		})
		return err
	})
	requireParented(t, g, "gke-gpu-platform:index:KEDA")
	r := g.One(t, "kubernetes:helm.sh/v3:Release")
	assert.Equal(t, "keda", r.Plain("chart"))
	assert.Equal(t, KEDAChartVersion, r.Plain("version"), "pinned, never the latest chart")
	assert.Equal(t, KEDAChartRepo, r.Plain("repositoryOpts.repo"))
	assert.Equal(t, "keda", r.Plain("namespace"))
	assert.Equal(t, true, r.Plain("atomic"))
	assert.Equal(t, map[string]any{PoolLabel: "cpu"}, r.Plain("values.nodeSelector"))
	assert.Equal(t, "keda@p.iam.gserviceaccount.com", r.Plain("values.podIdentity.gcp.gcpIAMServiceAccount"))
	for pod := range keda.Resources {
		assert.NotNil(t, r.Plain("values.resources."+pod+".requests.cpu"), pod)
	}
}
