# gke-gpu-platform: every command a person or CI runs.
#   make test                 what CI runs: lint, unit tests, the real-engine e2e
#   make local / local-down   the apps on a loopback cluster, no Google account
#   make cost STACK=dev       the monthly estimate of a stack
#   make preview|up|destroy STACK=dev   Pulumi on a real Google project

STACK ?= dev
# Tools built from the Go module proxy by tools/build.sh (pulumi for the
# e2e, the Kubernetes provider, the control plane, kwok, actionlint).
TOOLS_BIN ?= $(CURDIR)/.tools/bin
export TOOLS_BIN
# The CLI version this repo is tested with; laptops should match it.
PULUMI_VERSION := v3.274.1
# Every build of the program (and of its other mains) compiles the way the
# Pulumi Go language host does (pulumi/pulumi#23495): the same flags give
# the same build-cache keys, so `pulumi preview` after `make build` compiles
# nothing. Pulumi Deployments and the workflows use the same line.
PROGRAM_BUILD := go build -buildvcs=false -trimpath -ldflags "-w -s"
# What `make local` needs: the tools and the program's local driver.
LOCAL_TOOLS := kubernetes-provider controlplane keda-crds pulumi local redis
# The loopback cluster's nodes: simulated (kwok; no root) or real (root:
# kubelets over containerd, kube-proxy, cluster DNS, NetworkPolicy
# enforcement, the apps' own images). `make local NODES=real`.
NODES ?= simulated

APPS := apps/backend apps/frontend apps/gpu-worker

.PHONY: test lint unit e2e tools policy-pack build cost preview up destroy local local-down local-driver check-pulumi

test: lint unit e2e

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@echo "lint: compiling every library package first, so that vet and the tests find them built (cold: several minutes on 2 cores; packages print as they compile)"
	@# Not ./...: that would also link every main package (about 40 s warm) for nothing.
	go build -v $$(go list -f '{{if and (ne .Name "main") .GoFiles}}{{.ImportPath}}{{end}}' ./...)
	go vet ./...
	go vet -tags e2e ./test/e2e
	bash tools/build.sh actionlint
	$(TOOLS_BIN)/actionlint

unit:
	go test -count=1 ./...
	@for app in $(APPS); do (cd $$app && go vet ./... && go test -count=1 ./...) || exit 1; done

tools:
	bash tools/build.sh

# -v: a first build compiles the Pulumi SDK for minutes; each package prints.
policy-pack:
	@echo "policy-pack: building bin/policy-pack (first build: a few minutes on 2 cores; packages print as they compile)"
	@$(PROGRAM_BUILD) -v -o bin/policy-pack ./policy

e2e: tools policy-pack
	go test -tags e2e -count=1 -v -timeout 30m ./test/e2e

# The program, at Pulumi.yaml's buildTarget. The first build compiles the
# Pulumi, Kubernetes and Google SDKs (about 10 min on 2 cores, cold): -v
# prints each package as it compiles, so the wait shows.
build:
	@echo "build: compiling the program into bin/gke-gpu-platform (first build: about 10 min on 2 cores; packages print as they compile)"
	@$(PROGRAM_BUILD) -v -o bin/gke-gpu-platform .

cost:
	@echo "cost: building cmd/cost (first build: about 8 min on 2 cores; packages print as they compile)"
	@$(PROGRAM_BUILD) -v -o bin/cost ./cmd/cost
	@bin/cost -stack $(STACK)

# Laptop flow: an official Pulumi CLI (it ships the Go language host), logged
# in to your backend, with Google credentials (gcloud auth application-default login).
check-pulumi:
	@v=$$(pulumi version 2>/dev/null); [ "$$v" = "$(PULUMI_VERSION)" ] || \
		echo "warning: pulumi $$v here, this repo is tested with $(PULUMI_VERSION) (curl -fsSL https://get.pulumi.com | sh -s -- --version $(PULUMI_VERSION:v%=%))"

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

# The tools and the program's local driver build side by side (tools/build.sh
# prints its plan first: what it found installed, what it builds, and why).
local:
	@bash tools/build.sh $(LOCAL_TOOLS) $(if $(filter real,$(NODES)),nodeagents node)
	@bin/local -nodes $(NODES) up

local-down: local-driver
	@bin/local down

# bin/local, the program's local driver (tools/build.sh's `local` lane runs this).
local-driver:
	@$(PROGRAM_BUILD) -v -o bin/local ./cmd/local
