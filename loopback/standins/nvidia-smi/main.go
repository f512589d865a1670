// Command nvidia-smi stands in for NVIDIA's tool in the loopback
// platform's gpu-worker image: there is no GPU (and no driver to mount) on
// the machines `make local` runs on, so `nvidia-smi -L` says exactly that,
// in the shape the real one prints ("GPU <n>: <name> (UUID: ...)").
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-L" {
		fmt.Println("GPU 0: none, loopback platform stand-in (no GPU on this machine) (UUID: GPU-00000000-0000-0000-0000-000000000000)")
		return
	}
	fmt.Println("nvidia-smi stand-in of the loopback platform: no GPU on this machine; only -L is answered")
}
