package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/keda"
)

// queueNamePattern fits both a Pub/Sub topic/subscription ID and a Redis key.
var queueNamePattern = regexp.MustCompile(`^[a-z][-a-z0-9]{2,62}$`)

var queueModes = []string{keda.QueueModeWorker, keda.QueueModeJob}

// validateQueues checks the queue-driven apps and the apps that publish to them.
func (c Config) validateQueues(fail failFunc) {
	queues := map[string]int{}
	for i, a := range c.Apps {
		q := a.Queue
		if q == nil {
			continue
		}
		key := fmt.Sprintf("apps[%d].queue", i)
		if !queueNamePattern.MatchString(q.Name) {
			fail(key+".name", q.Name, "must be 3-63 lowercase letters, digits or '-', starting with a letter")
		} else if j, dup := queues[q.Name]; dup {
			fail(key+".name", q.Name, "is already consumed by apps[%d]; one queue feeds one app", j)
		}
		queues[q.Name] = i
		if !oneOf(q.Mode, queueModes) {
			fail(key+".mode", q.Mode, "must be one of %s", strings.Join(queueModes, ", "))
		}
		if a.Port > 0 {
			fail(fmt.Sprintf("apps[%d].port", i), a.Port, "a queue-driven app is a worker: it scales with its backlog, not with traffic; drop port or queue")
		}
		if a.Autoscaling != nil {
			fail(fmt.Sprintf("apps[%d].autoscaling", i), "{...}", "a queue-driven app is scaled by KEDA; drop autoscaling or queue")
		}
		if a.Replicas != nil {
			fail(fmt.Sprintf("apps[%d].replicas", i), *a.Replicas, "KEDA owns the replica count of a queue-driven app; set queue.minReplicas and queue.maxReplicas instead")
		}
		if a.MaxUnavailable != nil && a.GPU > 0 {
			fail(fmt.Sprintf("apps[%d].maxUnavailable", i), *a.MaxUnavailable, "a PodDisruptionBudget on GPU workers pins GPU nodes up; drop it")
		}
		if q.MinReplicas < 0 {
			fail(key+".minReplicas", q.MinReplicas, "must be >= 0 (0 lets the GPU pool go back to zero)")
		}
		if q.MaxReplicas < 1 || q.MaxReplicas < q.MinReplicas {
			fail(key+".maxReplicas", q.MaxReplicas, "must be >= 1 and >= queue.minReplicas (%d)", q.MinReplicas)
		}
		if q.TargetBacklog < 1 {
			fail(key+".targetBacklog", q.TargetBacklog, "must be >= 1 (messages per replica)")
		}
		if q.CooldownSeconds < 0 || q.CooldownSeconds > 86400 {
			fail(key+".cooldownSeconds", q.CooldownSeconds, "must be 0 to 86400 seconds")
		}
		if q.MaxDeliveryAttempts < 5 || q.MaxDeliveryAttempts > 100 {
			// Pub/Sub's own bounds for a dead-letter policy.
			fail(key+".maxDeliveryAttempts", q.MaxDeliveryAttempts, "must be 5 to 100 (Pub/Sub's bounds for a dead-letter policy)")
		}
		if q.MaxJobSeconds < 10 || q.MaxJobSeconds > 86400 {
			fail(key+".maxJobSeconds", q.MaxJobSeconds, "must be 10 to 86400 seconds (the longest one job may hold its message)")
		}
		if q.Results.KeepDays < 1 || q.Results.KeepDays > 3650 {
			fail(key+".results.keepDays", q.Results.KeepDays, "must be 1 to 3650 days (how long a job's record and result are kept)")
		}
		if q.LeaseSeconds < 10 || q.LeaseSeconds > 600 || q.LeaseSeconds > q.MaxJobSeconds {
			fail(key+".leaseSeconds", q.LeaseSeconds, "must be 10 to 600 seconds (Pub/Sub's ack deadline bounds) and at most queue.maxJobSeconds (%d)", q.MaxJobSeconds)
		}
		if q.LeaseRenewSeconds < 1 || 2*q.LeaseRenewSeconds > q.LeaseSeconds {
			fail(key+".leaseRenewSeconds", q.LeaseRenewSeconds, "must be 1 to half of queue.leaseSeconds (%d), so that one missed renewal keeps the lease", q.LeaseSeconds)
		}
		for j, w := range q.Warm {
			wkey := fmt.Sprintf("%s.warm[%d]", key, j)
			if err := w.window().Check(); err != nil {
				fail(wkey, fmt.Sprintf("{start: %q, end: %q, timezone: %q}", w.Start, w.End, w.Timezone),
					"%v (start and end are 5-field cron expressions, e.g. \"0 8 * * 1-5\" and \"0 18 * * 1-5\")", err)
			}
			if w.Replicas < 1 || w.Replicas > q.MaxReplicas {
				fail(wkey+".replicas", w.Replicas, "must be 1 to queue.maxReplicas (%d)", q.MaxReplicas)
			}
			if q.Mode != keda.QueueModeWorker {
				fail(wkey, w.Start, "warm windows keep workers up; queue.mode %s starts one Job per message instead", q.Mode)
			}
		}
		if q.PollingSeconds < 1 || q.PollingSeconds > 3600 {
			fail(key+".pollingSeconds", q.PollingSeconds, "must be 1 to 3600 seconds")
		}
		if a.GPU > 0 && c.GPUPool.Enabled {
			// Replicas beyond what the options can ever hold stay Pending
			// forever: a ceiling the autoscaler cannot reach is a config mistake.
			capacity, how := c.GPUPool.Capacity(), "the sum over the GPU options of maxNodes x acceleratorCount"
			if c.Platform == PlatformLocal {
				capacity, how = c.GPUPool.MaxNodes, "gpuPool.maxNodes, one GPU each locally"
			}
			if q.MaxReplicas*a.GPU > capacity {
				fail(key+".maxReplicas", q.MaxReplicas, "needs %d GPUs (%d per pod), more than the GPU pool can hold (%s: %d)",
					q.MaxReplicas*a.GPU, a.GPU, how, capacity)
			}
		}
		if c.Platform == PlatformLocal && c.Local.RedisAddress == "" {
			fail("local.redisAddress", `""`, "must be set when apps[%d] has a queue: the local queue is a Redis (make local starts one and sets it)", i)
		}
	}
	for i, a := range c.Apps {
		for j, name := range a.Publishes {
			if _, ok := queues[name]; !ok {
				fail(fmt.Sprintf("apps[%d].publishes[%d]", i, j), name, "is no app's queue; known queues: %s", strings.Join(slices.Sorted(maps.Keys(queues)), ", "))
			}
		}
	}
	if c.Platform == PlatformLocal && c.Local.RedisAddress != "" && !hostPortPattern.MatchString(c.Local.RedisAddress) {
		fail("local.redisAddress", c.Local.RedisAddress, "must be host:port, e.g. 127.0.0.1:6379")
	}
	if c.Platform == PlatformLocal && c.Local.StorageAddress != "" && !hostPortPattern.MatchString(c.Local.StorageAddress) {
		fail("local.storageAddress", c.Local.StorageAddress, "must be host:port, e.g. 127.0.0.1:4443")
	}
}

var hostPortPattern = regexp.MustCompile(`^[A-Za-z0-9.-]+:[0-9]{1,5}$`)
