#!/usr/bin/env bash
# Builds the real-engine toolchain into $TOOLS_BIN (default .tools/bin),
# each tool only when it is missing or its pinned module changed:
#   pulumi                      the Pulumi CLI            tools/pulumi
#   pulumi-resource-kubernetes  the Kubernetes provider   tools/kubernetes-provider
#   etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
#                               one multi-call binary     tools/controlplane
#   kwok                        simulated kubelets        tools/kwok
#   actionlint                  GitHub workflow linter    tools/actionlint
# Everything comes from the Go module proxy. Cold: about 13 min wall on 2
# cores (measured; see README Timings); warm: seconds. Usage: tools/build.sh [tool...]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${TOOLS_BIN:-$root/.tools/bin}"
mkdir -p "$bin"

# Versions: the single source of truth besides each tool's go.mod.
PULUMI_VERSION=v3.274.1
KUBERNETES_PROVIDER_VERSION=4.25.0 # provider/v4 at commit f47bc2d6f199 is tag v4.25.0

log() { printf '[tools] %s\n' "$*" >&2; }

# stamp NAME DIR: a hash of what the tool's build depends on: its module
# files, its Go files and the pinned versions above.
stamp() {
	{ cat "$2"/go.mod "$2"/go.sum "$2"/*.go 2>/dev/null; echo "$PULUMI_VERSION $KUBERNETES_PROVIDER_VERSION"; } | sha256sum | cut -c1-16
}

# fresh NAME DIR BINARY...: true when every binary exists and the stamp matches.
fresh() {
	local name=$1 dir=$2; shift 2
	local b
	for b in "$@"; do [[ -x "$bin/$b" ]] || return 1; done
	[[ -f "$bin/.$name.stamp" && "$(cat "$bin/.$name.stamp")" == "$(stamp "$name" "$dir")" ]]
}

mark() { stamp "$1" "$2" >"$bin/.$1.stamp"; }

timed() {
	local name=$1; shift
	local start=$SECONDS
	log "building $name ..."
	"$@"
	log "built $name in $((SECONDS - start)) s"
}

build_pulumi() {
	local dir="$root/tools/pulumi"
	fresh pulumi "$dir" pulumi && return 0
	timed pulumi bash -c "cd '$dir' && go build -trimpath \
		-ldflags '-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION' \
		-o '$bin/pulumi' github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	mark pulumi "$dir"
}

build_kubernetes_provider() {
	local dir="$root/tools/kubernetes-provider"
	fresh kubernetes-provider "$dir" pulumi-resource-kubernetes && return 0
	local src
	src="$(cd "$dir" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)"
	rm -rf "$dir/build" && mkdir -p "$dir/build"
	cp "$src"/cmd/pulumi-resource-kubernetes/{main.go,generate.go,schema.json,terraform-mapping.json} "$dir/build/"
	chmod -R u+w "$dir/build"
	# The zip ships schema.json; the binary embeds the versioned schema-embed.json.
	(cd "$dir/build" && VERSION="$KUBERNETES_PROVIDER_VERSION" go run generate.go >/dev/null)
	timed pulumi-resource-kubernetes bash -c "cd '$dir/build' && go build -trimpath \
		-ldflags '-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION' \
		-o '$bin/pulumi-resource-kubernetes' ."
	mark kubernetes-provider "$dir"
}

build_controlplane() {
	local dir="$root/tools/controlplane"
	local names=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)
	fresh controlplane "$dir" controlplane "${names[@]}" && return 0
	timed controlplane bash -c "cd '$dir' && go build -trimpath -o '$bin/controlplane' ."
	local n
	for n in "${names[@]}"; do ln -sf controlplane "$bin/$n"; done
	mark controlplane "$dir"
}

build_kwok() {
	local dir="$root/tools/kwok"
	fresh kwok "$dir" kwok && return 0
	timed kwok bash -c "cd '$dir' && go build -trimpath -o '$bin/kwok' sigs.k8s.io/kwok/cmd/kwok"
	mark kwok "$dir"
}

build_actionlint() {
	local dir="$root/tools/actionlint"
	fresh actionlint "$dir" actionlint && return 0
	timed actionlint bash -c "cd '$dir' && go build -trimpath -o '$bin/actionlint' github.com/rhysd/actionlint/cmd/actionlint"
	mark actionlint "$dir"
}

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=(pulumi kubernetes-provider controlplane kwok actionlint)
for t in "${tools[@]}"; do
	case "$t" in
	pulumi) build_pulumi ;;
	kubernetes-provider) build_kubernetes_provider ;;
	controlplane) build_controlplane ;;
	kwok) build_kwok ;;
	actionlint) build_actionlint ;;
	*) log "unknown tool $t (pulumi, kubernetes-provider, controlplane, kwok, actionlint)"; exit 2 ;;
	esac
done
log "tools ready in $bin"
