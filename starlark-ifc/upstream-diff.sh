#!/usr/bin/env bash
# Prints the whole Aegis patch to go.starlark.net as one unified diff:
# the pristine pinned upstream module (with the same mechanical import-path
# rewrite this fork applies) against starlark-ifc/ as it is in the work tree.
#
#   bash starlark-ifc/upstream-diff.sh [--stat]
#
# Needs only the Go toolchain (the module comes from the Go module proxy or
# the local module cache). Exit status is 0 whether or not there are changes.
set -euo pipefail
version=v0.0.0-20260908191801-89a6a09411d5
here=$(cd "$(dirname "$0")" && pwd)
mod=$(cd "$here/.." && go list -m)
src=$(cd "$here/.." && GOFLAGS=-mod=mod go mod download -json "go.starlark.net@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "upstream-diff: could not fetch go.starlark.net@$version" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/a"
cp -r "$src/." "$tmp/a/"
chmod -R u+w "$tmp/a"
rm -rf "$tmp/a/docs" "$tmp/a/.github" "$tmp/a/CNAME" "$tmp/a/go.mod" "$tmp/a/go.sum"
# The one mechanical change: upstream's import paths now live under our module.
find "$tmp/a" -name '*.go' -exec sed -i \
	-e "s#\"go.starlark.net/#\"$mod/starlark-ifc/#g" \
	-e "s#linkname \([A-Za-z0-9_]*\) go.starlark.net/#linkname \1 $mod/starlark-ifc/#" {} +
cd "$tmp"
ln -s "$here" b
if [ "${1:-}" = "--stat" ]; then
	git diff --no-index --stat a b/ -- 2>/dev/null | grep -v -e UPSTREAM.md -e upstream-diff.sh || true
else
	git diff --no-index a b/ 2>/dev/null || true
fi
