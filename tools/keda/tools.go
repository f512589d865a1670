//go:build tools

// Package tools pins the KEDA operator, which the local harness runs as a
// host process against the loopback control plane (kwok nodes run no pods).
// Its CRDs come from the same module (config/crd/bases). It lives apart from
// tools/controlplane: KEDA v2.21 needs the Kubernetes 1.36 libraries.
package tools

import _ "github.com/kedacore/keda/v2/cmd/operator"
