package stacks

import (
	"testing"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

// BenchmarkProgram is the program's own share of a preview: load and
// validate config, estimate cost, register the whole graph (under mocks, so
// no provider time). `go test ./stacks -run ^$ -bench Program -benchmem`.
func BenchmarkProgram(b *testing.B) {
	for _, stack := range []string{"dev", "prod", "local"} {
		b.Run(stack, func(b *testing.B) {
			cfg, err := config.StackFileConfig("..", stack)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				g, err := graphtest.Run(b, Program, stack, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if len(g.Resources) == 0 {
					b.Fatal("nothing registered")
				}
			}
		})
	}
}

// BenchmarkLoadConfig is config loading and validation alone.
func BenchmarkLoadConfig(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := config.LoadStackFile("..", "prod"); err != nil {
			b.Fatal(err)
		}
	}
}
