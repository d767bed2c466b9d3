#!/usr/bin/env bash
# Builds the embedded database (FerretDB 1.24.2, SQLite backend) into .cache/bin/ferretdb from
# tools/ferretdb. Used by `npm run install:ferretdb` and by the test global setup.
#
# - Uses the committed go.sum (GOFLAGS=-mod=readonly is Go's default): the build never rewrites
#   go.mod/go.sum and fails loudly if a checksum is missing.
# - GOTOOLCHAIN=local: never download another Go toolchain behind the developer's back.
# - GOCACHE and GOMODCACHE are taken from the environment when set, so CI can cache them.
# - Skips the build when the binary is newer than go.mod, go.sum and every .go file.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src_dir="$repo_root/tools/ferretdb"
bin_dir="$repo_root/.cache/bin"
binary="$bin_dir/ferretdb"

up_to_date() {
  [[ -x "$binary" ]] || return 1
  local input
  for input in "$src_dir"/go.mod "$src_dir"/go.sum "$src_dir"/*.go; do
    [[ "$binary" -nt "$input" ]] || return 1
  done
}

if up_to_date; then
  echo "ferretdb: $binary is up to date."
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "ferretdb: Go is not installed: install Go >= 1.24 from https://go.dev/dl and rerun \`npm run install:ferretdb\`, or set MONGODB_URI to use an existing MongoDB." >&2
  exit 1
fi

export GOTOOLCHAIN=local

# go.mod says `go 1.24`; with GOTOOLCHAIN=local an older Go would fail with a less helpful message.
go_version="$(go env GOVERSION)" # e.g. go1.26.8, or devel ...
if [[ "$go_version" =~ ^go1\.([0-9]+) ]] && (( BASH_REMATCH[1] < 24 )); then
  echo "ferretdb: found $go_version but Go >= 1.24 is needed: install it from https://go.dev/dl and rerun \`npm run install:ferretdb\`, or set MONGODB_URI to use an existing MongoDB." >&2
  exit 1
fi

mkdir -p "$bin_dir"
echo "ferretdb: building $binary with $go_version (a clean build downloads modules and takes a minute or two)..."
started=$SECONDS
# Build to a temporary name and rename, so an interrupted build never leaves a truncated binary
# that the freshness check above would then accept.
tmp="$binary.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(cd "$src_dir" && go build -trimpath -buildvcs=false -o "$tmp" .)
mv -f "$tmp" "$binary"
echo "ferretdb: built $binary in $((SECONDS - started))s."
