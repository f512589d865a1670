package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const networkPolicyType = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

func TestNetworkPolicies(t *testing.T) {
	selector := func(app string) map[string]any {
		return map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": app}}
	}
	tcp := func(port float64) []any { return []any{map[string]any{"protocol": "TCP", "port": port}} }
	ipBlock := func(cidr string) map[string]any { return map[string]any{"ipBlock": map[string]any{"cidr": cidr}} }

	t.Run("dev on GKE", func(t *testing.T) {
		g := runStack(t, "dev", nil)
		deny := named(t, g, networkPolicyType, "default-deny")
		assert.Equal(t, map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}}, deny.Plain("spec"))
		assert.Equal(t, "dev", deny.Plain("metadata.namespace"))
		dns := named(t, g, networkPolicyType, "allow-dns")
		assert.Equal(t, []any{"Egress"}, dns.Plain("spec.policyTypes"))

		// The frontend: reached only from GKE's load balancers and health checks, on its port.
		front := named(t, g, networkPolicyType, "allow-frontend")
		assert.Equal(t, selector("frontend"), front.Plain("spec.podSelector"))
		assert.Equal(t, []any{map[string]any{"from": []any{ipBlock("35.191.0.0/16"), ipBlock("130.211.0.0/22")}, "ports": tcp(8080)}},
			front.Plain("spec.ingress"))
		assert.Nil(t, front.Plain("spec.egress"), "the frontend calls nothing")

		// The backend publishes to Pub/Sub: the metadata server and HTTPS out.
		back := named(t, g, networkPolicyType, "allow-backend")
		egress := back.Plain("spec.egress").([]any)
		require.Len(t, egress, 3)
		assert.Equal(t, map[string]any{"to": []any{ipBlock("169.254.169.254/32")}, "ports": tcp(80)}, egress[0])
		assert.Equal(t, []any{"Ingress", "Egress"}, back.Plain("spec.policyTypes"))

		// The GPU worker takes no traffic at all, and reaches Google's APIs only.
		worker := named(t, g, networkPolicyType, "allow-gpu-worker")
		assert.Nil(t, worker.Plain("spec.ingress"))
		assert.Equal(t, []any{"Egress"}, worker.Plain("spec.policyTypes"))

		// Enforced: GKE Dataplane V2.
		assert.Equal(t, "ADVANCED_DATAPATH", g.One(t, clusterType).Plain("datapathProvider"))
	})

	t.Run("local", func(t *testing.T) {
		g := runStack(t, "local", nil)
		ns := func(name string) map[string]any {
			return map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": name}}}
		}
		back := named(t, g, networkPolicyType, "allow-backend")
		// From the ingress controller, and from the frontend that declares it calls the backend.
		assert.Equal(t, []any{
			map[string]any{"from": []any{ns("ingress-nginx")}, "ports": tcp(8080)},
			map[string]any{"from": []any{map[string]any{"podSelector": selector("frontend")}}, "ports": tcp(8080)},
		}, back.Plain("spec.ingress"))
		// It publishes to the local Redis and keeps job records on the local
		// storage server, and reaches nothing else.
		assert.Equal(t, []any{
			map[string]any{"to": []any{ipBlock("127.0.0.1/32")}, "ports": tcp(6379)},
			map[string]any{"to": []any{ipBlock("127.0.0.1/32")}, "ports": tcp(4443)},
		}, back.Plain("spec.egress"))
		front := named(t, g, networkPolicyType, "allow-frontend")
		assert.Equal(t, []any{map[string]any{"to": []any{map[string]any{"podSelector": selector("backend")}}, "ports": tcp(8080)}},
			front.Plain("spec.egress"))
	})
}

// A web app with two or more replicas gets a budget by default; a GPU app never.
func TestDefaultDisruptionBudgets(t *testing.T) {
	g := runStack(t, "local", nil)
	pdbs := map[string]any{}
	for _, p := range g.OfType("kubernetes:policy/v1:PodDisruptionBudget") {
		pdbs[p.Name] = p.Plain("spec.maxUnavailable")
	}
	assert.Equal(t, map[string]any{"frontend": 1.0, "backend": 1.0}, pdbs)
}
