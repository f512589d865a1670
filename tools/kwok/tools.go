//go:build tools

// Package tools pins kwok, which turns Node objects into simulated kubelets
// for the loopback control plane. It lives apart from tools/controlplane:
// kwok v0.7.0 does not compile against the apimachinery of Kubernetes 1.34.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
