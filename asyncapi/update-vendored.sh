#!/usr/bin/env bash
# Reproduces the files this module takes from the npm registry, checking
# each package against its recorded integrity:
#
#   assets/                   the AsyncAPI React component's standalone
#                             bundle and stylesheet, which GET /asyncapi serves
#   asyncapitest/schema/      the official AsyncAPI 3.0.0 JSON Schema
#
# Usage: ./update-vendored.sh (needs node and npm). To move to another
# version, change it and its integrity (npm view PKG@VERSION dist.integrity)
# below, run the script, and update the SHA-256 sums in the READMEs: the
# tests check them.
set -euo pipefail
cd "$(dirname "$0")"

REACT=@asyncapi/react-component@3.2.1
REACT_INTEGRITY=sha512-k5ZqJd6+oxYaQ2o6F3rGWJ1MTIjXdpsUYB3NKQbVqr4yzrN0Ovj5c7eZx8NGd3wfKPhbOrLREtYl9K2OPfnSsA==
SPECS=@asyncapi/specs@6.11.1
SPECS_INTEGRITY=sha512-A3WBLqAKGoJ2+6FWFtpjBlCQ1oFCcs4GxF7zsIGvNqp/klGUHjlA3aAcZ9XMMpLGE8zPeYDz2x9FmO6DSuKraQ==

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch SPEC INTEGRITY DIR: downloads the package tarball and unpacks it
# into $tmp/DIR.
fetch() {
  local spec=$1 want=$2 dir=$3 got file
  npm pack "$spec" --pack-destination "$tmp" --json --silent > "$tmp/pack.json"
  got=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1]))[0].integrity' "$tmp/pack.json")
  file=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1]))[0].filename' "$tmp/pack.json")
  if [ "$got" != "$want" ]; then
    echo "$spec: integrity $got, want $want" >&2
    exit 1
  fi
  mkdir -p "$tmp/$dir"
  tar xzf "$tmp/$file" -C "$tmp/$dir"
}

fetch "$REACT" "$REACT_INTEGRITY" react
cp "$tmp/react/package/browser/standalone/index.js" assets/asyncapi-standalone.js
cp "$tmp/react/package/browser/standalone/index.js.LICENSE.txt" assets/asyncapi-standalone.js.LICENSE.txt
cp "$tmp/react/package/styles/default.min.css" assets/asyncapi.min.css
cp "$tmp/react/package/LICENSE" assets/LICENSE

fetch "$SPECS" "$SPECS_INTEGRITY" specs
cp "$tmp/specs/package/schemas/3.0.0.json" asyncapitest/schema/asyncapi-3.0.0.json
cp "$tmp/specs/package/LICENSE" "$tmp/specs/package/NOTICE" asyncapitest/schema/

sha256sum assets/asyncapi-standalone.js assets/asyncapi.min.css asyncapitest/schema/asyncapi-3.0.0.json
