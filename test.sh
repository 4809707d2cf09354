#!/usr/bin/env bash
# Runs every test of every module in the repository: go vet, then
# go test -race. Extra arguments go to go test (e.g. -run TestEcho -v).
# Set WSAPI_CI=1 to make tests that need a missing service fail instead of skip.
#
# Each module is checked against the local checkout of the wsapi modules it
# requires and nothing else: the core with GOWORK=off, every other module in
# a workspace of its own, generated in a temporary directory, that uses it
# and the local modules its go.mod requires (see .ci/modules.sh). The
# repository's go.work is for working in the clone and plays no part
# here.
#
# WSAPI_MODULES="natsbroker redisbroker" limits the run to those modules.
set -euo pipefail
cd "$(dirname "$0")"
. .ci/modules.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
while IFS= read -r dir; do
  gowork=$(wsapi_gowork "$dir" "$tmp")
  echo "== $dir ($(wsapi_describe_gowork "$gowork"))"
  if ! (cd "$dir" && export GOWORK="$gowork" && go vet ./... && go test -race -count=1 "$@" ./...); then
    status=1
  fi
done < <(if [ -n "${WSAPI_MODULES:-}" ]; then printf '%s\n' $WSAPI_MODULES; else wsapi_modules; fi)
exit $status
