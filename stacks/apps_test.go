package stacks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gpuTolerations are what every GPU pod tolerates: GKE's GPU taint and
// the GPU ComputeClass's.
var gpuTolerations = []any{
	map[string]any{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},
	map[string]any{"key": "cloud.google.com/compute-class", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
}

func podSpec(t *testing.T, d map[string]any) map[string]any {
	t.Helper()
	return d["template"].(map[string]any)["spec"].(map[string]any)
}

func TestPodSpecPerAppKind(t *testing.T) {
	g := runStack(t, "dev", nil)
	tests := []struct {
		app      string
		gpu      bool
		serves   bool
		replicas float64
	}{
		{app: "frontend", serves: true, replicas: 1},
		{app: "backend", serves: true, replicas: 1},
		{app: "gpu-worker", gpu: true, replicas: 0},
	}
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			d := named(t, g, deploymentType, tt.app)
			spec := d.Plain("spec").(map[string]any)
			pod := podSpec(t, spec)
			c := pod["containers"].([]any)[0].(map[string]any)
			res := c["resources"].(map[string]any)
			assert.Equal(t, tt.replicas, spec["replicas"])
			assert.Equal(t, "dev", d.Plain("metadata.namespace"))
			assert.Equal(t, "dev", d.Plain("metadata.labels").(map[string]any)["gke-gpu-platform/stack"])

			// Locked down, whatever the kind.
			assert.Equal(t, map[string]any{
				"allowPrivilegeEscalation": false, "privileged": false, "runAsNonRoot": true,
				"readOnlyRootFilesystem": true, "capabilities": map[string]any{"drop": []any{"ALL"}},
			}, c["securityContext"])
			assert.Equal(t, true, pod["securityContext"].(map[string]any)["runAsNonRoot"])
			assert.Contains(t, c["volumeMounts"], map[string]any{"name": "tmp", "mountPath": "/tmp"})
			assert.Equal(t, tt.app, pod["serviceAccountName"])
			require.Contains(t, res, "requests")
			require.Contains(t, res, "limits")
			assert.NotEmpty(t, res["requests"].(map[string]any)["cpu"])
			assert.NotEmpty(t, res["limits"].(map[string]any)["memory"])
			// Nothing pins a node up: the autoscaler may move the pod; but not
			// a GPU worker, which holds a job (and goes with its queue's work).
			evict := map[bool]string{false: "true", true: "false"}[tt.gpu]
			assert.Equal(t, evict, spec["template"].(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)["cluster-autoscaler.kubernetes.io/safe-to-evict"])

			if tt.serves {
				assert.Equal(t, "/healthz", c["readinessProbe"].(map[string]any)["httpGet"].(map[string]any)["path"])
				assert.Equal(t, "/healthz", c["startupProbe"].(map[string]any)["httpGet"].(map[string]any)["path"])
				assert.Equal(t, map[string]any{"port": "http"}, c["livenessProbe"].(map[string]any)["tcpSocket"], "liveness is not readiness")
			} else {
				assert.Nil(t, c["readinessProbe"])
				assert.Nil(t, c["livenessProbe"])
				assert.Nil(t, c["startupProbe"])
			}
			// Every container bounds its node disk use.
			assert.Equal(t, "128Mi", res["requests"].(map[string]any)["ephemeral-storage"])
			assert.Equal(t, "1Gi", res["limits"].(map[string]any)["ephemeral-storage"])

			if tt.gpu {
				assert.Equal(t, "1", res["limits"].(map[string]any)["nvidia.com/gpu"])
				assert.Equal(t, "1", res["requests"].(map[string]any)["nvidia.com/gpu"])
				assert.Equal(t, gpuTolerations, pod["tolerations"])
				// The class alone: GKE rejects gke-accelerator, gke-spot or a
				// machine type beside it.
				assert.Equal(t, map[string]any{"cloud.google.com/compute-class": "gpu"}, pod["nodeSelector"])
				// A surge pod would need a second GPU node.
				assert.Equal(t, map[string]any{"maxSurge": 0.0, "maxUnavailable": 1.0}, spec["strategy"].(map[string]any)["rollingUpdate"])
			} else {
				// CPU apps never tolerate the GPU taint, and ask for no GPU.
				assert.Nil(t, pod["tolerations"])
				assert.Nil(t, pod["nodeSelector"])
				assert.NotContains(t, res["limits"], "nvidia.com/gpu")
			}
		})
	}
}

func TestHPAOwnsReplicasAndPDBAllowsDisruption(t *testing.T) {
	g := runStack(t, "prod", nil)
	frontend := named(t, g, deploymentType, "frontend")
	assert.Nil(t, frontend.Plain("spec.replicas"), "with an HPA, pulumi up must not reset the replica count")
	hpa := named(t, g, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "frontend")
	assert.Equal(t, 2.0, hpa.Plain("spec.minReplicas"))
	assert.Equal(t, 6.0, hpa.Plain("spec.maxReplicas"))
	assert.Equal(t, "frontend", hpa.Plain("spec.scaleTargetRef.name"))
	pdb := named(t, g, "kubernetes:policy/v1:PodDisruptionBudget", "frontend")
	assert.Equal(t, 1.0, pdb.Plain("spec.maxUnavailable"))
	assert.Equal(t, map[string]any{"app.kubernetes.io/name": "frontend", "app.kubernetes.io/instance": "frontend"}, pdb.Plain("spec.selector.matchLabels"))
	_, gpuPDB := g.Named("kubernetes:policy/v1:PodDisruptionBudget", "gpu-worker")
	assert.False(t, gpuPDB, "no budget may keep a GPU node from draining")
}

func TestServicesAreClusterIPOnly(t *testing.T) {
	for _, stack := range []string{"dev", "prod", "local"} {
		t.Run(stack, func(t *testing.T) {
			g := runStack(t, stack, nil)
			svcs := g.OfType(serviceType)
			require.Len(t, svcs, 2, "frontend and backend serve; the GPU worker does not")
			for _, s := range svcs {
				assert.Equal(t, "ClusterIP", s.Plain("spec.type"), s.Name)
				assert.Equal(t, map[string]any{"app.kubernetes.io/name": s.Name, "app.kubernetes.io/instance": s.Name}, s.Plain("spec.selector"))
				if stack != "local" {
					assert.Equal(t, `{"ingress": true}`, s.Plain("metadata.annotations").(map[string]any)["cloud.google.com/neg"], "GKE Ingress needs NEGs for ClusterIP backends")
				}
			}
		})
	}
}

func TestIngressRoutesEachPathToItsService(t *testing.T) {
	tests := []struct {
		stack       string
		host        string
		annotations map[string]any
		className   any
		url         string
	}{
		{stack: "dev", annotations: map[string]any{"kubernetes.io/ingress.class": "gce"}, url: "http://203.0.113.7/"},
		{stack: "prod", host: "app.acme.example.com", annotations: map[string]any{
			"kubernetes.io/ingress.class":                 "gce",
			"kubernetes.io/ingress.global-static-ip-name": "ingress-ip",
			"networking.gke.io/managed-certificates":      "ingress",
			"networking.gke.io/v1beta1.FrontendConfig":    "ingress",
		}, url: "https://app.acme.example.com/"},
		{stack: "local", annotations: map[string]any{}, className: "nginx", url: "http://203.0.113.7/"},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			g := runStack(t, tt.stack, nil)
			ing := g.One(t, ingressType)
			annotations, _ := ing.Plain("metadata.annotations").(map[string]any)
			if annotations == nil {
				annotations = map[string]any{}
			}
			assert.Equal(t, tt.annotations, annotations)
			assert.Equal(t, tt.className, ing.Plain("spec.ingressClassName"))

			rules := ing.Plain("spec.rules").([]any)
			require.Len(t, rules, 1)
			rule := rules[0].(map[string]any)
			if tt.host != "" {
				assert.Equal(t, tt.host, rule["host"])
			} else {
				assert.NotContains(t, rule, "host")
			}
			got := map[string]string{}
			for _, p := range rule["http"].(map[string]any)["paths"].([]any) {
				path := p.(map[string]any)
				svc := path["backend"].(map[string]any)["service"].(map[string]any)
				assert.Equal(t, 80.0, svc["port"].(map[string]any)["number"])
				assert.Equal(t, "Prefix", path["pathType"])
				got[path["path"].(string)] = svc["name"].(string)
			}
			assert.Equal(t, map[string]string{"/": "frontend", "/api": "backend"}, got)
			assert.Equal(t, "203.0.113.7", g.Exports["ingressAddress"])
			assert.Equal(t, tt.url, g.Exports["url"])
		})
	}
}

func TestProdIngressHasStaticIPAndManagedCertificate(t *testing.T) {
	g := runStack(t, "prod", nil)
	addr := g.One(t, addressType)
	assert.Equal(t, "ingress-ip", addr.Plain("name"))
	assert.Equal(t, "acme-platform-prod", addr.Plain("project"))
	cert := g.One(t, "kubernetes:networking.gke.io/v1:ManagedCertificate")
	assert.Equal(t, []any{"app.acme.example.com"}, cert.Plain("spec.domains"))
	fc := g.One(t, "kubernetes:networking.gke.io/v1beta1:FrontendConfig")
	assert.Equal(t, true, fc.Plain("spec.redirectToHttps.enabled"))

	dev := runStack(t, "dev", nil)
	assert.Empty(t, dev.OfType(addressType), "dev keeps the Ingress's ephemeral IP")

	// A route on its own host is on the certificate too.
	multi := runStack(t, "prod", map[string]string{"gke-gpu-platform:apps": `[
		{"name": "web", "image": "web:1", "port": 8080, "path": "/"},
		{"name": "api", "image": "api:1", "port": 8080, "path": "/", "host": "api.acme.example.com"}]`})
	assert.Equal(t, []any{"app.acme.example.com", "api.acme.example.com"},
		multi.One(t, "kubernetes:networking.gke.io/v1:ManagedCertificate").Plain("spec.domains"))
}

func TestImagesPushToTheStackRegistry(t *testing.T) {
	g := runStack(t, "dev", nil)
	images := g.OfType(imageType)
	require.Len(t, images, 3)
	for _, img := range images {
		assert.Equal(t, "us-central1-docker.pkg.dev/acme-platform-dev/apps/"+img.Name+":latest", img.Plain("imageName"))
		assert.Equal(t, "apps/"+img.Name, img.Plain("build.context"))
		assert.Equal(t, "linux/amd64", img.Plain("build.platform"))
		assert.Equal(t, "us-central1-docker.pkg.dev", img.Plain("registry.server"))
		assert.Equal(t, "oauth2accesstoken", img.Plain("registry.username"))
		assert.True(t, img.Input("registry.password").ContainsSecrets() || img.Inputs["registry"].ContainsSecrets(), "the push token must be secret")

		// The Deployment runs exactly the pushed digest.
		d := named(t, g, deploymentType, img.Name)
		c := podSpec(t, d.Plain("spec").(map[string]any))["containers"].([]any)[0].(map[string]any)
		assert.Equal(t, "us-central1-docker.pkg.dev/acme-platform-dev/apps/"+img.Name+"@sha256:0123456789abcdef", c["image"])
	}
	tokens := 0
	for _, c := range g.Calls {
		if c == "gcp:organizations/getClientConfig:getClientConfig" {
			tokens++
		}
	}
	assert.Equal(t, 1, tokens, "one token for all pushes")
	assert.Equal(t, map[string]string{
		"frontend":   "us-central1-docker.pkg.dev/acme-platform-dev/apps/frontend@sha256:0123456789abcdef",
		"backend":    "us-central1-docker.pkg.dev/acme-platform-dev/apps/backend@sha256:0123456789abcdef",
		"gpu-worker": "us-central1-docker.pkg.dev/acme-platform-dev/apps/gpu-worker@sha256:0123456789abcdef",
	}, g.Exports["images"])

	repo := g.One(t, repoType)
	assert.Equal(t, "us-central1", repo.Plain("location"))
	assert.Equal(t, "DOCKER", repo.Plain("format"))
	policies := repo.Plain("cleanupPolicies").([]any)
	assert.Contains(t, policies, map[string]any{"id": "keep-most-recent", "action": "KEEP", "mostRecentVersions": map[string]any{"keepCount": 5.0}})
}

func TestKubernetesResourcesUseTheClusterProvider(t *testing.T) {
	tests := []struct{ stack, provider string }{
		{stack: "dev", provider: "cluster"},
		{stack: "local", provider: "local"},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			g := runStack(t, tt.stack, nil)
			n := 0
			for _, r := range g.Resources {
				if !strings.HasPrefix(r.Type, "kubernetes:") || !r.Custom {
					continue
				}
				n++
				assert.Contains(t, r.Provider, "pulumi:providers:kubernetes::"+tt.provider+"::", "%s %s", r.Type, r.Name)
			}
			assert.GreaterOrEqual(t, n, 9)
		})
	}
}

func TestNamespaceWaitsForTheNodePools(t *testing.T) {
	g := runStack(t, "dev", nil)
	ns := g.One(t, namespaceType)
	assert.Equal(t, "dev", ns.Plain("metadata.name"))
	var deps []string
	for _, d := range ns.Dependencies {
		deps = append(deps, d[strings.LastIndex(d, "::")+2:])
	}
	assert.Subset(t, deps, []string{"cpu", "gpu"})
	// Every app object takes its namespace from the Namespace's output, so it depends on it.
	d := named(t, g, deploymentType, "frontend")
	assert.Contains(t, strings.Join(d.Dependencies, " "), "kubernetes:core/v1:Namespace::dev")
}

func TestLocalStackHasNoGoogleResources(t *testing.T) {
	g := runStack(t, "local", nil)
	for _, r := range g.Resources {
		assert.False(t, strings.HasPrefix(r.Type, "gcp:") || strings.HasPrefix(r.Type, "docker:"), "%s %s", r.Type, r.Name)
	}
	assert.NotContains(t, g.Exports, "estimatedMonthlyCost")
	worker := named(t, g, deploymentType, "gpu-worker")
	pod := podSpec(t, worker.Plain("spec").(map[string]any))
	assert.Equal(t, gpuTolerations, pod["tolerations"])
	assert.Equal(t, "platform", worker.Plain("metadata.namespace"))
}

// A secret reaches its app only through a Kubernetes Secret and a
// secretKeyRef, marked secret for the engine; its value is in no clear
// input and no output.
func TestSecretEnvIsASecretKeyRef(t *testing.T) {
	g := runStack(t, "dev", map[string]string{"gke-gpu-platform:secrets": `{"enqueueToken": "[secret]"}`})
	secret := named(t, g, "kubernetes:core/v1:Secret", "backend-env")
	assert.Equal(t, "backend-env", secret.Plain("metadata.name"))
	assert.True(t, secret.Inputs["stringData"].ContainsSecrets(), "the engine must keep the value encrypted")
	assert.Equal(t, map[string]any{"ENQUEUE_TOKEN": "[secret]"}, secret.Plain("stringData"))
	var ref any
	for _, e := range podSpec(t, named(t, g, deploymentType, "backend").Plain("spec").(map[string]any))["containers"].([]any)[0].(map[string]any)["env"].([]any) {
		if e.(map[string]any)["name"] == "ENQUEUE_TOKEN" {
			assert.Nil(t, e.(map[string]any)["value"], "never a clear value")
			ref = e.(map[string]any)["valueFrom"]
		}
	}
	assert.Equal(t, map[string]any{"secretKeyRef": map[string]any{"name": "backend-env", "key": "ENQUEUE_TOKEN"}}, ref)
	for name, v := range g.Exports {
		assert.NotContains(t, fmt.Sprint(v), "[secret]", "export %s", name)
	}
}
