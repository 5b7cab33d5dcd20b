#!/usr/bin/env bash
# make load: starts its own local stack (`load`, API on 127.0.0.1:3700), drives it with
# infra/cmd/load — CLIENTS simulated MCP clients (default 50) through discovery,
# registration, consent, sign-in, code exchange, tool calls and refreshes for DURATION
# (default 60s), then one last refresh each — prints throughput, latency per endpoint,
# errors, 5xx, lost grants and the functions' peak memory, and stops the stack whatever the
# outcome. Fails when there was a 5xx, a request without an answer or a lost grant.
#
#   infra/local/load.sh [generator flags…]        e.g. CLIENTS=20 DURATION=30s infra/local/load.sh -think 100ms
#
# The access tokens live LOAD_ACCESS_TOKEN_TTL (default 5s) so that every client refreshes
# several times; LOAD_STACK_ENV adds function environment (stack.sh's STACK_ENV).
# Ports: API 3700, WorkOS emulator 3800, local-kms 5299, DynamoDB Local 8700.
# Logs stay in .run/load/*.log after the run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
name=load
api_port=3700
clients=${CLIENTS:-50}
duration=${DURATION:-60s}
ttl=${LOAD_ACCESS_TOKEN_TTL:-5s}
[[ $duration =~ ^[0-9]+$ ]] && duration=${duration}s   # DURATION=60 means seconds

for p in "$api_port" $((api_port + 100)) $((api_port + 1599)) $((api_port + 5000)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "load: port $p on 127.0.0.1 is in use (a stack '$name' left running? infra/local/stack.sh down $name)" >&2
    exit 2
  fi
done

infra/local/services.sh install   # DynamoDB Local, local-kms, the RIE when missing
mkdir -p "$ROOT/.run/$name/bin"
go build -o "$ROOT/.run/$name/bin/load" ./infra/cmd/load

# stack.sh cleans up after itself when `up` fails; only a stack that came up is ours to stop.
STACK_ENV="ACCESS_TOKEN_TTL=$ttl${LOAD_STACK_ENV:+ $LOAD_STACK_ENV}" infra/local/stack.sh up "$name" "$api_port"
trap 'infra/local/stack.sh down "$name"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

set +e
"$ROOT/.run/$name/bin/load" -stack "$name" -clients "$clients" -duration "$duration" "$@"
rc=$?
set -e
echo "load: logs of the stack in .run/$name/*.log" >&2
exit $rc
