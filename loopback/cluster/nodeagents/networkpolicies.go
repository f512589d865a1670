package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/google/nftables"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

// runNetworkPolicies runs kube-network-policies' controller
// (sigs.k8s.io/kube-network-policies/pkg/networkpolicy): it reads every
// packet of a new connection from NFQUEUE and accepts or drops it by the
// NetworkPolicies that select its source and destination pods. Its own
// main reads only an in-cluster config (a DaemonSet's service account);
// this one takes a kubeconfig, since it runs on the host.
//
// Upstream steers packets to the queue with nftables' queue expression.
// Kernels built without CONFIG_NFT_QUEUE (these machines': adding that
// rule fails with "netlink receive: no such file or directory") cannot take
// it, so with --steer-cidr this enforcer steers with iptables' NFQUEUE
// target instead (chain GGP-NETPOL in the mangle table's POSTROUTING,
// where upstream's chain sits: after routing and DNAT, before SNAT), with
// upstream's exemptions: established and related packets, and packets that
// root's sockets on the host send (the kubelet's probes). Every new
// connection from or to the CIDR is queued, not only the pods a policy
// selects: the controller accepts those that no policy selects. The
// controller's own nftables sync then fails and is only logged.
func runNetworkPolicies(args []string) int {
	fs := flag.NewFlagSet("network-policies", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the enforcer's identity")
	node := fs.String("hostname-override", "", "the Node whose pods upstream's own nftables rules would cover")
	queue := fs.Int("nfqueue-id", 100, "the NFQUEUE number")
	table := fs.String("nftables-table", "kube-network-policies", "upstream's nftables table")
	steer := fs.String("steer-cidr", "", "queue new connections from or to this pod CIDR with iptables' NFQUEUE target")
	cleanup := fs.Bool("cleanup", false, "delete the nftables table and the iptables chain (left by an enforcer that was killed) and exit")
	klog.InitFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cleanup {
		code := deleteTable(*table)
		if err := unsteer(); err != nil {
			fmt.Fprintf(os.Stderr, "network-policies: %v\n", err)
			code = 1
		}
		return code
	}
	if *kubeconfig == "" || *node == "" {
		fmt.Fprintln(os.Stderr, "network-policies: --kubeconfig and --hostname-override are required")
		return 2
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "network-policies: %v\n", err)
		return 1
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "network-policies: %v\n", err)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	factory := informers.NewSharedInformerFactory(client, 0)
	controller, err := networkpolicy.NewController(client,
		factory.Networking().V1().NetworkPolicies(), factory.Core().V1().Namespaces(), factory.Core().V1().Pods(),
		nil, nil, nil, nil,
		networkpolicy.Config{
			QueueID: *queue, NodeName: *node, NFTableName: *table,
			// NRI stays on, as upstream's default: containerd 1.6 serves no
			// NRI socket, so the plugin only logs that it cannot connect and
			// pod IPs come from the API server. Turned off, v0.8.0 calls
			// its nil plugin for any address that is not a pod's (the
			// queue's) and panics (nri.go:50, from controller.go:190).
			NRIdisabled: false,
			// Its prerouting rules queue DNS with the nftables queue
			// expression too; not needed from Linux 6.12
			// (bugzilla.netfilter.org 1766).
			NetfilterBug1766Fix: *steer == "",
		})
	if err != nil {
		fmt.Fprintf(os.Stderr, "network-policies: %v\n", err)
		return 1
	}
	if *steer != "" {
		if err := steerTo(*steer, *queue); err != nil {
			fmt.Fprintf(os.Stderr, "network-policies: %v\n", err)
			_ = unsteer()
			return 1
		}
		defer func() {
			if err := unsteer(); err != nil {
				fmt.Fprintf(os.Stderr, "network-policies: %v\n", err)
			}
		}()
	}
	done := make(chan error, 1)
	go func() { done <- controller.Run(ctx) }()
	factory.Start(ctx.Done())
	// Run returns after ctx ends, once it has deleted its nftables table.
	if err := <-done; err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "network-policies: %v\n", err)
		return 1
	}
	return 0
}

// chain is the iptables chain (mangle table) that steers packets to the queue.
const chain = "GGP-NETPOL"

// steerTo installs the chain: new connections from or to cidr, except
// those root's sockets on this host open, go to NFQUEUE queue. Without a
// listener on the queue they are dropped: fail closed, as upstream is by
// default.
func steerTo(cidr string, queue int) error {
	if err := unsteer(); err != nil {
		return err
	}
	q := strconv.Itoa(queue)
	for _, rule := range [][]string{
		{"-N", chain},
		{"-A", chain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"},
		{"-A", chain, "-m", "owner", "--uid-owner", "0", "-j", "RETURN"},
		{"-A", chain, "-s", cidr, "-j", "NFQUEUE", "--queue-num", q},
		{"-A", chain, "-d", cidr, "-j", "NFQUEUE", "--queue-num", q},
		{"-A", "POSTROUTING", "-j", chain},
	} {
		if err := iptables(rule...); err != nil {
			return err
		}
	}
	return nil
}

// unsteer removes the chain and its jump, if there.
func unsteer() error {
	if iptables("-S", chain) != nil {
		return nil
	}
	for iptables("-D", "POSTROUTING", "-j", chain) == nil {
	}
	if err := iptables("-F", chain); err != nil {
		return err
	}
	return iptables("-X", chain)
}

func iptables(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w", "-t", "mangle"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables -t mangle %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// deleteTable removes an enforcer's nftables table, if any: what the
// controller does itself when it stops on a signal.
func deleteTable(name string) int {
	nft, err := nftables.New()
	if err != nil {
		fmt.Fprintf(os.Stderr, "network-policies: %v\n", err)
		return 1
	}
	tables, err := nft.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		fmt.Fprintf(os.Stderr, "network-policies: %v\n", err)
		return 1
	}
	for _, t := range tables {
		if t.Name == name {
			nft.DelTable(t)
			if err := nft.Flush(); err != nil {
				fmt.Fprintf(os.Stderr, "network-policies: delete table %s: %v\n", name, err)
				return 1
			}
		}
	}
	return 0
}
