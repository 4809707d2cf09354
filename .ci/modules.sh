# Sourced by test.sh and the scripts of .ci/, from the repository root:
# the modules of the repository, and the workspaces they are checked in.
#
# Each module is built and tested against the local checkout of the wsapi
# modules it requires (read from its go.mod, transitively) and nothing
# else: a module that needs the core gets a workspace of itself and the
# core, so a change to the core is tested in every module that uses it,
# and a module cannot build by accident against a local module it does not
# require. The core requires no wsapi module: it runs with GOWORK=off.
#
# A workspace makes its modules the roots of the build, but the go command
# still reads the go.mod of every version that a go.mod requires, even of a
# module of the workspace (github.com/wsapi-go/wsapi v0.1.0, before it is
# published, cannot be read). So each workspace also replaces every version
# of a local module that its modules require by the local directory.

# The modules published, each with tags of its own (CONTRIBUTING.md): they
# must build outside the repository, so their go.mod has no replace
# directive and requires released versions of the wsapi modules.
# shellcheck disable=SC2034 # used by the scripts that source this file
WSAPI_PUBLISHED=(. asyncapi natsbroker otelwsapi redisbroker)

# wsapi_modules prints the directory of every module, relative to the
# root, one a line: "." first, then the others in order.
wsapi_modules() {
  echo .
  find . -name go.mod -not -path './.git/*' -not -path './go.mod' -not -path '*/node_modules/*' \
    | sed 's#^\./##; s#/go.mod$##' | LC_ALL=C sort
}

# wsapi_module_path DIR prints the module path declared in DIR/go.mod.
wsapi_module_path() {
  awk '$1 == "module" { print $2; exit }' "$1/go.mod"
}

# wsapi_module_dir PATH prints the directory of the module of the
# repository whose module path is PATH, or nothing.
wsapi_module_dir() {
  local dir
  while IFS= read -r dir; do
    if [ "$(wsapi_module_path "$dir")" = "$1" ]; then
      echo "$dir"
      return
    fi
  done < <(wsapi_modules)
}

# wsapi_requirements DIR prints "path version" for each requirement of
# DIR/go.mod on a module of the repository.
wsapi_requirements() {
  go mod edit -print "$1/go.mod" | awk '
    $1 == "require" && $2 == "(" { block = 1; next }
    block && $1 == ")" { block = 0; next }
    block { print $1, $2; next }
    $1 == "require" { print $2, $3 }
  ' | while read -r path version; do
    if [ -n "$(wsapi_module_dir "$path")" ]; then
      echo "$path $version"
    fi
  done
}

# wsapi_local_requires DIR prints the directories of the modules of the
# repository that DIR's module requires, directly or through another local
# module, one a line (DIR itself excluded).
wsapi_local_requires() {
  local start=$1 dir path version dep
  local -a queue=("$start")
  local -A seen=(["$start"]=1)
  while [ ${#queue[@]} -gt 0 ]; do
    dir=${queue[0]}
    queue=("${queue[@]:1}")
    while read -r path version; do
      dep=$(wsapi_module_dir "$path")
      if [ -z "${seen[$dep]:-}" ]; then
        seen[$dep]=1
        queue+=("$dep")
        echo "$dep"
      fi
    done < <(wsapi_requirements "$dir")
  done | LC_ALL=C sort
}

# wsapi_write_gowork FILE PREFIX DIR... writes the go.work FILE that uses
# the modules in the DIRs, each written PREFIX/DIR (PREFIX "." for a
# go.work at the root, an absolute path elsewhere), and replaces each
# version of a local module that they require by its directory.
wsapi_write_gowork() {
  local file prefix=$2 dir path version
  file="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" # GOWORK is absolute
  shift 2
  local -a use=() edits=()
  for dir in "$@"; do
    use+=("$(wsapi_join "$prefix" "$dir")")
    while read -r path version; do
      edits+=("-replace=$path@$version=$(wsapi_join "$prefix" "$(wsapi_module_dir "$path")")")
    done < <(wsapi_requirements "$dir")
  done
  rm -f "$file"
  GOWORK=$file go work init "${use[@]}"
  # The go version of the core, not the toolchain's, as in the go.mod files.
  edits+=("-go=$(awk '$1 == "go" { print $2; exit }' go.mod)")
  GOWORK=$file go work edit "${edits[@]}"
}

# wsapi_join PREFIX DIR prints PREFIX/DIR without a trailing "/.".
wsapi_join() {
  if [ "$2" = . ]; then echo "$1"; else echo "$1/$2"; fi
}

# wsapi_gowork DIR TMP prints the GOWORK value to check DIR's module with:
# "off" for a module that requires no local module, else a go.work written
# under the directory TMP that uses DIR and the local modules it requires.
wsapi_gowork() {
  local dir=$1 tmp=$2 file deps
  deps=$(wsapi_local_requires "$dir")
  if [ -z "$deps" ]; then
    echo off
    return
  fi
  file="$tmp/$(echo "$dir" | tr / _)/go.work"
  mkdir -p "$(dirname "$file")"
  # shellcheck disable=SC2086 # module directories have no spaces
  wsapi_write_gowork "$file" "$(pwd)" "$dir" $deps
  echo "$file"
}

# wsapi_describe_gowork GOWORK prints the modules a workspace uses, for
# the log.
wsapi_describe_gowork() {
  if [ "$1" = off ]; then
    echo "GOWORK=off"
    return
  fi
  local root
  root=$(pwd)
  echo "workspace: $(go work edit -json "$1" | sed -n 's/^[[:space:]]*"DiskPath": "\(.*\)",\{0,1\}$/\1/p' \
    | sed "s#^$root/##; s#^$root\$#.#" | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')"
}
