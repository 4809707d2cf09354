#!/usr/bin/env bash
# Runs every test of every module in the repository: go vet, then
# go test -race. Extra arguments go to go test (e.g. -run TestEcho -v).
# Set WSAPI_CI=1 to make tests that need a missing service fail instead of skip.
set -euo pipefail
cd "$(dirname "$0")"
status=0
while IFS= read -r mod; do
  dir=$(dirname "$mod")
  echo "== $dir"
  if ! (cd "$dir" && GOWORK=off go vet ./... && GOWORK=off go test -race -count=1 "$@" ./...); then
    status=1
  fi
done < <(find . -name go.mod -not -path './.git/*' | sort)
exit $status
