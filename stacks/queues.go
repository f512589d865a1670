package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/organizations"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/components"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// Environment the platform gives queue-driven apps and the apps that feed them.
const (
	// EnvQueueBackend is "redis" (local) or "pubsub" (GKE).
	EnvQueueBackend = "QUEUE_BACKEND"
	// EnvQueueSource is what a worker consumes: a Redis list, or a Pub/Sub subscription's full name.
	EnvQueueSource = "QUEUE_SOURCE"
	// EnvQueueTopic is where a producer with one queue enqueues: a Redis list or a Pub/Sub topic's full name.
	EnvQueueTopic = "QUEUE_TOPIC"
	// EnvRedisAddress is the local queue's host:port.
	EnvRedisAddress = "REDIS_ADDRESS"
	// EnvQueueMode tells a consumer how it was started: "worker" (a
	// Deployment KEDA scales: consume until SIGTERM) or "job" (one Job per
	// message: take one, acknowledge it, exit 0; non-zero on failure).
	EnvQueueMode = "QUEUE_MODE"
	// EnvQueueMaxJobSeconds is how long the worker may keep one message leased.
	EnvQueueMaxJobSeconds = "QUEUE_MAX_JOB_SECONDS"
	// EnvQueueGraceSeconds is the pod's termination grace: after SIGTERM the
	// worker finishes the job in hand within it, or hands the message back.
	EnvQueueGraceSeconds = "QUEUE_GRACE_SECONDS"
	// EnvQueueMaxDeliveryAttempts is queue.maxDeliveryAttempts: locally the
	// worker moves a job that failed that often to EnvQueueDeadLetter (Pub/Sub
	// forwards by itself on GKE); on both, the worker records such a job
	// dead-lettered.
	EnvQueueMaxDeliveryAttempts = "QUEUE_MAX_DELIVERY_ATTEMPTS"
	EnvQueueDeadLetter          = "QUEUE_DEAD_LETTER"
	// EnvQueueLeaseSeconds and EnvQueueLeaseRenewSeconds are queue.leaseSeconds
	// and queue.leaseRenewSeconds: how soon a dead worker's job is delivered
	// again, and how often a live worker renews its lease.
	EnvQueueLeaseSeconds      = "QUEUE_LEASE_SECONDS"
	EnvQueueLeaseRenewSeconds = "QUEUE_LEASE_RENEW_SECONDS"
	// EnvJobsBucket is the Cloud Storage bucket of a queue's job records
	// (JOBS_BUCKET_<NAME> per published queue too, like QUEUE_TOPIC).
	EnvJobsBucket = "JOBS_BUCKET"
	// EnvStorageEmulatorHost points the official Cloud Storage clients at
	// the local platform's GCS-compatible server (local.storageAddress).
	EnvStorageEmulatorHost = "STORAGE_EMULATOR_HOST"
	// EnvQueueGroup is the Redis Streams consumer group a local queue's
	// workers read in (producers create it too, so KEDA can count).
	EnvQueueGroup = "QUEUE_GROUP"
	// RedisGroup is that group's name.
	RedisGroup = "workers"
	// kedaNamespace is where KEDA runs on GKE.
	kedaNamespace = "keda"
)

// queueing is what the target platform offers queue-driven apps: the KEDA
// trigger, each app's environment and Google identity, and what a
// ScaledObject must wait for. Only the trigger differs between platforms.
type queueing struct {
	// trigger reads the backlog of one app's queue.
	trigger func(a config.AppConfig) components.TriggerArgs
	// env is the queue environment of every app that consumes or publishes.
	env map[string]map[string]string
	// identity is the Google service account of each app that has one.
	identity map[string]pulumi.StringInput
	// keda must exist before any ScaledObject (it installs the CRDs).
	keda []pulumi.Resource
}

// queueEnv adds the queue environment: the source a consumer reads, and the
// target(s) a producer writes (QUEUE_TOPIC_<NAME> each, QUEUE_TOPIC when
// only one), and where each queue's job records are (JOBS_BUCKET, the same
// way), unless the platform keeps none (locally without a storage server).
func queueEnv(c config.Config, backend string, name func(queue string, consumer bool) string) map[string]map[string]string {
	env := map[string]map[string]string{}
	records := backend != "redis" || c.Local.StorageAddress != ""
	add := func(app, k, v string) {
		if env[app] == nil {
			env[app] = map[string]string{EnvQueueBackend: backend}
			if backend == "redis" {
				env[app][EnvRedisAddress] = c.Local.RedisAddress
				env[app][EnvQueueGroup] = RedisGroup
				if records {
					env[app][EnvStorageEmulatorHost] = c.Local.StorageAddress
				}
			}
		}
		env[app][k] = v
	}
	suffix := func(q string) string { return "_" + strings.ToUpper(strings.ReplaceAll(q, "-", "_")) }
	for _, a := range c.Apps {
		if a.Queue != nil {
			add(a.Name, EnvQueueSource, name(a.Queue.Name, true))
			add(a.Name, EnvQueueMode, a.Queue.Mode)
			add(a.Name, EnvQueueMaxJobSeconds, strconv.Itoa(a.Queue.MaxJobSeconds))
			add(a.Name, EnvQueueGraceSeconds, strconv.Itoa(c.TerminationGrace(a)))
			add(a.Name, EnvQueueLeaseSeconds, strconv.Itoa(a.Queue.LeaseSeconds))
			add(a.Name, EnvQueueLeaseRenewSeconds, strconv.Itoa(a.Queue.LeaseRenewSeconds))
			add(a.Name, EnvQueueMaxDeliveryAttempts, strconv.Itoa(a.Queue.MaxDeliveryAttempts))
			if backend == "redis" {
				add(a.Name, EnvQueueDeadLetter, DeadLetterList(a.Queue.Name))
			}
			if records {
				add(a.Name, EnvJobsBucket, c.ResultsBucket(a.Queue.Name))
			}
		}
		for _, q := range a.Publishes {
			add(a.Name, EnvQueueTopic+suffix(q), name(q, false))
			if records {
				add(a.Name, EnvJobsBucket+suffix(q), c.ResultsBucket(q))
			}
			if len(a.Publishes) == 1 {
				add(a.Name, EnvQueueTopic, name(q, false))
				if records {
					add(a.Name, EnvJobsBucket, c.ResultsBucket(q))
				}
			}
		}
	}
	return env
}

// DeadLetterList is the Redis stream a local queue's dead letters go to
// (fields job, id, deliveries, error).
func DeadLetterList(queue string) string { return queue + ":dead" }

// newLocalQueueing uses the Redis the local harness runs: each queue is a
// Redis stream read by the consumer group RedisGroup, and KEDA's
// redis-streams scaler reads its length. A worker deletes a job from the
// stream when it acknowledges it (XACK, XDEL) or dead-letters it, so the
// length is every job not yet done: waiting, being worked on, or whose
// worker died until its lease runs out; what Pub/Sub's undelivered
// messages count on GKE. (The group's lag would count only those waiting,
// but it is "NULL when that number can't be determined"
// (https://redis.io/docs/latest/commands/xinfo-groups/): seen here on
// Debian's Redis 7.0 once an acknowledged entry was deleted behind a
// pending one, and after a restart from the append-only file; KEDA then
// reads -1.)
func newLocalQueueing(cfg config.Config) *queueing {
	return &queueing{
		trigger: func(a config.AppConfig) components.TriggerArgs {
			return components.TriggerArgs{Type: "redis-streams", Metadata: map[string]pulumi.StringInput{
				"address":            pulumi.String(cfg.Local.RedisAddress),
				"stream":             pulumi.String(a.Queue.Name),
				"streamLength":       pulumi.String(strconv.Itoa(a.Queue.TargetBacklog)),
				"activationLagCount": pulumi.String("0"),
			}}
		},
		env:      queueEnv(cfg, "redis", func(q string, _ bool) string { return q }),
		identity: map[string]pulumi.StringInput{},
	}
}

// newGKEQueueing binds every app's own Google service account
// (gcpServiceAccount) through Workload Identity and, for a GKE stack with
// queue-driven apps, creates: KEDA from
// its chart (on the CPU pool, acting as its own Google identity), one
// Pub/Sub topic and subscription per queue, and a Workload Identity per app
// that consumes or publishes, granted exactly its subscription or topic.
func newGKEQueueing(ctx *pulumi.Context, cfg config.Config, t *target) (*queueing, error) {
	q := &queueing{identity: map[string]pulumi.StringInput{}}
	for _, a := range cfg.Apps {
		if a.GCPServiceAccount == "" {
			continue
		}
		// A Google service account the stack brings: the annotation alone
		// gets the pod 403; this binding lets its Kubernetes account act as it.
		if _, err := serviceaccount.NewIAMMember(ctx, a.Name+"-workload-identity", &serviceaccount.IAMMemberArgs{
			ServiceAccountId: pulumi.Sprintf("projects/%s/serviceAccounts/%s", cfg.Project, a.GCPServiceAccount),
			Role:             pulumi.String("roles/iam.workloadIdentityUser"),
			Member:           components.WorkloadIdentityMember(t.workloadPool, cfg.Namespace, a.Name),
		}); err != nil {
			return nil, err
		}
		q.identity[a.Name] = pulumi.String(a.GCPServiceAccount)
	}
	if !cfg.UsesQueues() {
		return q, nil
	}
	labels := map[string]string{"platform": "gke-gpu-platform", "stack": config.LabelValue(cfg.Stack)}
	topicID := cfg.QueueResourceID
	q.env = queueEnv(cfg, "pubsub", func(queue string, consumer bool) string {
		if consumer {
			return fmt.Sprintf("projects/%s/subscriptions/%s", cfg.Project, topicID(queue))
		}
		return fmt.Sprintf("projects/%s/topics/%s", cfg.Project, topicID(queue))
	})

	// KEDA's operator reads Pub/Sub backlogs from Cloud Monitoring.
	kedaID, err := components.NewWorkloadIdentity(ctx, "keda", &components.WorkloadIdentityArgs{
		Project:        cfg.Project,
		WorkloadPool:   t.workloadPool,
		AccountID:      cfg.Cluster.Name + "-keda",
		DisplayName:    fmt.Sprintf("KEDA of %s (reads queue backlogs)", cfg.Cluster.Name),
		Namespace:      kedaNamespace,
		ServiceAccount: components.KEDAOperatorServiceAccount,
		ProjectRoles:   []string{"roles/monitoring.viewer"},
	})
	if err != nil {
		return nil, err
	}
	keda, err := components.NewKEDA(ctx, "keda", &components.KEDAArgs{
		Namespace:         kedaNamespace,
		NodeSelector:      map[string]string{components.PoolLabel: "cpu"},
		GCPServiceAccount: kedaID.Email,
	}, pulumi.Providers(t.provider), pulumi.DependsOn(t.pools))
	if err != nil {
		return nil, err
	}
	q.keda = []pulumi.Resource{keda.Resource()}

	members := map[string]pulumi.StringInput{}
	for _, a := range cfg.Apps {
		if !a.UsesQueue() {
			continue
		}
		if a.GCPServiceAccount != "" {
			members[a.Name] = pulumi.String("serviceAccount:" + a.GCPServiceAccount)
			continue
		}
		id, err := components.NewWorkloadIdentity(ctx, a.Name, &components.WorkloadIdentityArgs{
			Project:        cfg.Project,
			WorkloadPool:   t.workloadPool,
			AccountID:      appAccountID(cfg.Cluster.Name, a.Name),
			DisplayName:    fmt.Sprintf("%s on %s", a.Name, cfg.Cluster.Name),
			Namespace:      cfg.Namespace,
			ServiceAccount: a.Name,
		})
		if err != nil {
			return nil, err
		}
		q.identity[a.Name] = id.Email
		members[a.Name] = id.Member
	}
	subscriptions, err := newGKEQueues(ctx, cfg, members, labels, topicID)
	if err != nil {
		return nil, err
	}
	q.trigger = func(a config.AppConfig) components.TriggerArgs {
		return pubsubBacklogTrigger(cfg.Project, subscriptions[a.Name], a.Queue.TargetBacklog)
	}
	return q, nil
}

// newGKEQueues creates, for each app's queue, its Pub/Sub topic and
// subscription with their dead letters, and its results bucket, each
// granted to exactly the queue's consumer and publishers (members, by app).
// It returns each consumer's subscription by app name.
func newGKEQueues(ctx *pulumi.Context, cfg config.Config, members map[string]pulumi.StringInput, labels map[string]string,
	topicID func(string) string) (map[string]pulumi.StringOutput, error) {
	// Pub/Sub's service agent forwards dead letters; its address holds the
	// project's number, which only Google knows.
	project := organizations.LookupProjectOutput(ctx, organizations.LookupProjectOutputArgs{ProjectId: pulumi.String(cfg.Project)})
	serviceAgent := pulumi.Sprintf("serviceAccount:service-%s@gcp-sa-pubsub.iam.gserviceaccount.com", project.Number())
	subscriptions := map[string]pulumi.StringOutput{}
	for _, a := range cfg.Apps {
		if a.Queue == nil {
			continue
		}
		args := &components.QueueArgs{
			Project: cfg.Project, TopicID: topicID(a.Queue.Name), SubscriptionID: topicID(a.Queue.Name),
			AckDeadlineSeconds: a.Queue.LeaseSeconds, Labels: labels,
			Consumers: []pulumi.StringInput{members[a.Name]},
			DeadLetter: &components.DeadLetterArgs{
				TopicID: topicID(a.Queue.Name) + "-dead", SubscriptionID: topicID(a.Queue.Name) + "-dead",
				MaxDeliveryAttempts: a.Queue.MaxDeliveryAttempts, ServiceAgent: serviceAgent,
			},
		}
		for _, p := range cfg.Apps {
			if slices.Contains(p.Publishes, a.Queue.Name) {
				args.Publishers = append(args.Publishers, members[p.Name])
			}
		}
		queue, err := components.NewQueue(ctx, a.Queue.Name, args)
		if err != nil {
			return nil, err
		}
		subscriptions[a.Name] = queue.Subscription
		// The same apps, the same least privilege, on the job records.
		if _, err := components.NewJobRecords(ctx, a.Queue.Name+"-jobs", &components.JobRecordsArgs{
			Project: cfg.Project, Name: cfg.ResultsBucket(a.Queue.Name), Location: cfg.Region(),
			KeepDays: a.Queue.Results.KeepDays, Labels: labels,
			Producers: args.Publishers, Consumers: args.Consumers,
		}); err != nil {
			return nil, err
		}
	}
	return subscriptions, nil
}

// ManagedPrometheusURL is Cloud Monitoring's Prometheus-compatible query API
// for a project, which KEDA's prometheus scaler reads with the operator's
// Workload Identity (https://keda.sh/docs/2.21/scalers/prometheus/, "Google
// Managed for Prometheus"; https://cloud.google.com/stackdriver/docs/managed-prometheus/query-api-ui).
const ManagedPrometheusURL = "https://monitoring.googleapis.com/v1/projects/%s/location/global/prometheus"

// pubsubBacklogTrigger reads a subscription's backlog (undelivered messages,
// which include those a worker holds unacknowledged) from Cloud Monitoring
// through PromQL: KEDA's documented replacement for its gcp-pubsub scaler,
// deprecated with Cloud Monitoring's query language
// (https://keda.sh/blog/2025-09-15-gcp-deprecations). Metric names follow
// https://cloud.google.com/monitoring/promql/promql-mapping. subscription is
// the subscription's full name as an output, so the ScaledObject waits for it.
func pubsubBacklogTrigger(project string, subscription pulumi.StringOutput, targetBacklog int) components.TriggerArgs {
	id := subscription.ApplyT(path.Base).(pulumi.StringOutput)
	return components.TriggerArgs{Type: "prometheus", PodIdentity: "gcp", Metadata: map[string]pulumi.StringInput{
		"serverAddress": pulumi.Sprintf(ManagedPrometheusURL, project),
		"query": pulumi.Sprintf(`sum(pubsub_googleapis_com:subscription_num_undelivered_messages{monitored_resource="pubsub_subscription",project_id=%q,subscription_id="%s"})`,
			project, id),
		"threshold":           pulumi.String(strconv.Itoa(targetBacklog)),
		"activationThreshold": pulumi.String("0"),
		// An idle subscription can have no points at all: an empty result
		// is then a backlog of 0, not an error (an errored ScaledObject
		// never scales to zero, kedacore/keda#5896).
		"ignoreNullValues": pulumi.String("true"),
	}}
}

// appAccountID derives an app's Google service account ID: unique per
// cluster (so two stacks in one project never collide) and within GCP's
// 6-30 characters.
func appAccountID(cluster, app string) string {
	sum := sha256.Sum256([]byte(cluster + "/" + app))
	base := strings.TrimRight(app[:min(len(app), 23)], "-")
	return base + "-" + hex.EncodeToString(sum[:])[:6]
}

// mergeEnv merges environments, later ones winning.
func mergeEnv(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		maps.Copy(out, e)
	}
	return out
}
