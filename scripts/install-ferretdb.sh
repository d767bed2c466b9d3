#!/usr/bin/env bash
# Builds the embedded database (FerretDB 1.24.2, SQLite backend, with CaseBridge's patch) into
# .cache/bin/ferretdb from tools/ferretdb. Used by `npm run install:ferretdb` and by the test
# global setup.
#
# The patch (tools/ferretdb/patches/casebridge-pushdown.patch) makes the SQLite backend answer
# CaseBridge's search conditions from indexes (docs/storage.md). It is applied to a copy of the
# pinned module under .cache/ferretdb/FerretDB, which tools/ferretdb/go.mod points at with a
# replace directive (go build -overlay refuses files under GOMODCACHE). The build stops, loudly,
# when the pinned source is not the one the patch was written for (patches/pristine.sha256) or
# when the patch does not apply exactly.
#
# - Uses the committed go.sum (GOFLAGS=-mod=readonly is Go's default): the build never rewrites
#   go.mod/go.sum and fails loudly if a checksum is missing.
# - GOTOOLCHAIN=local: never download another Go toolchain behind the developer's back.
# - GOCACHE and GOMODCACHE are taken from the environment when set, so CI can cache them.
# - Skips the build when the binary is newer than go.mod, go.sum, every .go file and the patch.
#
# To change the patch: edit .cache/ferretdb/FerretDB, then run this script with --write-patch,
# which rewrites patches/casebridge-pushdown.patch and patches/pristine.sha256 from that copy.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src_dir="$repo_root/tools/ferretdb"
patch_file="$src_dir/patches/casebridge-pushdown.patch"
sums_file="$src_dir/patches/pristine.sha256"
module="github.com/FerretDB/FerretDB"
version="v1.24.2"
patched_dir="$repo_root/.cache/ferretdb/FerretDB" # keep in step with the replace in go.mod
bin_dir="$repo_root/.cache/bin"
binary="$bin_dir/ferretdb"

fail() {
  echo "ferretdb: $*" >&2
  exit 1
}

up_to_date() {
  [[ -x "$binary" && -f "$patched_dir/.casebridge.patch" ]] || return 1
  cmp -s "$patch_file" "$patched_dir/.casebridge.patch" || return 1
  local input
  for input in "$src_dir"/go.mod "$src_dir"/go.sum "$src_dir"/cgo.env "$src_dir"/*.go "$patch_file" "$sums_file"; do
    [[ "$binary" -nt "$input" ]] || return 1
  done
}

# The pinned module's folder in the module cache (downloaded, and checked against go.sum).
pristine_source() {
  local dir
  dir="$(cd "$src_dir" && go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" && -d "$dir" ]] || fail "could not download $module@$version (see the go output above)."
  echo "$dir"
}

# Copies the pinned module to .cache and applies the patch, or stops the build.
prepare_source() {
  if [[ -f "$patched_dir/.casebridge.patch" ]] && cmp -s "$patch_file" "$patched_dir/.casebridge.patch"; then
    return
  fi
  local pristine tmp
  pristine="$(pristine_source)"
  if ! (cd "$pristine" && sha256sum --check --quiet --strict "$sums_file"); then
    fail "the source of $module@$version in $pristine is not the one tools/ferretdb/patches was written for (patches/pristine.sha256 above). Refusing to build: port the patch to this source, then run scripts/install-ferretdb.sh --write-patch."
  fi
  tmp="$patched_dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$(dirname "$patched_dir")"
  cp -R "$pristine" "$tmp"
  chmod -R u+w "$tmp"
  # --fuzz=0: every line of context must match; --forward: never reverse a patch.
  if ! patch --directory="$tmp" --strip=1 --forward --fuzz=0 --batch --silent <"$patch_file"; then
    rm -rf "$tmp"
    fail "tools/ferretdb/patches/casebridge-pushdown.patch does not apply to $module@$version. Refusing to build."
  fi
  find "$tmp" -name '*.orig' -delete
  cp "$patch_file" "$tmp/.casebridge.patch"
  rm -rf "$patched_dir"
  mv "$tmp" "$patched_dir"
  echo "ferretdb: patched $module@$version into ${patched_dir#"$repo_root"/}."
}

# Rewrites the patch from the edited copy in .cache, and the checksums of the files it changes.
write_patch() {
  local pristine cache file
  pristine="$(pristine_source)"
  cache="$(dirname "$patched_dir")"
  [[ -d "$patched_dir" ]] || fail "nothing to diff: $patched_dir does not exist (run this script once without --write-patch)."
  ln -sfn "$pristine" "$cache/upstream"
  # diff exits with 1 when the trees differ, which is the point.
  (cd "$cache" && diff -ruN --exclude=.casebridge.patch --exclude='*.orig' upstream/ FerretDB/ >"$patch_file.tmp") || [[ $? -eq 1 ]]
  rm -f "$cache/upstream"
  # No timestamps: the patch changes only when the code does.
  sed -i -E 's#^(---|\+\+\+) ([^[:space:]]+).*#\1 \2#' "$patch_file.tmp"
  mv "$patch_file.tmp" "$patch_file"
  : >"$sums_file.tmp"
  for file in $(sed -n -E 's#^--- upstream/([^[:space:]]+)$#\1#p' "$patch_file"); do
    if [[ -f "$pristine/$file" ]]; then (cd "$pristine" && sha256sum "$file") >>"$sums_file.tmp"; fi
  done
  mv "$sums_file.tmp" "$sums_file"
  cp "$patch_file" "$patched_dir/.casebridge.patch"
  echo "ferretdb: wrote ${patch_file#"$repo_root"/} and ${sums_file#"$repo_root"/}."
}

# --if-go (npm ci's prepare step): without Go (or with one too old) or a C compiler, say so and succeed, for a
# deployment on MongoDB; with Go, any other failure (a pinned source that does not match the
# patch, a patch that does not apply, a failed build) fails the install.
no_go_status=1
if [[ "${1:-}" == "--if-go" ]]; then
  no_go_status=0
  shift
fi

if ! command -v go >/dev/null 2>&1; then
  echo "ferretdb: Go is not installed: install Go >= 1.24 from https://go.dev/dl and rerun \`npm run install:ferretdb\`, or set MONGODB_URI to use an existing MongoDB." >&2
  exit "$no_go_status"
fi

export GOTOOLCHAIN=local

if [[ "${1:-}" == "--write-patch" ]]; then
  write_patch
  exit 0
fi

if up_to_date; then
  echo "ferretdb: $binary is up to date."
  exit 0
fi

command -v patch >/dev/null 2>&1 || fail "the patch command is not installed (needed to patch FerretDB's source)."

# go.mod says `go 1.24`; with GOTOOLCHAIN=local an older Go would fail with a less helpful message.
go_version="$(go env GOVERSION)" # e.g. go1.26.8, or devel ...
if [[ "$go_version" =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] < 24)); then
  echo "ferretdb: found $go_version but Go >= 1.24 is needed: install it from https://go.dev/dl and rerun \`npm run install:ferretdb\`, or set MONGODB_URI to use an existing MongoDB." >&2
  exit "$no_go_status"
fi

# The patched SQLite backend runs on SQLite's C library through cgo (patches/README.md): the build
# needs a C compiler, and cgo on, with SQLite's options from tools/ferretdb/cgo.env.
export CGO_ENABLED=1
CGO_CFLAGS="$(sed -n 's/^CGO_CFLAGS=//p' "$src_dir/cgo.env")"
export CGO_CFLAGS
c_compiler="$(go env CC)"
if ! command -v "${c_compiler%% *}" >/dev/null 2>&1; then
  echo "ferretdb: no C compiler ($c_compiler) found: the embedded database is built on SQLite's C library. Install one (Debian/Ubuntu: apt-get install gcc) and rerun \`npm run install:ferretdb\`, or set MONGODB_URI to use an existing MongoDB." >&2
  exit "$no_go_status"
fi

prepare_source

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
