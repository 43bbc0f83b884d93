#!/usr/bin/env bash
# Drives aegis-mcp over real stdio pipes with independent clients:
#   - the official TypeScript SDK v1 client (node/client.mjs, @modelcontextprotocol/sdk, legacy era)
#   - the official TypeScript SDK v2 client (node/client2.mjs, @modelcontextprotocol/client) pinned to
#     2026-07-28, in auto mode, and pinned to the legacy 2025-11-25 handshake
#     (both SDKs pinned by node/package-lock.json)
#   - a raw-wire probe that sends malformed, oversized and out-of-order messages in both eras (node/rawprobe.mjs)
# plus negative controls: the same harnesses must FAIL against a server that prints one stray
# line to stdout. The Go SDK client runs in process: (cd interop/gosdk && go test ./...).
#
# Usage: interop/run.sh          # against the scripted fake backend (the test binary of cmd/aegis-mcp)
#        interop/run.sh --real   # also against the real aegis-mcp (policy engine + runner),
#                                # under interop/testdata/aegis.toml
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v node >/dev/null || { echo "interop: node is not installed"; exit 1; }
(cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

(cd "$root" && go test -c -o "$work/aegis-mcp-fake" ./cmd/aegis-mcp)
export AEGIS_MCP_TEST_FAKE_SERVER=1 # makes the test binary serve with the fake backend
fake=("$work/aegis-mcp-fake" --policy fake.toml)
stray=(sh -c 'echo "starting up..."; exec "$0" "$@"' "${fake[@]}")

passed=0 failed=0
expect() { # expect pass|fail NAME CMD...
	local want=$1 name=$2; shift 2
	if "$@" >"$work/out" 2>&1; then got=pass; else got=fail; fi
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1)); echo "PASS $name"
	else
		failed=$((failed + 1)); echo "FAIL $name (wanted the harness to $want)"; tail -40 "$work/out"
	fi
	# Reworded so that only the last line of this script reads as a test summary.
	sed -n 's/^\(.*\): \([0-9]*\) passed, \([0-9]*\) failed$/    \1: \2 checks passed, \3 checks failed/p' "$work/out"
}

cd "$here/node"
expect pass "TypeScript SDK client vs aegis-mcp (fake backend)" node client.mjs "${fake[@]}"
expect pass "raw-wire probe vs aegis-mcp (fake backend)" node rawprobe.mjs "${fake[@]}"
for mode in pin auto legacy; do
	expect pass "TypeScript SDK v2 client ($mode) vs aegis-mcp (fake backend)" node client2.mjs "$mode" "${fake[@]}"
done
expect fail "negative control: TypeScript SDK client vs a server with one stray stdout line" node client.mjs "${stray[@]}"
expect fail "negative control: raw-wire probe vs a server with one stray stdout line" node rawprobe.mjs "${stray[@]}"

if [ "${1:-}" = "--real" ]; then
	unset AEGIS_MCP_TEST_FAKE_SERVER
	(cd "$root" && go build -o "$work/aegis-mcp" ./cmd/aegis-mcp)
	real=("$work/aegis-mcp" --policy "$here/testdata/aegis.toml" --audit-log "$work/audit.jsonl")
	cd "$here/testdata"
	expect pass "TypeScript SDK client vs aegis-mcp (real runner)" node "$here/node/client.mjs" --backend real "${real[@]}"
	expect pass "raw-wire probe vs aegis-mcp (real runner)" node "$here/node/rawprobe.mjs" --backend real "${real[@]}"
	for mode in pin auto legacy; do
		expect pass "TypeScript SDK v2 client ($mode) vs aegis-mcp (real runner)" node "$here/node/client2.mjs" "$mode" --backend real "${real[@]}"
	done
fi

echo "interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
