module github.com/gke-gpu-platform/gke-gpu-platform/apps/gpu-worker

go 1.26
