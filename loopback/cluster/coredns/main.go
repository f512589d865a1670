// Command coredns is cluster DNS for the loopback platform's real nodes:
// CoreDNS (github.com/coredns/coredns) with only the plugins a cluster's
// DNS uses, compiled in the way CoreDNS documents for a custom build (set
// dnsserver.Directives, import the plugins, call coremain.Run). It runs as
// a pod in kube-system, as GKE's kube-dns does, from an image package
// images builds: nothing can be pulled here.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/ready"
)

// directives are the plugins in CoreDNS's own order (plugin.cfg).
var directives = []string{"ready", "health", "errors", "loadbalance", "cache", "kubernetes"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
