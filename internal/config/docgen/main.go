// Command docgen writes the config reference (docs/config.md) and the config
// block of Pulumi.yaml from internal/config's doc comments and defaults. Run
// it with `make docs` (go generate ./internal/config); a test in
// internal/config fails when either file is stale.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

func main() {
	// go generate runs in internal/config; the project root is two up.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err == nil {
		err = config.WriteReference(root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}
