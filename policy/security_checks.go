package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

func checkClusterHardened(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	var v []string
	if pool := r.Get("workloadIdentityConfig.workloadPool"); pool == nil || pool == "" {
		v = append(v, fmt.Sprintf("cluster %q has no Workload Identity: set workloadIdentityConfig.workloadPool to <project>.svc.id.goog.", r.Name))
	}
	if isFalse(r.Get("enableShieldedNodes")) {
		v = append(v, fmt.Sprintf("cluster %q turns shielded nodes off: set enableShieldedNodes to true.", r.Name))
	}
	if isTrue(r.Get("enableLegacyAbac")) {
		v = append(v, fmt.Sprintf("cluster %q enables legacy ABAC: set enableLegacyAbac to false and use RBAC.", r.Name))
	}
	if isTrue(r.Get("masterAuth.clientCertificateConfig.issueClientCertificate")) {
		v = append(v, fmt.Sprintf("cluster %q issues a client certificate: set masterAuth.clientCertificateConfig.issueClientCertificate to false.", r.Name))
	}
	if u := r.Get("masterAuth.username"); u != nil && u != "" {
		v = append(v, fmt.Sprintf("cluster %q sets basic auth (masterAuth.username): remove it.", r.Name))
	}
	return v
}

var defaultComputeAccount = regexp.MustCompile(`^(default|[0-9]+-compute@developer\.gserviceaccount\.com)$`)

func checkNodePoolHardened(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	var v []string
	sa := r.Get("nodeConfig.serviceAccount")
	switch {
	case isUnknown(sa):
		// An account created in the same stack: not the default one.
	case sa == nil || sa == "" || defaultComputeAccount.MatchString(asString(sa)):
		v = append(v, fmt.Sprintf("%s %q runs its nodes as the Compute Engine default service account (project Editor): give nodeConfig.serviceAccount a dedicated account.", kind(r), r.Name))
	}
	if r.Type == nodePoolType {
		if !isTrue(r.Get("management.autoRepair")) && !isUnknown(r.Get("management.autoRepair")) {
			v = append(v, fmt.Sprintf("node pool %q has auto-repair off: set management.autoRepair to true.", r.Name))
		}
		if !isTrue(r.Get("management.autoUpgrade")) && !isUnknown(r.Get("management.autoUpgrade")) {
			v = append(v, fmt.Sprintf("node pool %q has auto-upgrade off: set management.autoUpgrade to true.", r.Name))
		}
	}
	return v
}

func kind(r Resource) string {
	if r.Type == clusterType {
		return "cluster"
	}
	return "node pool"
}

// podSpec returns a workload's pod spec, or nil.
func podSpec(r Resource) map[string]any {
	path, ok := workloadTypes[r.Type]
	if !ok {
		return nil
	}
	return asMap(r.Get(path))
}

func containersOf(pod map[string]any) []map[string]any {
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		for _, c := range asList(pod[key]) {
			if m := asMap(c); m != nil {
				out = append(out, m)
			}
		}
	}
	return out
}

func checkPodSecurity(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	pod := podSpec(r)
	if pod == nil {
		return nil
	}
	var v []string
	for _, host := range []string{"hostNetwork", "hostPID", "hostIPC"} {
		if isTrue(pod[host]) {
			v = append(v, fmt.Sprintf("%s %q sets %s: remove it.", kindOf(r), r.Name, host))
		}
	}
	for _, vol := range asList(pod["volumes"]) {
		if asMap(vol)["hostPath"] != nil {
			v = append(v, fmt.Sprintf("%s %q mounts hostPath volume %q: use an emptyDir or a PersistentVolumeClaim.", kindOf(r), r.Name, asString(asMap(vol)["name"])))
		}
	}
	podNonRoot := isTrue(get(pod, "securityContext.runAsNonRoot"))
	for _, c := range containersOf(pod) {
		name := asString(c["name"])
		where := fmt.Sprintf("container %q of %s %q", name, kindOf(r), r.Name)
		res := asMap(c["resources"])
		for _, kindOfLimit := range []string{"requests", "limits"} {
			m := asMap(res[kindOfLimit])
			if isUnknown(res[kindOfLimit]) {
				continue
			}
			var missing []string
			for _, q := range []string{"cpu", "memory"} {
				if m[q] == nil {
					missing = append(missing, q)
				}
			}
			if len(missing) > 0 {
				v = append(v, fmt.Sprintf("%s has no %s %s: set resources.%s.", where, strings.Join(missing, "/"), kindOfLimit, kindOfLimit))
			}
		}
		sc := asMap(c["securityContext"])
		if !podNonRoot && !isTrue(sc["runAsNonRoot"]) {
			v = append(v, fmt.Sprintf("%s may run as root: set securityContext.runAsNonRoot to true.", where))
		}
		if !isFalse(sc["allowPrivilegeEscalation"]) {
			v = append(v, fmt.Sprintf("%s allows privilege escalation: set securityContext.allowPrivilegeEscalation to false.", where))
		}
		if isTrue(sc["privileged"]) {
			v = append(v, fmt.Sprintf("%s is privileged: remove securityContext.privileged.", where))
		}
		if !slices.Contains(asList(get(sc, "capabilities.drop")), any("ALL")) {
			v = append(v, fmt.Sprintf("%s keeps Linux capabilities: set securityContext.capabilities.drop to [ALL].", where))
		}
	}
	return v
}

func kindOf(r Resource) string {
	parts := strings.Split(r.Type, ":")
	return parts[len(parts)-1]
}

func tolerationsGPUTaint(pod map[string]any) bool {
	for _, t := range asList(pod["tolerations"]) {
		m := asMap(t)
		key, op := asString(m["key"]), asString(m["operator"])
		if key == "nvidia.com/gpu" || (key == "" && op == "Exists") {
			return true
		}
	}
	return false
}

func requestsGPU(pod map[string]any) bool {
	for _, c := range containersOf(pod) {
		if asMap(get(c, "resources.limits"))["nvidia.com/gpu"] != nil {
			return true
		}
	}
	return false
}

func checkGPUToleration(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	pod := podSpec(r)
	if pod == nil || !tolerationsGPUTaint(pod) || requestsGPU(pod) {
		return nil
	}
	return []string{fmt.Sprintf("%s %q tolerates the nvidia.com/gpu taint but requests no GPU: remove the toleration, or set resources.limits[nvidia.com/gpu] (apps[].gpu).", kindOf(r), r.Name)}
}

func checkEphemeralStorage(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	var v []string
	for _, c := range containersOf(podSpec(r)) {
		res, _ := c["resources"].(map[string]any)
		requests, _ := res["requests"].(map[string]any)
		limits, _ := res["limits"].(map[string]any)
		if requests["ephemeral-storage"] == nil || limits["ephemeral-storage"] == nil {
			v = append(v, fmt.Sprintf("container %q of %s %q does not request and limit ephemeral-storage: set resources.ephemeralStorageRequest and ephemeralStorageLimit.",
				asString(c["name"]), kindOf(r), r.Name))
		}
	}
	return v
}

// alwaysOnAnnotation marks a GPU Deployment whose pods are meant to run
// with no queue behind them (components.AlwaysOnAnnotation).
const alwaysOnAnnotation = "gke-gpu-platform/always-on"

func checkGPUIdleAtZero(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	pod := podSpec(r)
	if pod == nil || !requestsGPU(pod) {
		return nil
	}
	if asString(r.Get("metadata.annotations."+alwaysOnAnnotation)) == "true" {
		return nil
	}
	replicas := r.Get("spec.replicas")
	switch n := replicas.(type) {
	case Unknown:
		return nil
	case float64:
		if n == 0 {
			return nil
		}
	case nil:
		// Unset (an HPA owns it): Kubernetes starts it at 1.
	}
	return []string{fmt.Sprintf("Deployment %q requests nvidia.com/gpu and runs %v replica(s) with no queue behind it: "+
		"give the app a queue (apps[].queue, KEDA scales it from zero) or set apps[].alwaysOn if a GPU node should run around the clock.",
		r.Name, orOne(replicas))}
}

func orOne(v any) any {
	if v == nil {
		return 1
	}
	return v
}

// pinned reports whether an image reference names a digest or a version
// tag. A registry port (host:5000/app) is not a tag: the tag is looked for
// after the last '/'.
func pinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	_, tag, ok := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":")
	return ok && tag != "" && tag != "latest"
}

func checkImagesPinned(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	pod := podSpec(r)
	var v []string
	for _, c := range containersOf(pod) {
		img := c["image"]
		if isUnknown(img) {
			continue // built in this stack: the digest is known after the push
		}
		ref := asString(img)
		if pinned(ref) {
			continue
		}
		v = append(v, fmt.Sprintf("container %q of %s %q uses image %q, which is not pinned: use a version tag (name:1.2.3) or a digest (name@sha256:...).",
			asString(c["name"]), kindOf(r), r.Name, ref))
	}
	return v
}

func checkDeletionProtection(r Resource, stack Stack, cfg map[string]any, _ *runState) []string {
	if !slices.Contains(asList(cfg["protectedStacks"]), any(stack.Name)) {
		return nil
	}
	if isTrue(r.Get("deletionProtection")) || isUnknown(r.Get("deletionProtection")) {
		return nil
	}
	return []string{fmt.Sprintf("cluster %q of stack %q has deletion protection off: set `cluster: {deletionProtection: true}` in Pulumi.%s.yaml.", r.Name, stack.Name, stack.Name)}
}

// checkNoSecretsInEnv refuses a literal env value under a name that says it
// is a secret: it would sit in clear in the stack file, the preview and
// the Deployment. A secretKeyRef (valueFrom) is the way.
func checkNoSecretsInEnv(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	var v []string
	for _, c := range containersOf(podSpec(r)) {
		for _, e := range asList(c["env"]) {
			m := asMap(e)
			name := asString(m["name"])
			if m["value"] == nil || !config.LooksSecret(name) {
				continue
			}
			v = append(v, fmt.Sprintf("container %q of %s %q sets %s in clear: put the value in the stack's secrets "+
				"(`pulumi config set --secret --path 'gke-gpu-platform:secrets.<name>' <value>`) and name it in apps[].secretEnv.%s, "+
				"which renders a Kubernetes Secret and a secretKeyRef.", asString(c["name"]), kindOf(r), r.Name, name, name))
		}
	}
	return v
}
