//go:build tools

// Package tools pins KEDA's operator and its metrics adapter, which the
// local harness runs as host processes against the loopback control plane
// (kwok nodes run no pods). The operator scales 0 <-> 1 by itself; the
// adapter serves external.metrics.k8s.io so the HPA controller scales 1 -> N.
// Its CRDs come from the same module (config/crd/bases). It lives apart from
// tools/controlplane: KEDA v2.21 needs the Kubernetes 1.36 libraries.
package tools

import (
	_ "github.com/kedacore/keda/v2/cmd/adapter"
	_ "github.com/kedacore/keda/v2/cmd/operator"
)
