#!/usr/bin/env bash
# Builds the real-engine toolchain into $TOOLS_BIN (default .tools/bin), each
# tool only when it is missing or its pinned module changed:
#   pulumi                      the Pulumi CLI            tools/pulumi
#   pulumi-resource-kubernetes  the Kubernetes provider   tools/kubernetes-provider
#   etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
#                               one multi-call binary     tools/controlplane
#   kwok                        simulated kubelets        tools/kwok
#   keda-operator keda-adapter (+ CRDs)
#                               KEDA, run as host processes   tools/keda
#   actionlint                  GitHub workflow linter    tools/actionlint
# and makes sure redis-server (the local queue, from the OS packages) exists.
#
# Everything comes from the Go module proxy and is compiled here: there is no
# download site for prebuilt binaries. Nothing depends on a warm module cache:
# every module is downloaded before its files are read.
#
# Usage: tools/build.sh [tool...]        build (all tools when none is named)
#        tools/build.sh resolve TOOL     download TOOL's source module, print its directory
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${TOOLS_BIN:-$root/.tools/bin}"
logs="$(dirname "$bin")/logs"
# Two builds at a time: each Go build already uses both cores while it
# compiles, but links run on one; overlapping them saves minutes cold.
jobs="${TOOLS_JOBS:-2}"

# Versions: the single source of truth besides each tool's go.mod.
PULUMI_VERSION=v3.274.1
KUBERNETES_PROVIDER_VERSION=4.25.0 # provider/v4 at commit f47bc2d6f199 is tag v4.25.0

log() { printf '[tools] %s\n' "$*" >&2; }

# Cold build time per tool, measured on the project's 2-core machine with
# empty Go caches (README Timings); only used to say what is coming.
cold_estimate() {
	case "$1" in
	pulumi) echo "~6 min" ;;
	kubernetes-provider) echo "~16 min" ;;
	controlplane) echo "~9 min" ;;
	kwok) echo "~2 min" ;;
	keda) echo "~16 min" ;;
	actionlint) echo "~10 s" ;;
	esac
}

# module_dir DIR MODULE: download MODULE at the version DIR's go.mod pins and
# print where its files are. `go list -m -f {{.Dir}}` would print an empty
# line on a cold module cache; `go mod download -json` fetches first.
module_dir() {
	local json dir
	json="$(cd "$1" && go mod download -json "$2")" || { log "cannot download $2 (pinned in $1/go.mod)"; return 1; }
	dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
	if [[ -z "$dir" || ! -d "$dir" ]]; then
		log "go mod download $2 gave no directory: $json"
		return 1
	fi
	echo "$dir"
}

# stamp DIR: a hash of what the tool's build depends on: its module files,
# its Go files and the pinned versions above.
stamp() {
	{ cat "$1"/go.mod "$1"/go.sum "$1"/*.go 2>/dev/null; echo "$PULUMI_VERSION $KUBERNETES_PROVIDER_VERSION"; } | sha256sum | cut -c1-16
}

# outputs TOOL: what the tool puts in $bin.
outputs() {
	case "$1" in
	pulumi) echo pulumi ;;
	kubernetes-provider) echo pulumi-resource-kubernetes ;;
	controlplane) echo controlplane etcd kube-apiserver kube-controller-manager kube-scheduler kubectl ;;
	kwok) echo kwok ;;
	keda) echo keda-operator keda-adapter keda-crds ;;
	actionlint) echo actionlint ;;
	esac
}

# fresh TOOL: true when every output exists and the stamp matches.
fresh() {
	local o
	for o in $(outputs "$1"); do [[ -e "$bin/$o" ]] || return 1; done
	[[ -f "$bin/.$1.stamp" && "$(cat "$bin/.$1.stamp")" == "$(stamp "$root/tools/$1")" ]]
}

build_pulumi() {
	cd "$root/tools/pulumi"
	go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
		-o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_kubernetes_provider() {
	local dir="$root/tools/kubernetes-provider" src
	src="$(module_dir "$dir" github.com/pulumi/pulumi-kubernetes/provider/v4)"
	rm -rf "$dir/build" && mkdir -p "$dir/build"
	cp "$src"/cmd/pulumi-resource-kubernetes/{main.go,generate.go,schema.json,terraform-mapping.json} "$dir/build/"
	chmod -R u+w "$dir/build"
	cd "$dir/build"
	# The zip ships schema.json; the binary embeds the versioned schema-embed.json.
	VERSION="$KUBERNETES_PROVIDER_VERSION" go run generate.go >/dev/null
	go build -trimpath -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION" \
		-o "$bin/pulumi-resource-kubernetes" .
}

build_controlplane() {
	cd "$root/tools/controlplane"
	go build -trimpath -o "$bin/controlplane" .
	local n
	for n in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sf controlplane "$bin/$n"; done
}

build_kwok() {
	cd "$root/tools/kwok"
	go build -trimpath -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok
}

build_keda() {
	local dir="$root/tools/keda" src
	src="$(module_dir "$dir" github.com/kedacore/keda/v2)"
	rm -rf "$bin/keda-crds" && mkdir -p "$bin/keda-crds"
	cp "$src"/config/crd/bases/*.yaml "$bin/keda-crds/"
	chmod -R u+w "$bin/keda-crds"
	cd "$dir"
	# One go command for both: they share nearly every package.
	local out; out="$(mktemp -d)"
	go build -trimpath -o "$out/" github.com/kedacore/keda/v2/cmd/operator github.com/kedacore/keda/v2/cmd/adapter
	mv "$out/operator" "$bin/keda-operator"
	mv "$out/adapter" "$bin/keda-adapter"
	rmdir "$out"
}

build_actionlint() {
	cd "$root/tools/actionlint"
	go build -trimpath -o "$bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint
}

# ensure_redis: the local queue is a real Redis from the OS packages.
ensure_redis() {
	command -v redis-server >/dev/null && return 0
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		log "installing redis-server (Debian package) for the local queue"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
		# The package starts a system service on 6379; the harness runs its own.
		command -v systemctl >/dev/null && systemctl disable --now redis-server >/dev/null 2>&1 || true
		return 0
	fi
	log "redis-server is missing: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)"
	return 1
}

# run_builds TOOL...: build the stale tools, $jobs at a time, printing elapsed
# time every 30 s; on a failure, show the end of that tool's log and stop.
run_builds() {
	local -a todo=() ; local t
	for t in "$@"; do fresh "$t" || todo+=("$t"); done
	[[ ${#todo[@]} -gt 0 ]] || return 0
	mkdir -p "$bin" "$logs"
	log "building ${todo[*]} from source (Go module proxy; no prebuilt downloads here), $jobs at a time."
	for t in "${todo[@]}"; do log "  $t: cold $(cold_estimate "$t") on 2 cores; log $logs/$t.log"; done
	log "a first build on an empty Go cache takes about 25-30 min in all; later runs take seconds."

	local start=$SECONDS next_tick=$((SECONDS + 30)) status=0
	local -A pid=() began=()
	local -a queue=("${todo[@]}")
	while [[ ${#queue[@]} -gt 0 || ${#pid[@]} -gt 0 ]]; do
		while [[ ${#queue[@]} -gt 0 && ${#pid[@]} -lt $jobs && $status -eq 0 ]]; do
			t=${queue[0]}; queue=("${queue[@]:1}")
			log "building $t ..."
			( "build_${t//-/_}" ) >"$logs/$t.log" 2>&1 &
			pid[$t]=$!; began[$t]=$SECONDS
		done
		[[ $status -ne 0 ]] && queue=()
		sleep 1
		for t in "${!pid[@]}"; do
			kill -0 "${pid[$t]}" 2>/dev/null && continue
			if wait "${pid[$t]}"; then
				stamp "$root/tools/$t" >"$bin/.$t.stamp"
				log "built $t in $((SECONDS - began[$t])) s"
			else
				log "FAILED to build $t after $((SECONDS - began[$t])) s; end of $logs/$t.log:"
				tail -n 30 "$logs/$t.log" >&2
				status=1
			fi
			unset "pid[$t]"
		done
		if [[ $SECONDS -ge $next_tick && ${#pid[@]} -gt 0 ]]; then
			local line="" 
			for t in "${!pid[@]}"; do line+=" $t $((SECONDS - began[$t]))s"; done
			log "still building:$line (total $((SECONDS - start)) s)"
			next_tick=$((SECONDS + 30))
		fi
	done
	return $status
}

# Longest first, so two lanes finish close together.
all=(keda kubernetes-provider controlplane pulumi kwok actionlint)

if [[ "${1:-}" == resolve ]]; then
	case "${2:-}" in
	kubernetes-provider) module_dir "$root/tools/kubernetes-provider" github.com/pulumi/pulumi-kubernetes/provider/v4 ;;
	keda) module_dir "$root/tools/keda" github.com/kedacore/keda/v2 ;;
	*) log "resolve takes kubernetes-provider or keda"; exit 2 ;;
	esac
	exit 0
fi

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=("${all[@]}" redis)
build=()
for t in "${tools[@]}"; do
	case " ${all[*]} redis " in
	*" $t "*) ;;
	*) log "unknown tool $t (${all[*]} redis)"; exit 2 ;;
	esac
	if [[ $t == redis ]]; then ensure_redis; else build+=("$t"); fi
done
[[ ${#build[@]} -eq 0 ]] || run_builds "${build[@]}"
log "tools ready in $bin"
