package images

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// files reads a tar stream into name -> header.
func files(t *testing.T, r io.Reader) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		out[h.Name] = h
	}
}

func TestFromBinaryIsTheDockerfilesImage(t *testing.T) {
	tests := []struct {
		spec      Spec
		wantFiles []string
	}{
		{Spec{Name: "backend", Entrypoint: "/app", Port: 8080}, []string{"app", "etc/passwd", "etc/group", "tmp/", "home/nonroot/"}},
		{Spec{Name: "gpu-worker", Entrypoint: "/worker", Env: []string{"NVIDIA_SMI=/usr/local/nvidia/bin/nvidia-smi"}}, []string{"worker"}},
		{Spec{Name: "pause", Entrypoint: "/usr/local/bin/pause"}, []string{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/pause"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec.Name, func(t *testing.T) {
			img, err := FromBinary(tt.spec, []byte("binary of "+tt.spec.Name))
			require.NoError(t, err)
			cf, err := img.ConfigFile()
			require.NoError(t, err)
			assert.Equal(t, []string{tt.spec.Entrypoint}, cf.Config.Entrypoint)
			assert.Equal(t, "65532:65532", cf.Config.User, "the pods' runAsNonRoot needs a numeric non-root user")
			assert.Equal(t, "linux", cf.OS)
			assert.Equal(t, "amd64", cf.Architecture)
			for _, e := range tt.spec.Env {
				assert.Contains(t, cf.Config.Env, e)
			}
			if tt.spec.Port > 0 {
				assert.Contains(t, cf.Config.ExposedPorts, "8080/tcp")
			}
			mt, err := img.MediaType()
			require.NoError(t, err)
			assert.Equal(t, "application/vnd.oci.image.manifest.v1+json", string(mt))

			layers, err := img.Layers()
			require.NoError(t, err)
			require.Len(t, layers, 1)
			rc, err := layers[0].Uncompressed()
			require.NoError(t, err)
			defer rc.Close()
			got := files(t, rc)
			for _, f := range tt.wantFiles {
				assert.Contains(t, got, f)
			}
			bin := got[tt.spec.Entrypoint[1:]]
			assert.EqualValues(t, 0o755, bin.Mode)
			assert.Zero(t, bin.ModTime.Unix(), "fixed times: the same binary gives the same digest")
			assert.EqualValues(t, 0o1777, got["tmp/"].Mode)
		})
	}
}

func TestTheSameBinaryGivesTheSameDigest(t *testing.T) {
	spec := Spec{Name: "backend", Entrypoint: "/app", Port: 8080}
	a, err := FromBinary(spec, []byte("v1"))
	require.NoError(t, err)
	b, err := FromBinary(spec, []byte("v1"))
	require.NoError(t, err)
	c, err := FromBinary(spec, []byte("v2"))
	require.NoError(t, err)
	da, _ := a.Digest()
	db, _ := b.Digest()
	dc, _ := c.Digest()
	assert.Equal(t, da, db)
	assert.NotEqual(t, da, dc)
}

// The archive is an OCI image layout whose index names the image by its
// digest reference, the name containerd gives it on import.
func TestWriteNamesTheImageByDigest(t *testing.T) {
	img, err := FromBinary(Spec{Name: "frontend", Entrypoint: "/app"}, []byte("x"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "frontend.oci.tar")
	out, err := Write(img, "frontend", path)
	require.NoError(t, err)
	digest, _ := img.Digest()
	assert.Equal(t, "gke-gpu-platform.local/frontend@"+digest.String(), out.Ref)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	tr := tar.NewReader(bytes.NewReader(raw))
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	names := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names[h.Name] = true
		if h.Name == "index.json" {
			require.NoError(t, json.NewDecoder(tr).Decode(&index))
		}
	}
	assert.True(t, names["oci-layout"])
	assert.True(t, names["blobs/sha256/"+digest.Hex])
	require.Len(t, index.Manifests, 1)
	assert.Equal(t, digest.String(), index.Manifests[0].Digest)
	assert.Equal(t, out.Ref, index.Manifests[0].Annotations["io.containerd.image.name"])
}

// The same source gives the same image whatever the caller's Go settings
// (CI sets GOFLAGS=-mod=readonly; a laptop does not): the real build of the
// frontend, twice, in two output directories.
func TestBuildIsReproducible(t *testing.T) {
	project, err := filepath.Abs("../..")
	require.NoError(t, err)
	i := slices.IndexFunc(Apps(project), func(s Spec) bool { return s.Name == "frontend" })
	require.GreaterOrEqual(t, i, 0)
	spec := Apps(project)[i]
	var digests []string
	for _, goflags := range []string{"", "-mod=readonly"} {
		t.Setenv("GOFLAGS", goflags)
		img, err := Build(t.Context(), spec, t.TempDir())
		require.NoError(t, err)
		digests = append(digests, img.Digest)
	}
	assert.Equal(t, digests[0], digests[1])
}

// The local stack runs exactly the project's apps through local.images; the
// sandbox and cluster DNS are the platform's own.
func TestAppsMarksTheProjectsApps(t *testing.T) {
	apps := map[string]bool{}
	for _, s := range Apps("/p") {
		apps[s.Name] = s.App
	}
	assert.Equal(t, map[string]bool{"pause": false, "coredns": false, "frontend": true, "backend": true, "gpu-worker": true, "spend-guard": true}, apps)
}
