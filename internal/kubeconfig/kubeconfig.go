// Package kubeconfig renders kubeconfig files for the clusters the platform creates.
package kubeconfig

import (
	"fmt"
	"strings"
)

// GKE returns a kubeconfig for a GKE cluster that authenticates through the
// gke-gcloud-auth-plugin exec plugin: no static credentials are written, so
// the file is safe to hand to `kubectl` and the Kubernetes provider alike.
//
// The plugin mints its token from application default credentials, not from
// gcloud's own login: the same identity that created the cluster (ADC after
// `gcloud auth application-default login` on a laptop, Workload Identity
// Federation in GitHub Actions, OIDC in Pulumi Deployments) talks to it. With
// gcloud's user login instead, a CI runner without gcloud credentials fails
// and a laptop may act as a different account than the one Pulumi used.
//
// name becomes the context, cluster and user name; endpoint is the control
// plane IP or host; caCertificate is the base64-encoded cluster CA.
func GKE(name, endpoint, caCertificate string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: https://%[2]s
    certificate-authority-data: %[3]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s
current-context: %[1]s
users:
- name: %[1]s
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      args:
      - --use_application_default_credentials
      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following
        https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin
      provideClusterInfo: true
`, name, endpoint, caCertificate)
	return b.String()
}
