// Package images builds the project's own apps into OCI images without a
// Docker engine, for the loopback platform's real nodes: each app is a
// static Go binary (CGO_ENABLED=0, -trimpath, as its Dockerfile builds it),
// laid on an empty base with the nonroot user of distroless (UID 65532), and
// written as an OCI image layout archive that containerd imports with
// `ctr images import`. The GKE stacks keep building with docker.Image: the
// user's laptops and CI have Docker.
//
// Images are reproducible: every file and the config carry the Unix epoch
// as their time, so the same source gives the same digest, and the local
// stack can refer to an image by digest (name@sha256:...).
package images

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is the name the loopback platform's images carry. Nothing is
// pushed or pulled: containerd holds them under this name, imported.
const Registry = "gke-gpu-platform.local"

// NonRootUID is distroless's nonroot user, which the apps' pod security
// context (runAsNonRoot) and their Dockerfiles expect.
const NonRootUID = 65532

// Spec is one image to build.
type Spec struct {
	// Name of the image (and of the binary in it): frontend, backend, ...
	Name string
	// Dir is the Go module (or package directory) to build, `go build .` there.
	Dir string
	// Entrypoint is where the binary goes in the image, as the Dockerfile
	// puts it (/app, /worker).
	Entrypoint string
	// Env are extra KEY=value pairs of the image config.
	Env []string
	// Port the app listens on, recorded as the config's ExposedPorts; 0 for none.
	Port int
	// Extra executables to add, by absolute path in the image (a stand-in
	// nvidia-smi where the loopback platform has no GPU driver to mount).
	Extra map[string][]byte
	// App is true for the project's apps (apps/*), which the local stack
	// runs through local.images; false for the platform's own images (the
	// pod sandbox, cluster DNS) and a test's.
	App bool
}

// Image is a built image.
type Image struct {
	// Ref is the digest reference pods use: gke-gpu-platform.local/<name>@sha256:<hex>.
	Ref string
	// Digest is the manifest digest, sha256:<hex>.
	Digest string
	// Archive is the OCI image layout archive (a tar) for `ctr images import`.
	Archive string
	// App is its Spec's App.
	App bool
}

// buildEnv makes the binaries the same bytes wherever they are built with
// the same Go: static (as the Dockerfiles build them), and GOFLAGS fixed,
// since the caller's (CI sets -mod=readonly) would land in the binary's
// embedded build settings and change the digest. The build flags add
// -trimpath and an empty build ID.
var buildEnv = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-mod=readonly -buildvcs=false"}

// Build compiles s.Dir's binary and writes its image archive into outDir.
func Build(ctx context.Context, s Spec, outDir string) (Image, error) {
	bin := filepath.Join(outDir, s.Name+".bin")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", bin, ".")
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), buildEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return Image{}, fmt.Errorf("images: go build %s: %w: %s", s.Dir, err, out)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return Image{}, err
	}
	img, err := FromBinary(s, binary)
	if err != nil {
		return Image{}, err
	}
	out, err := Write(img, s.Name, filepath.Join(outDir, s.Name+".oci.tar"))
	out.App = s.App
	return out, err
}

// FromBinary is the image of a static binary: one layer with the binary at
// s.Entrypoint, /etc/passwd and /etc/group naming the nonroot user, and
// /tmp; the config runs the binary as 65532:65532.
func FromBinary(s Spec, binary []byte) (v1.Image, error) {
	if s.Name == "" || s.Entrypoint == "" {
		return nil, fmt.Errorf("images: a spec needs a Name and an Entrypoint, got %+v", s)
	}
	files, err := rootfs(s.Entrypoint, binary, s.Extra)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Entrypoint = []string{s.Entrypoint}
	cf.Config.User = fmt.Sprintf("%d:%d", NonRootUID, NonRootUID)
	cf.Config.WorkingDir = "/"
	cf.Config.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, s.Env...)
	if s.Port > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{fmt.Sprintf("%d/tcp", s.Port): {}}
	}
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": s.Name}
	return mutate.ConfigFile(img, cf)
}

// Write stores img as an OCI image layout archive at path, named
// Registry/name@digest (containerd's io.containerd.image.name annotation),
// so that after `ctr images import` the digest reference resolves as is.
func Write(img v1.Image, name, path string) (Image, error) {
	digest, err := img.Digest()
	if err != nil {
		return Image{}, err
	}
	ref := fmt.Sprintf("%s/%s@%s", Registry, name, digest)
	dir, err := os.MkdirTemp(filepath.Dir(path), name+".layout-")
	if err != nil {
		return Image{}, err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return Image{}, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"io.containerd.image.name":          ref,
		"org.opencontainers.image.ref.name": ref,
	})); err != nil {
		return Image{}, err
	}
	if err := tarDir(dir, path); err != nil {
		return Image{}, err
	}
	return Image{Ref: ref, Digest: digest.String(), Archive: path}, nil
}

// rootfs is the layer's tar: the distroless-style nonroot user, /tmp, and
// the binary. Fixed times and owners make it byte-for-byte reproducible.
func rootfs(entrypoint string, binary []byte, extra map[string][]byte) ([]byte, error) {
	epoch := time.Unix(0, 0).UTC()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: epoch, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, uid int, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)),
			Uid: uid, Gid: uid, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRootUID, NonRootUID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRootUID)
	steps := []func() error{
		func() error { return dir("etc", 0o755) },
		func() error { return file("etc/passwd", 0o644, 0, []byte(passwd)) },
		func() error { return file("etc/group", 0o644, 0, []byte(group)) },
		func() error { return dir("home", 0o755) },
		func() error {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "home/nonroot/", Mode: 0o700,
				Uid: NonRootUID, Gid: NonRootUID, ModTime: epoch, Format: tar.FormatPAX})
		},
		func() error { return dir("tmp", 0o1777) },
	}
	// Executables, each after its parent directories (once each).
	exes := map[string][]byte{entrypoint: binary}
	maps.Copy(exes, extra)
	made := map[string]bool{"etc": true, "home": true, "tmp": true}
	for _, path := range slices.Sorted(maps.Keys(exes)) {
		rel := filepath.Clean(path)[1:]
		var parents []string
		for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if !made[d] {
				made[d] = true
				steps = append(steps, func() error { return dir(d, 0o755) })
			}
		}
		data := exes[path]
		steps = append(steps, func() error { return file(rel, 0o755, 0, data) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tarDir writes dir's files into a tar at path (an OCI layout archive).
func tarDir(dir, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		f.Close()
		return err
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Apps are the images of the loopback platform: its sandbox (loopback/standins/pause),
// cluster DNS (loopback/cluster/coredns, package dns) and the project's three
// apps, as their Dockerfiles lay them out. The gpu-worker image also
// carries loopback/standins/nvidia-smi, a stand-in that says there is no GPU, where
// GKE's driver installer would mount the real one.
func Apps(project string) []Spec {
	return []Spec{
		{Name: "pause", Dir: filepath.Join(project, "loopback", "standins", "pause"), Entrypoint: "/pause"},
		{Name: "coredns", Dir: filepath.Join(project, "loopback", "cluster", "coredns"), Entrypoint: "/coredns", Port: 53},
		{Name: "frontend", Dir: filepath.Join(project, "apps", "frontend"), Entrypoint: "/app", Port: 8080, App: true},
		{Name: "backend", Dir: filepath.Join(project, "apps", "backend"), Entrypoint: "/app", Port: 8080, App: true},
		{Name: "gpu-worker", Dir: filepath.Join(project, "apps", "gpu-worker"), Entrypoint: "/worker",
			Env: []string{"NVIDIA_SMI=/usr/local/nvidia/bin/nvidia-smi"}, App: true},
		// The platform's own: the budget's spend guard.
		{Name: "spend-guard", Dir: filepath.Join(project, "apps", "spend-guard"), Entrypoint: "/spend-guard", App: true},
	}
}

// BuildApps builds every image of Apps into outDir, by name.
func BuildApps(ctx context.Context, project, outDir string) (map[string]Image, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	smiPath := filepath.Join(outDir, "nvidia-smi")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", smiPath, ".")
	cmd.Dir = filepath.Join(project, "loopback", "standins", "nvidia-smi")
	cmd.Env = append(os.Environ(), buildEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("images: go build loopback/standins/nvidia-smi: %w: %s", err, out)
	}
	smi, err := os.ReadFile(smiPath)
	if err != nil {
		return nil, err
	}
	built := map[string]Image{}
	for _, s := range Apps(project) {
		if s.Name == "gpu-worker" {
			s.Extra = map[string][]byte{"/usr/local/nvidia/bin/nvidia-smi": smi}
		}
		img, err := Build(ctx, s, outDir)
		if err != nil {
			return nil, err
		}
		built[s.Name] = img
	}
	return built, nil
}
