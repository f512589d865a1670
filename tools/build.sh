#!/usr/bin/env bash
# Builds the real-engine toolchain into $TOOLS_BIN (default .tools/bin), each
# tool only when it is missing or what it is built from changed. The tools
# and the Debian packages the project needs are the two tables below: one row
# each, everything the script knows about a tool. Versions come from
# tools/versions.env and the go.mod files; there is no download site for
# prebuilt binaries, so every tool is compiled from the Go module proxy.
#
# Why bash: it runs before any Go program of the project is built, needs
# nothing but go and coreutils, and shellcheck (in `make lint`) keeps it
# honest. The per-tool build steps are functions named build_<tool>.
#
# A Pulumi CLI on PATH at the pinned version, and the Kubernetes provider at
# the pinned version (or newer) in Pulumi's plugin cache, are used as they
# are, not rebuilt. Nothing depends on a warm module cache: every module is
# downloaded before its files are read.
#
# Usage: tools/build.sh [tool...]        build (all tools when none is named)
#        tools/build.sh plan [tool...]   say what is ready, found or to build, and why
#        tools/build.sh check TOOL...    exit 0 when every TOOL is ready or found
#        tools/build.sh resolve TOOL     download TOOL's source module, print its directory
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${TOOLS_BIN:-$root/.tools/bin}"
logs="$(dirname "$bin")/logs"
# Two builds at a time: each Go build already uses both cores while it
# compiles, but links run on one; overlapping them saves minutes cold.
jobs="${TOOLS_JOBS:-2}"

# shellcheck source=versions.env
source "$root/tools/versions.env"

# The tools, longest first (so two lanes finish close together):
#   name | module (dir under the root) | outputs in $bin | built after | sources (globs in the module; - for none)
# A tool's stamp hashes its module's go.mod and go.sum, its sources and
# tools/versions.env; the tool is fresh when the stamp and outputs match.
# Tools of one module build one after another ("built after"): building both
# at once would compile their shared packages twice.
tool_table='
kubernetes-provider | tools/kubernetes-provider | pulumi-resource-kubernetes |              | *.go
controlplane        | loopback/cluster          | controlplane etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwok-stages | | controlplane/*.go
keda                | loopback/cluster          | keda-operator keda-adapter | controlplane | -
nodeagents          | loopback/cluster          | nodeagents                 | controlplane | nodeagents/*.go
pulumi              | tools/pulumi              | pulumi                     |              | *.go
keda-crds           | loopback/cluster          | keda-crds                  |              | -
actionlint          | tools/actionlint          | actionlint                 |              | *.go
fake-gcs-server     | tools/fake-gcs-server     | fake-gcs-server            |              | *.go
'

# The Debian packages, installed (as root) when a command is missing:
#   name | commands or files that must exist | packages
package_table='
redis      | redis-server                                                                 | redis-server
node       | containerd ctr runc iptables /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback | containerd runc containernetworking-plugins iptables
shellcheck | shellcheck                                                                   | shellcheck
'

declare -A module outputs after sources needs packages
tools_all=()
while IFS='|' read -r name mod outs aft srcs; do
	name="$(xargs <<<"$name")"
	[[ -n $name ]] || continue
	tools_all+=("$name")
	module[$name]="$(xargs <<<"$mod")"
	outputs[$name]="$(xargs <<<"$outs")"
	after[$name]="$(xargs <<<"$aft")"
	sources[$name]="$(xargs <<<"$srcs")"
done <<<"$tool_table"
packages_all=()
while IFS='|' read -r name cmds pkgs; do
	name="$(xargs <<<"$name")"
	[[ -n $name ]] || continue
	packages_all+=("$name")
	needs[$name]="$(xargs <<<"$cmds")"
	packages[$name]="$(xargs <<<"$pkgs")"
done <<<"$package_table"

log() { printf '[tools] %s\n' "$*" >&2; }

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

# stamp TOOL: a hash of what the tool's build depends on.
stamp() {
	local d="$root/${module[$1]}" src=() g
	if [[ ${sources[$1]} != - ]]; then
		for g in ${sources[$1]}; do
			# shellcheck disable=SC2206 # the glob is the point
			src+=("$d"/$g)
		done
	fi
	{
		echo "$1"
		cat "$d/go.mod" "$d/go.sum" "${src[@]}" "$root/tools/versions.env" 2>/dev/null || true
	} | sha256sum | cut -c1-16
}

# fresh TOOL: true when every output exists and the stamp matches.
fresh() {
	local o
	for o in ${outputs[$1]}; do [[ -e "$bin/$o" ]] || return 1; done
	[[ -f "$bin/.$1.stamp" && "$(cat "$bin/.$1.stamp")" == "$(stamp "$1")" ]]
}

# installed TOOL: the path of a copy already on this machine that can be
# used as it is, or nothing.
installed() {
	case "$1" in
	pulumi)
		local p
		p="$(PATH="$(path_without_bin)" command -v pulumi 2>/dev/null)" || return 1
		[[ "$("$p" version 2>/dev/null)" == "v$PULUMI_VERSION" ]] && echo "$p"
		;;
	kubernetes-provider)
		# The plugin cache of an official CLI: the pinned version, or newer
		# (the program's SDK asks for a newer one anyway).
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

# why_not TOOL: why the tool is built rather than used as installed.
why_not() {
	case "$1" in
	pulumi)
		local p
		if p="$(PATH="$(path_without_bin)" command -v pulumi 2>/dev/null)"; then
			echo "the pulumi at $p is $("$p" version 2>/dev/null || echo '(no version)'), not v$PULUMI_VERSION"
		else
			echo "no pulumi on PATH"
		fi
		;;
	keda-crds) echo "copied from KEDA's module files" ;;
	kubernetes-provider) echo "no resource-kubernetes plugin >= v$KUBERNETES_PROVIDER_VERSION in ${PULUMI_HOME:-$HOME/.pulumi}/plugins" ;;
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

# Tools link without DWARF and symbol tables (-s -w): nobody debugs them,
# and the linker's time and memory on 100-400 MB binaries drop.
TOOL_LDFLAGS="-s -w"

build_pulumi() {
	cd "$root/tools/pulumi"
	go build -trimpath -ldflags "$TOOL_LDFLAGS -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
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
	go build -trimpath -ldflags "$TOOL_LDFLAGS -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION" \
		-o "$bin/pulumi-resource-kubernetes" .
}

# kubernetes_version_flags: the version stamp Kubernetes' own build sets
# (a kubelet reports it on its Node).
kubernetes_version_flags() {
	local v="k8s.io/component-base/version" kv="v$KUBERNETES_VERSION"
	echo "-X $v.gitVersion=$kv -X $v.gitMajor=$(cut -d. -f1 <<<"$KUBERNETES_VERSION") -X $v.gitMinor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")"
}

build_controlplane() {
	local dir="$root/loopback/cluster" src out
	# kwok runs only the stages it is given: its own node and pod lifecycles
	# ship in its module, as kwokctl hands them over.
	src="$(module_dir "$dir" sigs.k8s.io/kwok)"
	rm -rf "$bin/kwok-stages" && mkdir -p "$bin/kwok-stages"
	cp "$src"/kustomize/stage/node/fast/node-initialize.yaml "$src"/kustomize/stage/node/heartbeat/node-heartbeat.yaml \
		"$src"/kustomize/stage/pod/fast/pod-{ready,complete,delete}.yaml "$bin/kwok-stages/"
	chmod -R u+w "$bin/kwok-stages"
	cd "$dir"
	out="$(mktemp -d)"
	# One go command: kwok and the control plane share the Kubernetes libraries.
	go build -trimpath -ldflags "$TOOL_LDFLAGS $(kubernetes_version_flags)" -o "$out/" ./controlplane sigs.k8s.io/kwok/cmd/kwok
	mv "$out/controlplane" "$out/kwok" "$bin/"
	rmdir "$out"
	local n
	for n in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sf controlplane "$bin/$n"; done
}

# KEDA's CRDs come from its module's files, not from its build: `make local`
# applies them (and the stack's ScaledObjects) while the operator builds.
build_keda_crds() {
	local src
	src="$(module_dir "$root/loopback/cluster" github.com/kedacore/keda/v2)"
	rm -rf "$bin/keda-crds" && mkdir -p "$bin/keda-crds"
	cp "$src"/config/crd/bases/*.yaml "$bin/keda-crds/"
	chmod -R u+w "$bin/keda-crds"
}

# build_nodeagents: the real nodes' kubelet, kube-proxy and network policy
# enforcer, one binary (the e2e's real-node test).
build_nodeagents() {
	cd "$root/loopback/cluster"
	go build -trimpath -ldflags "$TOOL_LDFLAGS $(kubernetes_version_flags)" -o "$bin/nodeagents" ./nodeagents
}

build_keda() {
	local out
	cd "$root/loopback/cluster"
	out="$(mktemp -d)"
	# One go command for both: they share nearly every package.
	go build -trimpath -ldflags "$TOOL_LDFLAGS" -o "$out/" github.com/kedacore/keda/v2/cmd/operator github.com/kedacore/keda/v2/cmd/adapter
	mv "$out/operator" "$bin/keda-operator"
	mv "$out/adapter" "$bin/keda-adapter"
	rmdir "$out"
}

build_actionlint() {
	cd "$root/tools/actionlint"
	go build -trimpath -ldflags "$TOOL_LDFLAGS" -o "$bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint
}

build_fake_gcs_server() {
	cd "$root/tools/fake-gcs-server"
	go build -trimpath -ldflags "$TOOL_LDFLAGS" -o "$bin/fake-gcs-server" github.com/fsouza/fake-gcs-server
}

# ensure_package NAME: install a package_table row's packages (as root) when
# one of its commands or files is missing; elsewhere, say what to install.
ensure_package() {
	local n missing=0
	for n in ${needs[$1]}; do
		if [[ $n == /* ]]; then [[ -x $n ]] || missing=1; else command -v "$n" >/dev/null || missing=1; fi
	done
	[[ $missing == 1 ]] || return 0
	# shellcheck disable=SC2086 # one word per package
	set -- "$1" ${packages[$1]}
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		log "installing ${*:2} (Debian packages) for $1"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${@:2}" >/dev/null
		# Packages may start system services (redis, containerd): the
		# loopback platform runs its own.
		if command -v systemctl >/dev/null; then
			systemctl disable --now redis-server containerd >/dev/null 2>&1 || true
		fi
		return 0
	fi
	log "missing for $1: install ${*:2} (Debian/Ubuntu: sudo apt-get install ${*:2})"
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
				ln -sf "$p" "$bin/${outputs[$t]}"
				stamp "$t" >"$bin/.$t.stamp"
			fi
		else
			log "  $t: to build ($(why_not "$t")); a cold build takes minutes (docs/timings.md), seconds when Go's build cache has it"
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
	log "building ${todo[*]}, $jobs at a time; logs in $logs"

	local start=$SECONDS next_tick=$((SECONDS + 20)) status=0 t dep line
	local -A pid=() began=() done_=()
	local -a queue=("${todo[@]}") waiting
	for t in "$@"; do [[ " ${todo[*]} " == *" $t "* ]] || done_[$t]=1; done
	while [[ ${#queue[@]} -gt 0 || ${#pid[@]} -gt 0 ]]; do
		waiting=()
		while [[ ${#queue[@]} -gt 0 ]]; do
			t=${queue[0]}; queue=("${queue[@]:1}")
			dep=${after[$t]}
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
				stamp "$t" >"$bin/.$t.stamp"
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
			line=""
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
	echo "user $(to_seconds "$u") s + sys $(to_seconds "$s") s"
}

# to_seconds 1m2.5s: 63 (rounded).
to_seconds() {
	local m=${1%%m*} x=${1#*m}
	awk -v m="$m" -v x="${x%s}" 'BEGIN { printf "%.0f", m * 60 + x }'
}

is_tool() { [[ -n ${module[$1]:-} ]]; }
is_package() { [[ -n ${needs[$1]:-} ]]; }

case "${1:-}" in
resolve)
	case "${2:-}" in
	kubernetes-provider) module_dir "$root/tools/kubernetes-provider" github.com/pulumi/pulumi-kubernetes/provider/v4 ;;
	keda) module_dir "$root/loopback/cluster" github.com/kedacore/keda/v2 ;;
	*) log "resolve takes kubernetes-provider or keda"; exit 2 ;;
	esac
	exit 0
	;;
check)
	shift
	[[ $# -gt 0 ]] || { log "check takes one or more tools"; exit 2; }
	for t in "$@"; do
		is_tool "$t" || { log "unknown tool $t (${tools_all[*]})"; exit 2; }
		fresh "$t" || { p="$(installed "$t")" && [[ -n $p ]]; } || exit 1
	done
	exit 0
	;;
esac
dry_run=0
if [[ "${1:-}" == plan ]]; then
	dry_run=1
	shift
fi

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${tools_all[@]}" redis node)
build=()
for t in "${names[@]}"; do
	if is_package "$t"; then
		[[ $dry_run == 1 ]] || ensure_package "$t"
	elif is_tool "$t"; then
		build+=("$t")
	else
		log "unknown tool $t (${tools_all[*]} ${packages_all[*]})"
		exit 2
	fi
done
if [[ $dry_run == 1 ]]; then
	log "plan:"
	plan "${build[@]}"
	exit 0
fi
[[ ${#build[@]} -eq 0 ]] || run_builds "${build[@]}"
log "tools ready in $bin"
