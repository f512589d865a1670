package config

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Names that must be unique in a Google project (cluster, registry, global
// address) default to ones derived from the stack, so review stacks sharing
// the dev project never collide. Limits: a cluster name is at most 24 here
// (GKE allows 40, but the node service account adds "-nodes" within 30), a
// repository ID and a global address name at most 63 (RFC 1035 labels).
const (
	clusterNameMax = 24
	resourceIDMax  = 63
)

// stackSlug is the stack name as a lowercase DNS-label-ish string: stack
// names may hold upper case, '.' and '_' (pulumi.com/docs/iac/concepts/stacks),
// GCP names and label values may not.
func stackSlug(stack string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(stack) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// stackScopedName is prefix-<stack slug> when that spells the stack exactly
// and fits max; otherwise prefix-<8 hex of the stack name's SHA-256>, unique
// per stack and always valid (review stacks' long generated names land here).
func stackScopedName(prefix, stack string, max int) string {
	slug := stackSlug(stack)
	if name := prefix + "-" + slug; slug != "" && slug == stack && len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(stack))
	return prefix + "-" + hex.EncodeToString(sum[:])[:8]
}

// LabelValue fits a GCP label value: lowercase letters, digits, '-' and at most 63.
func LabelValue(s string) string {
	slug := stackSlug(s)
	return strings.TrimRight(slug[:min(len(slug), 63)], "-")
}

// namespaceFor is the default Kubernetes namespace: the stack's slug.
func namespaceFor(stack string) string {
	if ns := LabelValue(stack); ns != "" {
		return ns
	}
	return "platform"
}

// bucketNameMax is Cloud Storage's limit for a bucket name without dots
// (https://cloud.google.com/storage/docs/buckets#naming).
const bucketNameMax = 63

// ResultsBucket is the bucket holding queue's job records. On GKE bucket
// names are global, so the name carries the project and the cluster:
// <project>-<cluster>-<queue>, or its first 54 characters and 8 hex of its
// SHA-256 when longer than 63. Locally: <queue>-jobs.
func (c Config) ResultsBucket(queue string) string {
	if c.Platform == PlatformLocal {
		return queue + "-jobs"
	}
	name := c.Project + "-" + c.Cluster.Name + "-" + queue
	if len(name) <= bucketNameMax {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:bucketNameMax-9] + "-" + hex.EncodeToString(sum[:4])
}

// QueueResourceID is a queue's Pub/Sub topic ID on GKE, and its consumer
// subscription's: <cluster>-<queue>.
func (c Config) QueueResourceID(queue string) string {
	return c.Cluster.Name + "-" + queue
}
