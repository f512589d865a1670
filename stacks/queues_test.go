package stacks

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/kedaschema"
)

const (
	scaledJobType   = "kubernetes:keda.sh/v1alpha1:ScaledJob"
	triggerAuthType = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
	releaseType     = "kubernetes:helm.sh/v3:Release"
	wiBindingType   = "gcp:serviceaccount/iAMMember:IAMMember"
)

// envOf returns a Deployment's container environment as a map.
func envOf(t *testing.T, d graphtest.Resource) map[string]string {
	t.Helper()
	return containerEnv(podSpec(t, d.Plain("spec").(map[string]any)))
}

// containerEnv returns a pod's first container's clear environment as a map.
func containerEnv(pod map[string]any) map[string]string {
	env := map[string]string{}
	for _, e := range pod["containers"].([]any)[0].(map[string]any)["env"].([]any) {
		e := e.(map[string]any)
		if v, ok := e["value"].(string); ok { // secretKeyRefs have no value here
			env[e["name"].(string)] = v
		}
	}
	return env
}

// On GKE the same App gets a prometheus trigger on Cloud Monitoring's PromQL
// API (KEDA's replacement for its deprecated gcp-pubsub scaler), read as
// KEDA's own workload identity, a real Pub/Sub queue, and identities bound
// exactly. Scale-in goes only to zero: no busy worker is picked by the HPA.
func TestQueueDrivenWorkerOnGKE(t *testing.T) {
	g := runStack(t, "dev", nil)
	const sub = "projects/acme-platform-dev/subscriptions/platform-dev-gpu-jobs"

	so := named(t, g, scaledObjectType, "gpu-worker")
	assert.Equal(t, map[string]any{
		"scaleTargetRef":  map[string]any{"name": "gpu-worker"},
		"minReplicaCount": 0.0, "maxReplicaCount": 2.0, "pollingInterval": 15.0, "cooldownPeriod": 300.0,
		"triggers": []any{map[string]any{
			"type": "prometheus",
			"metadata": map[string]any{
				"serverAddress": "https://monitoring.googleapis.com/v1/projects/acme-platform-dev/location/global/prometheus",
				"query": `sum(pubsub_googleapis_com:subscription_num_undelivered_messages{monitored_resource="pubsub_subscription",` +
					`project_id="acme-platform-dev",subscription_id="platform-dev-gpu-jobs"})`,
				"threshold": "1", "activationThreshold": "0",
				// An idle subscription with no metric points still reads as 0 (kedacore/keda#5896).
				"ignoreNullValues": "true",
			},
			"authenticationRef": map[string]any{"name": "gpu-worker"},
		}},
		"advanced": map[string]any{"horizontalPodAutoscalerConfig": map[string]any{"behavior": map[string]any{
			"scaleDown": map[string]any{"selectPolicy": "Disabled"}}}},
	}, so.Plain("spec"))
	assert.Equal(t, map[string]any{"podIdentity": map[string]any{"provider": "gcp"}}, named(t, g, triggerAuthType, "gpu-worker").Plain("spec"))
	// The ScaledObject waits for KEDA (its CRDs come with the chart).
	assert.Contains(t, strings.Join(so.Dependencies, " "), releaseType+"::keda")

	// The Deployment starts at zero and leaves the count to KEDA afterwards.
	worker := named(t, g, deploymentType, "gpu-worker")
	assert.Equal(t, 0.0, worker.Plain("spec.replicas"))
	assert.Equal(t, []string{"spec.replicas"}, worker.IgnoreChanges)
	assert.Equal(t, "true", worker.Plain("metadata.annotations").(map[string]any)["pulumi.com/skipAwait"], "GPU pods wait minutes for a node from zero")
	assert.Equal(t, map[string]string{"QUEUE_BACKEND": "pubsub", "QUEUE_SOURCE": sub, "QUEUE_MODE": "worker",
		"QUEUE_MAX_JOB_SECONDS": "3600", "QUEUE_GRACE_SECONDS": "15", "QUEUE_LEASE_SECONDS": "60", "QUEUE_LEASE_RENEW_SECONDS": "20",
		"QUEUE_MAX_DELIVERY_ATTEMPTS": "5", "JOBS_BUCKET": "acme-platform-dev-platform-dev-gpu-jobs"}, envOf(t, worker))
	assert.Equal(t, 15.0, podSpec(t, worker.Plain("spec").(map[string]any))["terminationGracePeriodSeconds"], "dev's GPU pool is Spot: GKE gives its pods about 15 s")
	backend := named(t, g, deploymentType, "backend")
	assert.Equal(t, map[string]string{
		"QUEUE_BACKEND": "pubsub", "QUEUE_TOPIC": "projects/acme-platform-dev/topics/platform-dev-gpu-jobs",
		"QUEUE_TOPIC_GPU_JOBS": "projects/acme-platform-dev/topics/platform-dev-gpu-jobs",
		"JOBS_BUCKET":          "acme-platform-dev-platform-dev-gpu-jobs", "JOBS_BUCKET_GPU_JOBS": "acme-platform-dev-platform-dev-gpu-jobs",
	}, envOf(t, backend))
	assert.Equal(t, "600", backend.Plain("metadata.annotations").(map[string]any)["pulumi.com/timeoutSeconds"])

	// Pub/Sub: a subscription that never expires, each grant on its own resource.
	s := named(t, g, "gcp:pubsub/subscription:Subscription", "gpu-jobs")
	assert.Equal(t, "platform-dev-gpu-jobs", s.Plain("name"))
	assert.Equal(t, 60.0, s.Plain("ackDeadlineSeconds"), "queue.leaseSeconds: a dead worker's job comes back within a minute")
	assert.Equal(t, map[string]any{"ttl": ""}, s.Plain("expirationPolicy"))
	consumer := named(t, g, "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember", "gpu-jobs-consumer-0")
	publisher := named(t, g, "gcp:pubsub/topicIAMMember:TopicIAMMember", "gpu-jobs-publisher-0")
	assert.Equal(t, "roles/pubsub.subscriber", consumer.Plain("role"))
	assert.Equal(t, "roles/pubsub.publisher", publisher.Plain("role"))
	workerSA := appAccountID("platform-dev", "gpu-worker")
	assert.Equal(t, "serviceAccount:"+workerSA+"@acme-platform-dev.iam.gserviceaccount.com", consumer.Plain("member"))
	assert.Equal(t, "serviceAccount:"+appAccountID("platform-dev", "backend")+"@acme-platform-dev.iam.gserviceaccount.com", publisher.Plain("member"))

	// Job records: a private bucket in the cluster's region that forgets
	// after queue.results.keepDays, and grants on it alone.
	bucket := named(t, g, "gcp:storage/bucket:Bucket", "gpu-jobs-jobs")
	assert.Equal(t, "acme-platform-dev-platform-dev-gpu-jobs", bucket.Plain("name"))
	assert.Equal(t, "us-central1", bucket.Plain("location"))
	assert.Equal(t, true, bucket.Plain("uniformBucketLevelAccess"))
	assert.Equal(t, "enforced", bucket.Plain("publicAccessPrevention"))
	assert.Equal(t, []any{map[string]any{"action": map[string]any{"type": "Delete"}, "condition": map[string]any{"age": 7.0}}}, bucket.Plain("lifecycleRules"))
	assert.Equal(t, map[string]any{"retentionDurationSeconds": 0.0}, bucket.Plain("softDeletePolicy"))
	assert.Equal(t, map[string]any{"platform": "gke-gpu-platform", "stack": "dev"}, bucket.Plain("labels"))
	grants := map[string]string{}
	for _, m := range g.OfType("gcp:storage/bucketIAMMember:BucketIAMMember") {
		assert.Equal(t, "acme-platform-dev-platform-dev-gpu-jobs", m.Plain("bucket"))
		grants[m.Plain("role").(string)+" "+m.Plain("member").(string)] = m.Name
	}
	backendSA := "serviceAccount:" + appAccountID("platform-dev", "backend") + "@acme-platform-dev.iam.gserviceaccount.com"
	assert.Equal(t, []string{
		"roles/storage.objectCreator " + backendSA,
		"roles/storage.objectUser serviceAccount:" + workerSA + "@acme-platform-dev.iam.gserviceaccount.com",
		"roles/storage.objectViewer " + backendSA,
	}, slices.Sorted(maps.Keys(grants)), "the producer creates and reads, the consumer reads and writes")
	for _, m := range g.OfType("gcp:projects/iAMMember:IAMMember") {
		assert.NotContains(t, m.Plain("role"), "roles/storage.", "no project-wide storage role (%s)", m.Name)
	}

	// Workload Identity: each Kubernetes service account may act as its Google
	// one, and the annotation names it.
	members := map[string]string{}
	for _, b := range g.OfType(wiBindingType) {
		assert.Equal(t, "roles/iam.workloadIdentityUser", b.Plain("role"))
		members[b.Name] = b.Plain("member").(string)
	}
	assert.Equal(t, map[string]string{
		"keda-workload-identity":       "serviceAccount:acme-platform-dev.svc.id.goog[keda/keda-operator]",
		"gpu-worker-workload-identity": "serviceAccount:acme-platform-dev.svc.id.goog[dev/gpu-worker]",
		"backend-workload-identity":    "serviceAccount:acme-platform-dev.svc.id.goog[dev/backend]",
	}, members)
	ksa := named(t, g, "kubernetes:core/v1:ServiceAccount", "gpu-worker")
	assert.Equal(t, map[string]any{"iam.gke.io/gcp-service-account": workerSA + "@acme-platform-dev.iam.gserviceaccount.com"},
		ksa.Plain("metadata.annotations"))
	var kedaRoles []any
	for _, m := range g.OfType(iamMemberType) {
		if m.Plain("member") == "serviceAccount:platform-dev-keda@acme-platform-dev.iam.gserviceaccount.com" {
			kedaRoles = append(kedaRoles, m.Plain("role"))
		}
	}
	assert.Equal(t, []any{"roles/monitoring.viewer"}, kedaRoles, "KEDA reads backlogs from Cloud Monitoring, nothing more")
	release := g.One(t, releaseType)
	assert.Equal(t, map[string]any{"gcp": map[string]any{
		"enabled": true, "gcpIAMServiceAccount": "platform-dev-keda@acme-platform-dev.iam.gserviceaccount.com",
	}}, release.Plain("values.podIdentity"))
}

// Locally the trigger reads the length of the Redis stream the harness
// runs: every job not yet acknowledged, those being worked on included, as
// Pub/Sub's backlog counts on GKE; nothing else changes.
func TestQueueDrivenWorkerLocally(t *testing.T) {
	g := runStack(t, "local", nil)
	so := named(t, g, scaledObjectType, "gpu-worker")
	assert.Equal(t, []any{map[string]any{"type": "redis-streams", "metadata": map[string]any{
		"address": "127.0.0.1:6379", "stream": "gpu-jobs", "streamLength": "1", "activationLagCount": "0",
	}}}, so.Plain("spec.triggers"))
	assert.Nil(t, so.Plain("spec.advanced.scalingModifiers"), "one metric counts both waiting and busy jobs: nothing to sum")
	assert.Equal(t, "Disabled", so.Plain("spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.selectPolicy"))
	assert.Equal(t, 15.0, so.Plain("spec.cooldownPeriod"))
	assert.Empty(t, g.OfType(triggerAuthType))
	assert.Empty(t, g.OfType(releaseType), "locally KEDA runs beside the cluster, not in the graph")
	assert.Equal(t, map[string]string{"QUEUE_BACKEND": "redis", "REDIS_ADDRESS": "127.0.0.1:6379", "QUEUE_SOURCE": "gpu-jobs", "QUEUE_MODE": "worker",
		"QUEUE_MAX_JOB_SECONDS": "3600", "QUEUE_GRACE_SECONDS": "30", "QUEUE_MAX_DELIVERY_ATTEMPTS": "5", "QUEUE_DEAD_LETTER": "gpu-jobs:dead",
		"QUEUE_GROUP": "workers", "QUEUE_LEASE_SECONDS": "15", "QUEUE_LEASE_RENEW_SECONDS": "5",
		"STORAGE_EMULATOR_HOST": "127.0.0.1:4443", "JOBS_BUCKET": "gpu-jobs-jobs"},
		envOf(t, named(t, g, deploymentType, "gpu-worker")))
	// The node a job ran on, for its record: the downward API.
	var fromAPI []any
	for _, e := range podSpec(t, named(t, g, deploymentType, "gpu-worker").Plain("spec").(map[string]any))["containers"].([]any)[0].(map[string]any)["env"].([]any) {
		if e := e.(map[string]any); e["valueFrom"] != nil && e["valueFrom"].(map[string]any)["fieldRef"] != nil {
			fromAPI = append(fromAPI, e)
		}
	}
	assert.Equal(t, []any{map[string]any{"name": "NODE_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "spec.nodeName"}}}}, fromAPI)
}

// Job mode: no Deployment; KEDA starts one Job per message from the same pod.
func TestQueueJobMode(t *testing.T) {
	g := runStack(t, "dev", map[string]string{"gke-gpu-platform:apps": `[
		{"name": "render", "image": "render:1.0", "gpu": 1, "queue": {"mode": "job", "maxReplicas": 2}}]`})
	_, ok := g.Named(deploymentType, "render")
	assert.False(t, ok, "a job-mode app has no Deployment")
	assert.Empty(t, g.OfType(scaledObjectType))
	job := named(t, g, scaledJobType, "render")
	assert.Equal(t, 2.0, job.Plain("spec.maxReplicaCount"))
	assert.Equal(t, 0.0, job.Plain("spec.minReplicaCount"))
	assert.Equal(t, 2.0, job.Plain("spec.jobTargetRef.backoffLimit"))
	// A new image must not kill the Jobs still running (kedacore/keda#1021).
	assert.Equal(t, map[string]any{"strategy": "gradual"}, job.Plain("spec.rollout"))
	pod := job.Plain("spec.jobTargetRef.template.spec").(map[string]any)
	assert.Equal(t, "Never", pod["restartPolicy"])
	// The container is told it is one Job's run: take one message, then exit.
	assert.Equal(t, "job", containerEnv(pod)["QUEUE_MODE"])
	assert.Equal(t, gpuTolerations, pod["tolerations"])
	limits := pod["containers"].([]any)[0].(map[string]any)["resources"].(map[string]any)["limits"].(map[string]any)
	assert.Equal(t, "1", limits["nvidia.com/gpu"])
	require.Equal(t, "prometheus", job.Plain("spec.triggers").([]any)[0].(map[string]any)["type"])
	// Pub/Sub's backlog counts the messages running Jobs hold: KEDA's
	// default strategy subtracts those Jobs, so none starts for a taken message.
	assert.Equal(t, map[string]any{"strategy": "default"}, job.Plain("spec.scalingStrategy"))
	// Locally the stream's length counts them too: the same strategy.
	local := named(t, runStack(t, "local", map[string]string{"gke-gpu-platform:apps": `[
		{"name": "render", "image": "render:1.0", "gpu": 1, "queue": {"mode": "job"}}]`}), scaledJobType, "render")
	assert.Equal(t, map[string]any{"strategy": "default"}, local.Plain("spec.scalingStrategy"))
	assert.Len(t, local.Plain("spec.triggers"), 1)
}

// Account IDs fit GCP's 6-30 characters and differ between clusters.
func TestAppAccountID(t *testing.T) {
	for _, app := range []string{"a", "gpu-worker", "a-very-long-application-name-that-goes-on"} {
		id := appAccountID("platform-dev", app)
		assert.Regexp(t, `^[a-z][-a-z0-9]{4,28}[a-z0-9]$`, id, app)
		assert.NotEqual(t, id, appAccountID("platform-pr", app), "two stacks in one project must not collide")
	}
}

// An app that brings its own Google service account gets the binding that
// lets its Kubernetes service account act as it, not just the annotation.
func TestExplicitGoogleServiceAccountIsBound(t *testing.T) {
	g := runStack(t, "dev", map[string]string{"gke-gpu-platform:apps": `[
		{"name": "api", "image": "api:1.0", "port": 8080, "gcpServiceAccount": "api@acme-platform-dev.iam.gserviceaccount.com"}]`})
	b := named(t, g, wiBindingType, "api-workload-identity")
	assert.Equal(t, "projects/acme-platform-dev/serviceAccounts/api@acme-platform-dev.iam.gserviceaccount.com", b.Plain("serviceAccountId"))
	assert.Equal(t, "roles/iam.workloadIdentityUser", b.Plain("role"))
	assert.Equal(t, "serviceAccount:acme-platform-dev.svc.id.goog[dev/api]", b.Plain("member"))
	ksa := named(t, g, "kubernetes:core/v1:ServiceAccount", "api")
	assert.Equal(t, "api@acme-platform-dev.iam.gserviceaccount.com", ksa.Plain("metadata.annotations").(map[string]any)["iam.gke.io/gcp-service-account"])
}

// Every queue on GKE has a dead-letter topic with its own subscription (a
// topic without one drops what it gets), the policy on the source
// subscription, and the two grants Pub/Sub's service agent needs to forward,
// with exact members.
func TestQueuesHaveDeadLetters(t *testing.T) {
	for _, tt := range []struct {
		stack, cluster, project string
		attempts                float64
	}{
		{"dev", "platform-dev", "acme-platform-dev", 5},
		{"prod", "platform-prod", "acme-platform-prod", 5},
		{"pr", "platform-pr", "acme-platform-dev", 5},
	} {
		t.Run(tt.stack, func(t *testing.T) {
			g := runStack(t, tt.stack, nil)
			id := tt.cluster + "-gpu-jobs-dead"
			agent := "serviceAccount:service-" + graphtest.MockProjectNumber + "@gcp-sa-pubsub.iam.gserviceaccount.com"

			topic := named(t, g, "gcp:pubsub/topic:Topic", "gpu-jobs-dead")
			assert.Equal(t, id, topic.Plain("name"))
			deadSub := named(t, g, "gcp:pubsub/subscription:Subscription", "gpu-jobs-dead")
			assert.Equal(t, id, deadSub.Plain("name"))
			assert.Equal(t, "gpu-jobs-dead-id", deadSub.Plain("topic"), "the dead letters' own subscription keeps them")
			assert.Equal(t, map[string]any{"ttl": ""}, deadSub.Plain("expirationPolicy"))

			source := named(t, g, "gcp:pubsub/subscription:Subscription", "gpu-jobs")
			assert.Equal(t, map[string]any{"deadLetterTopic": "gpu-jobs-dead-id", "maxDeliveryAttempts": tt.attempts}, source.Plain("deadLetterPolicy"))

			pub := named(t, g, "gcp:pubsub/topicIAMMember:TopicIAMMember", "gpu-jobs-dead-publisher")
			assert.Equal(t, map[string]any{"topic": id, "role": "roles/pubsub.publisher", "member": agent, "project": tt.project},
				map[string]any{"topic": pub.Plain("topic"), "role": pub.Plain("role"), "member": pub.Plain("member"), "project": pub.Plain("project")})
			fwd := named(t, g, "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember", "gpu-jobs-dead-forwarder")
			assert.Equal(t, map[string]any{"subscription": tt.cluster + "-gpu-jobs", "role": "roles/pubsub.subscriber", "member": agent},
				map[string]any{"subscription": fwd.Plain("subscription"), "role": fwd.Plain("role"), "member": fwd.Plain("member")})
		})
	}
}

// A warm window is a KEDA cron trigger beside the queue's, in KEDA's own
// spelling (checked against its schema), and its node-hours are priced as idle.
func TestWarmWindows(t *testing.T) {
	apps := `[{"name": "gpu-worker", "build": "apps/gpu-worker", "gpu": 1, "queue": {"name": "gpu-jobs", "maxReplicas": 2,
		"warm": [{"start": "0 8 * * 1-5", "end": "0 18 * * 1-5", "timezone": "Europe/Berlin", "replicas": 1}]}}]`
	g := runStack(t, "dev", map[string]string{"gke-gpu-platform:apps": apps})
	triggers := named(t, g, scaledObjectType, "gpu-worker").Plain("spec.triggers").([]any)
	require.Len(t, triggers, 2)
	assert.Equal(t, "prometheus", triggers[0].(map[string]any)["type"])
	assert.Equal(t, map[string]any{"type": "cron", "metadata": map[string]any{
		"start": "0 8 * * 1-5", "end": "0 18 * * 1-5", "timezone": "Europe/Berlin", "desiredReplicas": "1"}}, triggers[1])
	schema, err := kedaschema.Load()
	require.NoError(t, err)
	for _, tr := range must(kedaschema.Triggers(named(t, g, scaledObjectType, "gpu-worker").Plain("spec").(map[string]any))) {
		problems, _ := schema.Check(tr)
		assert.Empty(t, problems, tr.Type)
	}

	cold, err := LoadStackFileWith(t, "dev", nil)
	require.NoError(t, err)
	warm, err := LoadStackFileWith(t, "dev", map[string]string{"gke-gpu-platform:apps": apps})
	require.NoError(t, err)
	// 22 weekdays of 10 h and 2 h of a 23rd in the 730-hour reference month.
	assert.InDelta(t, 222.0, config.CostInput(warm).WarmGPUNodeHours, 0.01)
	before, err := config.EstimateCost(cold)
	require.NoError(t, err)
	after, err := config.EstimateCost(warm)
	require.NoError(t, err)
	assert.Greater(t, after.IdleMonthly, before.IdleMonthly, "a warm window costs money with no work at all")
	// Shared between dev's GPU options like the work: 80% on the first.
	for _, l := range after.Lines {
		if l.Item == "gpu pool nodes" {
			assert.Contains(t, l.Detail, "warm windows keep 178 node-h")
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The Workload Identity pool <project>.svc.id.goog exists only once a
// cluster with Workload Identity does; IAM refuses a binding to it before
// that ("Error 400: Identity Pool does not exist",
// https://github.com/terraform-google-modules/terraform-google-kubernetes-engine/issues/916).
// So every IAM member built on the pool depends on the cluster, on every GKE
// stack, in a new project's first `pulumi up` as in later ones.
func TestWorkloadIdentityBindingsWaitForTheCluster(t *testing.T) {
	for _, stack := range []string{"dev", "prod", "pr"} {
		t.Run(stack, func(t *testing.T) {
			g := runStack(t, stack, map[string]string{"gke-gpu-platform:apps": `[
				{"name": "api", "image": "api:1.0", "port": 8080, "gcpServiceAccount": "api@p.iam.gserviceaccount.com"},
				{"name": "backend", "image": "b:1", "port": 8080, "publishes": ["jobs"]},
				{"name": "worker", "image": "w:1", "gpu": 1, "queue": {"name": "jobs"}}]`})
			require.Len(t, g.OfType("gcp:container/cluster:Cluster"), 1)
			bindings := 0
			for _, r := range g.Resources {
				member, ok := r.Plain("member").(string)
				if !ok || !strings.Contains(member, ".svc.id.goog[") {
					continue
				}
				bindings++
				onCluster := slices.ContainsFunc(r.Dependencies, func(urn string) bool {
					return strings.HasSuffix(urn, "gcp:container/cluster:Cluster::cluster")
				})
				assert.True(t, onCluster, "%s %s (member %s) must wait for the cluster; depends on %v", r.Type, r.Name, member, r.Dependencies)
			}
			assert.Equal(t, 4, bindings, "KEDA, api, backend and worker are each bound once")
		})
	}
}
