//go:build tools

// Package tools pins fake-gcs-server, the GCS-compatible server the local
// platform runs beside its Redis: the apps keep their job records in it
// through the official client, as they do in Cloud Storage on GKE.
package tools

import _ "github.com/fsouza/fake-gcs-server"
