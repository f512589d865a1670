package stacks

import (
	"net"
	"slices"
	"strconv"

	"github.com/gke-gpu-platform/gke-gpu-platform/components"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// ingressSource is where the Ingress's traffic enters pods from: GKE's load
// balancers and health checks, or an in-cluster controller's namespace.
func ingressSource(c config.Config, gke bool) components.IngressSourceArgs {
	if gke {
		return components.IngressSourceArgs{CIDRs: components.GKELoadBalancerRanges}
	}
	return components.IngressSourceArgs{Namespace: c.Ingress.ControllerNamespace}
}

// appTraffic is what each app may send and receive, from what the config
// says: its route, the apps it connects to (and that connect to it), a
// Google identity (Google APIs), and the local queue.
func appTraffic(c config.Config, gke bool, q *queueing) []components.AppTrafficArgs {
	ports := map[string]int{}
	for _, a := range c.Apps {
		ports[a.Name] = a.Port
	}
	var out []components.AppTrafficArgs
	for _, a := range c.Apps {
		t := components.AppTrafficArgs{App: a.Name, Port: a.Port, Routed: a.Path != ""}
		for _, b := range c.Apps {
			if slices.Contains(b.ConnectsTo, a.Name) {
				t.From = append(t.From, b.Name)
			}
		}
		for _, peer := range a.ConnectsTo {
			t.To = append(t.To, components.PeerPortArgs{App: peer, Port: ports[peer]})
		}
		_, hasIdentity := q.identity[a.Name]
		t.GoogleAPIs = gke && hasIdentity
		if !gke && a.UsesQueue() {
			// The local queue and the local job records' server.
			for _, addr := range []string{c.Local.RedisAddress, c.Local.StorageAddress} {
				if host, port, err := net.SplitHostPort(addr); err == nil && net.ParseIP(host) != nil {
					p, _ := strconv.Atoi(port)
					t.Egress = append(t.Egress, components.EgressArgs{CIDR: host + "/32", Ports: []int{p}})
				}
			}
		}
		out = append(out, t)
	}
	return out
}
