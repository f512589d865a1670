//go:build tools

// Package tools pins what the loopback cluster runs besides the control
// plane, in the same module so that every tool compiles the Kubernetes
// libraries once, at one version (1.36): kwok, which turns Node objects
// into simulated kubelets, and KEDA's operator and metrics adapter, run as
// host processes (the operator scales 0 <-> 1 by itself; the adapter serves
// external.metrics.k8s.io so the HPA controller scales 1 -> N). KEDA's CRDs
// come from its module's files (config/crd/bases).
package tools

import (
	_ "github.com/kedacore/keda/v2/cmd/adapter"
	_ "github.com/kedacore/keda/v2/cmd/operator"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
