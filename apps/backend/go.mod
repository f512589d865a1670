module github.com/gke-gpu-platform/gke-gpu-platform/apps/backend

go 1.26
