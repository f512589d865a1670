#!/usr/bin/env bash
# Prints, as GitHub step outputs, which mechanism deploys each stack
# (.ci/deployers) and the JSON list of stacks the workflows own:
#
#   dev=actions
#   prod=actions
#   pr=deployments
#   actions_stacks=["dev","prod"]
#
# Usage: .ci/route.sh [DEPLOYERS_FILE] >> "$GITHUB_OUTPUT"
set -euo pipefail
file=${1:-"$(dirname "$0")/deployers"}
declare -A seen=()
list=()
while read -r stack deployer rest; do
	[[ -z "$stack" || "$stack" == \#* ]] && continue
	if [[ -n "$rest" ]]; then
		echo "route.sh: $file: line for stack $stack has extra fields: $rest" >&2
		exit 1
	fi
	case "$deployer" in
	actions | deployments) ;;
	*)
		echo "route.sh: $file: stack $stack has deployer '${deployer}'; allowed: actions, deployments" >&2
		exit 1
		;;
	esac
	if [[ -n "${seen[$stack]:-}" ]]; then
		echo "route.sh: $file: stack $stack is listed twice; one deployer per stack" >&2
		exit 1
	fi
	seen[$stack]=$deployer
	echo "$stack=$deployer"
	[[ "$deployer" == actions ]] && list+=("\"$stack\"")
done <"$file"
(IFS=,; echo "actions_stacks=[${list[*]}]")
