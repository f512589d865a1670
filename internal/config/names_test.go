package config

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Names unique in a Google project are derived from the stack: readable when
// the stack's name fits, hashed when it does not, and always valid.
func TestStackScopedNames(t *testing.T) {
	tests := []struct {
		stack                      string
		cluster, registry, address string
		namespace                  string
	}{
		{stack: "dev", cluster: "platform-dev", registry: "apps-dev", address: "ingress-dev", namespace: "dev"},
		{stack: "pr-7", cluster: "platform-pr-7", registry: "apps-pr-7", address: "ingress-pr-7", namespace: "pr-7"},
		// Too long for a cluster name (24 with the node account's "-nodes"):
		// hashed there, spelled out where 63 characters allow it.
		{stack: "pr-pulumi-acme-gke-gpu-platform-42", cluster: "platform-" + hash8("pr-pulumi-acme-gke-gpu-platform-42"),
			registry: "apps-pr-pulumi-acme-gke-gpu-platform-42", address: "ingress-pr-pulumi-acme-gke-gpu-platform-42",
			namespace: "pr-pulumi-acme-gke-gpu-platform-42"},
		// Stack names may hold capitals, '.' and '_'; GCP names may not.
		{stack: "Review_Feature.x", cluster: "platform-" + hash8("Review_Feature.x"), registry: "apps-" + hash8("Review_Feature.x"),
			address: "ingress-" + hash8("Review_Feature.x"), namespace: "review-feature-x"},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			d := Defaults(tt.stack)
			assert.Equal(t, tt.cluster, d.Cluster.Name)
			assert.Equal(t, tt.registry, d.Registry.Name)
			assert.Equal(t, tt.address, d.Ingress.StaticIPName)
			assert.Equal(t, tt.namespace, d.Namespace)
			// Derived names always pass the validation a hand-written one must.
			assert.Regexp(t, clusterNamePattern, d.Cluster.Name)
			assert.Regexp(t, repoIDPattern, d.Registry.Name)
			assert.Regexp(t, repoIDPattern, d.Ingress.StaticIPName)
			assert.Regexp(t, namespacePattern, d.Namespace)
		})
	}
	// Two stacks whose slugs agree still get different names.
	assert.NotEqual(t, Defaults("Review.1").Cluster.Name, Defaults("review-1").Cluster.Name)
}

func hash8(s string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(s)))[:8]
}

// gcpIdentity is what must be unique in a Google project for a resource, or
// "" for resources that are not named there (IAM members, bindings).
