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

APPS := apps/backend apps/frontend apps/gpu-worker

.PHONY: test lint unit e2e tools policy-pack build cost preview up destroy local local-down check-pulumi

test: lint unit e2e

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...
	go vet -tags e2e ./test/e2e
	bash tools/build.sh actionlint
	$(TOOLS_BIN)/actionlint

unit:
	go test -count=1 ./...
	@for app in $(APPS); do (cd $$app && go vet ./... && go test -count=1 ./...) || exit 1; done

tools:
	bash tools/build.sh

policy-pack:
	go build -o bin/policy-pack ./policy

e2e: tools policy-pack
	go test -tags e2e -count=1 -v -timeout 30m ./test/e2e

build:
	go build -o bin/gke-gpu-platform .

# The first build compiles the Pulumi and Kubernetes SDKs (about 8 min on 2
# cores, cold): -v prints each package as it compiles, so the wait shows.
cost:
	@echo "cost: building cmd/cost (first build: about 8 min on 2 cores; packages print as they compile)"
	@go build -v -o bin/cost ./cmd/cost
	@bin/cost -stack $(STACK)

# Laptop flow: an official Pulumi CLI (it ships the Go language host), logged
# in to your backend, with Google credentials (gcloud auth application-default login).
check-pulumi:
	@v=$$(pulumi version 2>/dev/null); [ "$$v" = "$(PULUMI_VERSION)" ] || \
		echo "warning: pulumi $$v here, this repo is tested with $(PULUMI_VERSION) (curl -fsSL https://get.pulumi.com | sh -s -- --version $(PULUMI_VERSION:v%=%))"

# The budget and usage the pack enforces: policy/config/<stack>.json, the
# same file the workflows and Pulumi Deployments pass.
POLICY_CONFIG = $(if $(wildcard policy/config/$(STACK).json),--policy-pack-config policy/config/$(STACK).json)

preview: check-pulumi policy-pack
	pulumi preview --stack $(STACK) --diff --policy-pack bin/policy-pack $(POLICY_CONFIG)

up: check-pulumi policy-pack
	pulumi up --stack $(STACK) --policy-pack bin/policy-pack $(POLICY_CONFIG)

destroy: check-pulumi
	pulumi destroy --stack $(STACK)

local: tools
	@echo "local: building cmd/local (first build compiles the program and its SDKs: several minutes on 2 cores; packages print as they compile)"
	@go build -v -o bin/local ./cmd/local
	@bin/local up

local-down:
	@go build -o bin/local ./cmd/local
	@bin/local down
