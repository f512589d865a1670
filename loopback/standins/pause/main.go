// Command pause is the loopback platform's pod sandbox image ("pause"
// container): it holds a pod's namespaces, reaps orphans as the pod's PID 1
// would, and exits on SIGTERM or SIGINT. The real nodes' containerd names it
// as its sandbox_image, built like the apps (internal images, no registry),
// because nothing is pulled on these machines.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
