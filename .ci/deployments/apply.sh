#!/usr/bin/env bash
# Writes a stack's Pulumi Deployments settings (push-to-deploy, PR previews,
# paths filter, pre-run build, GCP OIDC) from .ci/deployments/<stack>.json
# through the Deployments REST API. Run it from a laptop or CI, once per
# change to the JSON; not from the stack it configures.
#
#   PULUMI_ACCESS_TOKEN=... .ci/deployments/apply.sh ORG STACK [--dry-run]
#
# The pulumiservice provider's Go SDK (DeploymentSettings as code) is not
# available from the Go module proxy this project builds from, hence the API.
set -euo pipefail
org=${1:?usage: apply.sh ORG STACK [--dry-run]}
stack=${2:?usage: apply.sh ORG STACK [--dry-run]}
project=gke-gpu-platform
settings="$(dirname "$0")/$stack.json"
[[ -f "$settings" ]] || { echo "apply.sh: no settings for stack $stack ($settings)" >&2; exit 2; }
# The executor image's tag is the pinned CLI, from the one versions file.
# shellcheck source=../../tools/versions.env
source "$(dirname "$0")/../../tools/versions.env"
body="$(sed "s/\${PULUMI_VERSION}/$PULUMI_VERSION/g" "$settings")"
# One deployer per stack (.ci/deployers): never turn on Deployments' push or
# PR triggers for a stack the workflows deploy.
deployer=$(bash "$(dirname "$0")/../route.sh" | sed -n "s/^$stack=//p")
if [[ "$deployer" != deployments ]] && grep -Eq '"(deployCommits|previewPullRequests)": *true' <<<"$body"; then
	echo "apply.sh: $settings turns on Deployments triggers, but .ci/deployers gives $stack to '${deployer:-nobody}'" >&2
	exit 2
fi
url="${PULUMI_API:-https://api.pulumi.com}/api/stacks/$org/$project/$stack/deployments/settings"
if [[ "${3:-}" == "--dry-run" ]]; then
	echo "POST $url"
	echo "$body"
	exit 0
fi
: "${PULUMI_ACCESS_TOKEN:?set PULUMI_ACCESS_TOKEN}"
curl --fail-with-body -sS -X POST "$url" \
	-H "Authorization: token $PULUMI_ACCESS_TOKEN" \
	-H "Content-Type: application/json" \
	-H "Accept: application/vnd.pulumi+8" \
	--data-binary "$body"
echo
echo "deployment settings of $org/$project/$stack updated"
