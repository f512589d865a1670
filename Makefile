# gke-gpu-platform: every command a person or CI runs.
#   make test                 what CI runs: lint, unit tests, the real-engine e2e
#   make local / local-down   the apps on a loopback cluster, no Google account
#   make cost STACK=dev       the monthly estimate of a stack
#   make docs                 regenerate docs/config.md and Pulumi.yaml's config block
#   make bench / make fuzz    the enqueue path under load; the fuzz tests for FUZZTIME
#   make preview|up|destroy STACK=dev   Pulumi on a real Google project

STACK ?= dev
# Tools built from the Go module proxy by tools/build.sh (pulumi for the
# e2e, the Kubernetes provider, the control plane, kwok, actionlint).
TOOLS_BIN ?= $(CURDIR)/.tools/bin
export TOOLS_BIN
# Pinned tool versions (PULUMI_VERSION, KEDA_VERSION, ...): one file.
include tools/versions.env
# Every go command here (build, vet, test, and the e2e's own builds) compiles
# with -trimpath, as the Pulumi Go language host does
# (https://github.com/pulumi/pulumi/pull/23495): one set of flags gives one
# set of build-cache keys, so `make local`, `make test`, `make build` and the
# CLI's own build of the program share every compiled package.
export GOFLAGS := $(strip $(GOFLAGS) -trimpath)
# The program's build line (Pulumi Deployments' settings repeat it, checked
# by test/deployments): the language host's flags.
PROGRAM_BUILD := go build -buildvcs=false -trimpath -ldflags "-w -s"
# What `make local` needs besides the program's local driver (bin/local).
LOCAL_TOOLS := kubernetes-provider controlplane keda-crds pulumi redis fake-gcs-server
# The loopback cluster's nodes: simulated (kwok; no root) or real (root:
# kubelets over containerd, kube-proxy, cluster DNS, NetworkPolicy
# enforcement, the apps' own images). `make local NODES=real`.
NODES ?= simulated

APPS := apps/backend apps/frontend apps/gpu-worker apps/spend-guard

.PHONY: test lint docs unit e2e tools bench fuzz policy-pack build cost preview up destroy local local-tools local-down local-driver check-pulumi

test: lint unit e2e

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@echo "lint: compiling every library package first, so that vet and the tests find them built (cold: several minutes on 2 cores; packages print as they compile)"
	@# Not ./...: that would also link every main package (about 40 s warm) for nothing.
	go build -v $$(go list -f '{{if and (ne .Name "main") .GoFiles}}{{.ImportPath}}{{end}}' ./...)
	go vet ./...
	go vet -tags e2e ./test/e2e
	bash tools/build.sh actionlint shellcheck
	$(TOOLS_BIN)/actionlint
	shellcheck -x -P SCRIPTDIR $$(git ls-files '*.sh' .ci/run)

# The config reference and Pulumi.yaml's config block, from internal/config's
# doc comments and defaults (internal/config's tests fail when they are stale).
docs:
	go generate ./internal/config

# The queue's tests run a real redis-server (tools/build.sh installs it on
# Debian); the fuzz tests' seed corpora run as ordinary tests here.
unit:
	bash tools/build.sh redis
	go test -count=1 ./...
	@for app in $(APPS); do (cd $$app && go vet ./... && go test -count=1 ./...) || exit 1; done

tools:
	bash tools/build.sh

# The enqueue path under load (cmd/loadtest): the real backend on the real
# local queue at several concurrencies, beside redis-benchmark's XADD rate.
# A measurement, not a test; docs/timings.md records its figures.
bench:
	bash tools/build.sh redis
	go run ./cmd/loadtest -project .

# Each fuzz test for FUZZTIME (bad requests to the backend, bad stack
# config); `make unit` runs only their seeds.
FUZZTIME ?= 30s
fuzz:
	cd apps/backend && go test -run '^$$' -fuzz '^FuzzPostJob$$' -fuzztime $(FUZZTIME) . && go test -run '^$$' -fuzz '^FuzzJobPath$$' -fuzztime $(FUZZTIME) .
	go test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./internal/config

# -v: a first build compiles the Pulumi SDK for minutes; each package prints.
policy-pack:
	@echo "policy-pack: building bin/policy-pack (a first build compiles the Pulumi SDK: docs/timings.md; packages print as they compile)"
	@$(PROGRAM_BUILD) -v -o bin/policy-pack ./policy

e2e: tools policy-pack
	go test -tags e2e -count=1 -v -timeout 30m ./test/e2e

# The program, at Pulumi.yaml's buildTarget. The first build compiles the
# Pulumi, Kubernetes and Google SDKs (about 10 min on 2 cores, cold): -v
# prints each package as it compiles, so the wait shows.
build:
	@echo "build: compiling the program into bin/gke-gpu-platform (a first build compiles the Pulumi, Kubernetes and Google SDKs for minutes: docs/timings.md; packages print as they compile)"
	@$(PROGRAM_BUILD) -v -o bin/gke-gpu-platform .

cost:
	@echo "cost: building cmd/cost (no cloud SDK: a first build compiles the config and price packages; see docs/timings.md)"
	@$(PROGRAM_BUILD) -v -o bin/cost ./cmd/cost
	@bin/cost -stack $(STACK)

# Laptop flow: an official Pulumi CLI (it ships the Go language host), logged
# in to your backend, with Google credentials (gcloud auth application-default login).
check-pulumi:
	@v=$$(pulumi version 2>/dev/null); [ "$$v" = "v$(PULUMI_VERSION)" ] || \
		echo "warning: pulumi $$v here, this repo is tested with v$(PULUMI_VERSION) (curl -fsSL https://get.pulumi.com | sh -s -- --version $(PULUMI_VERSION))"

# The budget and usage the pack enforces: policy/config/<stack>.json, the
# same file the workflows and Pulumi Deployments pass.
POLICY_CONFIG = $(if $(wildcard policy/config/$(STACK).json),--policy-pack-config policy/config/$(STACK).json)

# `build` first: the CLI's own build of the program is then a cache hit.
preview: check-pulumi build policy-pack
	pulumi preview --stack $(STACK) --diff --policy-pack bin/policy-pack $(POLICY_CONFIG)

up: check-pulumi build policy-pack
	pulumi up --stack $(STACK) --policy-pack bin/policy-pack $(POLICY_CONFIG)

destroy: check-pulumi
	pulumi destroy --stack $(STACK)

# The tools and the program's local driver build side by side, two make jobs
# (tools/build.sh prints its plan first: what it found installed, what it
# builds, and why).
local:
	@$(MAKE) --no-print-directory -j2 local-tools local-driver
	@bin/local -nodes $(NODES) up

local-tools:
	@bash tools/build.sh $(LOCAL_TOOLS) $(if $(filter real,$(NODES)),nodeagents node)

local-down: local-driver
	@bin/local down

# bin/local, the program's local driver.
local-driver:
	@echo "local-driver: compiling bin/local (a first build compiles the Pulumi and Kubernetes SDKs: docs/timings.md; packages print as they compile)"
	@$(PROGRAM_BUILD) -v -o bin/local ./cmd/local
