#!/usr/bin/env bash
# Builds the real-engine toolchain into $TOOLS_BIN (default .tools/bin), each
# tool only when it is missing or its pinned module changed:
#   pulumi                      the Pulumi CLI            tools/pulumi
#   pulumi-resource-kubernetes  the Kubernetes provider   tools/kubernetes-provider
#   etcd kube-apiserver kube-controller-manager kube-scheduler kubectl, kwok
#                               the loopback control plane (one multi-call
#                               binary) and simulated kubelets   tools/cluster
#   nodeagents                  the real nodes' host agents: kubelet,
#                               kube-proxy, kube-network-policies (one
#                               multi-call binary)               tools/cluster
#   keda-crds                   KEDA's CRDs, copied from its module (seconds)
#   keda-operator keda-adapter  KEDA, run as host processes      tools/cluster
#   actionlint                  GitHub workflow linter    tools/actionlint
# and makes sure redis-server (the local queue) and, for `node`, containerd,
# runc, iptables and the CNI plugins (the real nodes' runtime) exist: from
# the OS packages.
# The control plane, kwok and KEDA share one module (tools/cluster), so the
# Kubernetes libraries they all use compile once, at one version.
#
# A Pulumi CLI on PATH at the pinned version, and the Kubernetes provider at
# the pinned version (or newer) in Pulumi's plugin cache, are used as they
# are, not rebuilt. Everything else comes from the Go module proxy and is
# compiled here: there is no download site for prebuilt binaries. Nothing
# depends on a warm module cache: every module is downloaded before its files
# are read.
#
# Usage: tools/build.sh [tool...]        build (all tools when none is named)
#        tools/build.sh plan [tool...]   say what is ready, found or to build, and why
#        tools/build.sh check TOOL...    exit 0 when every TOOL is ready or found
#        tools/build.sh resolve TOOL     download TOOL's source module, print its directory
#
# `local` is the program's own local driver (bin/local): naming it builds it
# as one more lane, beside the tools, through `make local-driver`: the
# Makefile's PROGRAM_BUILD holds the flags every build of the program uses.
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

# Cold build time per tool, two at a time, measured on the project's 2-core
# machine with empty Go caches (README Timings, 2026-11-30; controlplane
# before the kubelet joined it); only used to say what is coming.
cold_estimate() {
	case "$1" in
	pulumi) echo "~7 min" ;;
	kubernetes-provider) echo "~17 min" ;;
	controlplane) echo "~14 min" ;;
	keda) echo "~7 min after controlplane" ;;
	keda-crds) echo "~5 s" ;;
	nodeagents) echo "~2 min after controlplane" ;;
	actionlint) echo "~10 s" ;;
	local) echo "~16 min beside controlplane" ;;
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

# moddir TOOL: the module a tool builds from.
moddir() {
	case "$1" in
	controlplane | keda | keda-crds | nodeagents) echo "$root/tools/cluster" ;;
	local) echo "$root" ;;
	*) echo "$root/tools/$1" ;;
	esac
}

# stamp TOOL: a hash of what the tool's build depends on: its module files,
# its Go files and the pinned versions above.
stamp() {
	local d src; d="$(moddir "$1")"
	# KEDA builds only from tools/cluster's go.mod: the control plane's own
	# main is not its source (an edit there must not rebuild KEDA).
	case "$1" in
	keda | keda-crds) src=() ;;
	controlplane) src=("$d"/controlplane/*.go) ;;
	nodeagents) src=("$d"/nodeagents/*.go) ;;
	*) src=("$d"/*.go "$d"/*/*.go) ;;
	esac
	{ echo "$1"; cat "$d"/go.mod "$d"/go.sum "${src[@]}" 2>/dev/null || true; echo "$PULUMI_VERSION $KUBERNETES_PROVIDER_VERSION"; } | sha256sum | cut -c1-16
}

# outputs TOOL: what the tool puts in $bin.
outputs() {
	case "$1" in
	pulumi) echo pulumi ;;
	kubernetes-provider) echo pulumi-resource-kubernetes ;;
	controlplane) echo controlplane etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwok-stages ;;
	nodeagents) echo nodeagents ;;
	keda) echo keda-operator keda-adapter ;;
	keda-crds) echo keda-crds ;;
	actionlint) echo actionlint ;;
	esac
}

# fresh TOOL: true when every output exists and the stamp matches. The
# program (local) is never fresh: go build itself knows what changed.
fresh() {
	local o
	[[ $1 != local ]] || return 1
	for o in $(outputs "$1"); do [[ -e "$bin/$o" ]] || return 1; done
	[[ -f "$bin/.$1.stamp" && "$(cat "$bin/.$1.stamp")" == "$(stamp "$1")" ]]
}

# after TOOL: the tool that must be built first (same module: building both
# at once would compile their shared packages twice).
after() {
	case "$1" in
	keda | nodeagents) echo controlplane ;;
	esac
}

# installed TOOL: the path of a copy already on this machine that can be
# used as it is, or nothing. Why not, on stdout of `why_not`.
installed() {
	case "$1" in
	pulumi)
		local p
		p="$(PATH="$(path_without_bin)" command -v pulumi 2>/dev/null)" || return 1
		[[ "$("$p" version 2>/dev/null)" == "$PULUMI_VERSION" ]] && echo "$p"
		;;
	kubernetes-provider)
		# The plugin cache of an official CLI: the pinned version, or newer
		# (the program's SDK, v4.32.0, asks for >= 4.32.0 anyway).
		local home="${PULUMI_HOME:-$HOME/.pulumi}" d v best=""
		for d in "$home"/plugins/resource-kubernetes-v*/; do
			[[ -x "$d/pulumi-resource-kubernetes" ]] || continue
			v="${d%/}"; v="${v##*-v}"
			if version_ge "$v" "$KUBERNETES_PROVIDER_VERSION" && { [[ -z $best ]] || version_ge "$v" "${best##*-v}"; }; then
				best="${d%/}"
			fi
		done
		[[ -n $best ]] && echo "$best/pulumi-resource-kubernetes"
		;;
	*) return 1 ;;
	esac
}

why_not() {
	case "$1" in
	pulumi)
		local p
		if p="$(PATH="$(path_without_bin)" command -v pulumi 2>/dev/null)"; then
			echo "the pulumi at $p is $("$p" version 2>/dev/null || echo '(no version)'), not $PULUMI_VERSION"
		else
			echo "no pulumi on PATH"
		fi
		;;
	keda-crds) echo "copied from KEDA's module files" ;;
	kubernetes-provider) echo "no resource-kubernetes plugin >= v$KUBERNETES_PROVIDER_VERSION in ${PULUMI_HOME:-$HOME/.pulumi}/plugins" ;;
	local) echo "the program: go build compiles only what changed" ;;
	*) echo "built from the Go module proxy" ;;
	esac
}

# version_ge A B: semantic version A >= B (x.y.z, no pre-release).
version_ge() {
	[[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n1)" == "$1" ]]
}

# path_without_bin: PATH without $bin, so an installed copy is never our own link.
path_without_bin() {
	local out="" d
	local IFS=:
	for d in $PATH; do [[ "$d" == "$bin" ]] || out+="${out:+:}$d"; done
	echo "$out"
}

build_pulumi() {
	cd "$root/tools/pulumi"
	go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
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
	go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION" \
		-o "$bin/pulumi-resource-kubernetes" .
}

# Tools link without DWARF and symbol tables (-s -w): nobody debugs them,
# and the linker's time and memory on 100-400 MB binaries drop.
TOOL_BUILD_FLAGS=(-trimpath -ldflags "-s -w")

build_controlplane() {
	local dir="$root/tools/cluster" src
	# kwok (v0.8) runs only the stages it is given: its own node and pod
	# lifecycles ship in its module, as kwokctl hands them over.
	src="$(module_dir "$dir" sigs.k8s.io/kwok)"
	rm -rf "$bin/kwok-stages" && mkdir -p "$bin/kwok-stages"
	cp "$src"/kustomize/stage/node/fast/node-initialize.yaml "$src"/kustomize/stage/node/heartbeat/node-heartbeat.yaml \
		"$src"/kustomize/stage/pod/fast/pod-{ready,complete,delete}.yaml "$bin/kwok-stages/"
	chmod -R u+w "$bin/kwok-stages"
	cd "$dir"
	local out; out="$(mktemp -d)"
	# One go command: kwok and the control plane share the Kubernetes libraries.
	go build -trimpath -ldflags "-s -w $(kubernetes_version_flags)" -o "$out/" ./controlplane sigs.k8s.io/kwok/cmd/kwok
	mv "$out/controlplane" "$out/kwok" "$bin/"
	rmdir "$out"
	local n
	for n in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sf controlplane "$bin/$n"; done
}

# KEDA's CRDs come from its module's files, not from its build: `make local`
# applies them (and the stack's ScaledObjects) while the operator builds.
build_keda_crds() {
	local src
	src="$(module_dir "$root/tools/cluster" github.com/kedacore/keda/v2)"
	rm -rf "$bin/keda-crds" && mkdir -p "$bin/keda-crds"
	cp "$src"/config/crd/bases/*.yaml "$bin/keda-crds/"
	chmod -R u+w "$bin/keda-crds"
}

# kubernetes_version_flags: the version stamp Kubernetes' own build sets
# (a kubelet reports it on its Node), from the pinned k8s.io/kubernetes.
kubernetes_version_flags() {
	local kv v="k8s.io/component-base/version"
	kv="$(cd "$root/tools/cluster" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
	echo "-X $v.gitVersion=$kv -X $v.gitMajor=$(cut -d. -f1 <<<"${kv#v}") -X $v.gitMinor=$(cut -d. -f2 <<<"$kv")"
}

# build_nodeagents: the real nodes' kubelet, kube-proxy and network policy
# enforcer, one binary (the e2e's real-node test).
build_nodeagents() {
	cd "$root/tools/cluster"
	go build -trimpath -ldflags "-s -w $(kubernetes_version_flags)" -o "$bin/nodeagents" ./nodeagents
}

build_keda() {
	local dir="$root/tools/cluster"
	cd "$dir"
	# One go command for both: they share nearly every package.
	local out; out="$(mktemp -d)"
	go build "${TOOL_BUILD_FLAGS[@]}" -o "$out/" github.com/kedacore/keda/v2/cmd/operator github.com/kedacore/keda/v2/cmd/adapter
	mv "$out/operator" "$bin/keda-operator"
	mv "$out/adapter" "$bin/keda-adapter"
	rmdir "$out"
}

build_actionlint() {
	cd "$root/tools/actionlint"
	go build "${TOOL_BUILD_FLAGS[@]}" -o "$bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint
}

# build_local: the program's local driver, the way the Makefile builds
# every main of the program (its PROGRAM_BUILD flags, -v).
build_local() {
	make -s --no-print-directory -C "$root" local-driver
}

# ensure_packages WHAT PACKAGE...: install Debian packages (as root) when
# their commands are missing; elsewhere, say what to install.
ensure_packages() {
	local what=$1; shift
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		log "installing $* (Debian packages) for $what"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
		return 0
	fi
	log "missing for $what: install $* (Debian/Ubuntu: sudo apt-get install $*)"
	return 1
}

# ensure_node: a real node's runtime: containerd (with ctr), runc, the CNI
# plugins (bridge, host-local, loopback) and iptables, from Debian.
ensure_node() {
	if command -v containerd >/dev/null && command -v ctr >/dev/null && command -v runc >/dev/null &&
		command -v iptables >/dev/null && [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]]; then
		return 0
	fi
	ensure_packages "the real nodes" containerd runc containernetworking-plugins iptables || return 1
	# The package may start a system containerd; each node runs its own.
	command -v systemctl >/dev/null && systemctl disable --now containerd >/dev/null 2>&1 || true
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

# plan TOOL...: one line per tool: ready, found (used as installed), or built
# (and why). Sets the global todo to what must be built; links found copies.
plan() {
	local t p
	todo=()
	for t in "$@"; do
		if fresh "$t"; then
			log "  $t: ready in $bin"
		elif p="$(installed "$t")" && [[ -n $p ]]; then
			log "  $t: found $p, using it as it is"
			if [[ ${dry_run:-} != 1 ]]; then
				mkdir -p "$bin"
				ln -sf "$p" "$bin/$(outputs "$t")"
				stamp "$t" >"$bin/.$t.stamp"
			fi
		else
			log "  $t: to build ($(why_not "$t")); cold $(cold_estimate "$t") on 2 cores, seconds when Go's build cache has it"
			todo+=("$t")
		fi
	done
}

# run_builds TOOL...: build the stale tools, $jobs at a time (a tool waits
# for the one it comes after), printing elapsed time every 20 s and each
# tool's CPU seconds when it ends; on a failure, show the end of that tool's
# log and stop.
run_builds() {
	log "plan:"
	plan "$@"
	[[ ${#todo[@]} -gt 0 ]] || return 0
	mkdir -p "$bin" "$logs"
	log "building ${todo[*]}, $jobs at a time; logs in $logs. Cold times as planned above"
	log "(README Timings); later runs take seconds."

	local start=$SECONDS next_tick=$((SECONDS + 20)) status=0 t
	local -A pid=() began=() done_=()
	local -a queue=("${todo[@]}")
	for t in "$@"; do [[ " ${todo[*]} " == *" $t "* ]] || done_[$t]=1; done
	while [[ ${#queue[@]} -gt 0 || ${#pid[@]} -gt 0 ]]; do
		local -a waiting=()
		while [[ ${#queue[@]} -gt 0 ]]; do
			t=${queue[0]}; queue=("${queue[@]:1}")
			local dep; dep="$(after "$t")"
			if [[ ${#pid[@]} -ge $jobs || $status -ne 0 || ( -n $dep && " ${todo[*]} " == *" $dep "* && -z ${done_[$dep]:-} ) ]]; then
				waiting+=("$t")
				continue
			fi
			log "building $t ..."
			# `times` (the subshell's children's CPU) ends up in the .cpu file.
			( "build_${t//-/_}" >"$logs/$t.log" 2>&1; rc=$?; times >"$logs/$t.cpu"; exit $rc ) &
			pid[$t]=$!; began[$t]=$SECONDS
		done
		queue=("${waiting[@]}")
		[[ $status -ne 0 ]] && queue=()
		sleep 1
		for t in "${!pid[@]}"; do
			kill -0 "${pid[$t]}" 2>/dev/null && continue
			if wait "${pid[$t]}"; then
				[[ $t == local ]] || stamp "$t" >"$bin/.$t.stamp"
				done_[$t]=1
				log "built $t in $((SECONDS - began[$t])) s wall, CPU $(cpu_of "$t")"
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
			[[ ${#queue[@]} -eq 0 ]] || line+="; next: ${queue[*]}"
			log "still building:$line (total $((SECONDS - start)) s)"
			next_tick=$((SECONDS + 20))
		fi
	done
	return $status
}

# cpu_of TOOL: "user U s + sys S s" from the children's line `times` wrote
# (its second: "0m12.3s 0m1.2s").
cpu_of() {
	local u s
	{ read -r _ && read -r u s; } <"$logs/$1.cpu" 2>/dev/null || { echo "?"; return; }
	to_s() { local m=${1%%m*} x=${1#*m}; x=${x%s}; awk -v m="$m" -v x="$x" 'BEGIN { printf "%.0f", m * 60 + x }'; }
	echo "user $(to_s "$u") s + sys $(to_s "$s") s"
}

# Longest first, so two lanes finish close together; keda waits for
# controlplane (one module), and `local`, when named, runs as a lane too.
all=(kubernetes-provider controlplane keda nodeagents pulumi keda-crds actionlint)
known=("${all[@]}" local redis node)

if [[ "${1:-}" == resolve ]]; then
	case "${2:-}" in
	kubernetes-provider) module_dir "$root/tools/kubernetes-provider" github.com/pulumi/pulumi-kubernetes/provider/v4 ;;
	keda) module_dir "$root/tools/cluster" github.com/kedacore/keda/v2 ;;
	*) log "resolve takes kubernetes-provider or keda"; exit 2 ;;
	esac
	exit 0
fi
if [[ "${1:-}" == check ]]; then
	shift
	[[ $# -gt 0 ]] || { log "check takes one or more tools"; exit 2; }
	for t in "$@"; do
		fresh "$t" || { p="$(installed "$t")" && [[ -n $p ]]; } || exit 1
	done
	exit 0
fi
dry_run=0
if [[ "${1:-}" == plan ]]; then
	dry_run=1
	shift
fi

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=("${all[@]}" redis node)
build=()
for t in "${tools[@]}"; do
	case " ${known[*]} " in
	*" $t "*) ;;
	*) log "unknown tool $t (${known[*]})"; exit 2 ;;
	esac
	if [[ $t == redis ]]; then
		[[ $dry_run == 1 ]] || ensure_redis
	elif [[ $t == node ]]; then
		[[ $dry_run == 1 ]] || ensure_node
	else
		build+=("$t")
	fi
done
if [[ $dry_run == 1 ]]; then
	log "plan:"
	plan "${build[@]}"
	exit 0
fi
[[ ${#build[@]} -eq 0 ]] || run_builds "${build[@]}"
log "tools ready in $bin"
