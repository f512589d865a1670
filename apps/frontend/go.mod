module github.com/gke-gpu-platform/gke-gpu-platform/apps/frontend

go 1.26
