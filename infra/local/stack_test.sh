#!/usr/bin/env bash
# Checks what `make dev` promises (issue 4): the stack starts in the foreground and prints
# the MCP URL, a second start fails with a clear message instead of a port error, listeners
# bind to 127.0.0.1, and Ctrl-C (SIGINT) and SIGTERM leave no process behind; and doctor
# (infra/cmd/doctor) finds that every MCP client gets through, at the root and under /Prod.
# Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PORT=${STACK_TEST_PORT:-3500}
NAME=${STACK_TEST_NAME:-stacktest}
pass=0 fail=0
ok() { echo "ok   - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }

children() { pgrep -f "$ROOT/.run/$NAME/|-port $((PORT + 5000))|PORT=$((PORT + 1599))" || true; }

start_fg() {
  out=$(mktemp)
  # Its own session, as a terminal would give it; the signal then goes to its whole group.
  # A script started with & from a script inherits SIGINT ignored; a terminal would not do that.
  setsid env --default-signal=INT,QUIT ./infra/local/stack.sh run "$NAME" "$PORT" "${1:-}" >"$out" 2>&1 &
  for _ in $(seq 1 50); do
    pid=$(pgrep -f "stack.sh run $NAME $PORT" | head -1)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  for _ in $(seq 1 600); do
    grep -q "Authbridge is running" "$out" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$out"; return 1; }
    sleep 0.2
  done
  cat "$out"; return 1
}

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
doctor=$bin/doctor
go build -o "$doctor" ./infra/cmd/doctor || { echo "FAIL - infra/cmd/doctor does not build"; exit 1; }

for sig in INT TERM; do
  stage=""; [ "$sig" = TERM ] && stage=Prod
  base="http://127.0.0.1:$PORT${stage:+/$stage}"
  if start_fg "$stage"; then ok "stack starts (stage '${stage}') and prints its URLs"; else bad "stack did not start"; continue; fi
  grep -q "MCP server (with sign-in)  $base/mcp" "$out" && ok "prints the MCP URL $base/mcp" || bad "MCP URL not printed"
  curl -fsS "$base/.well-known/openid-configuration" | grep -q "\"issuer\":\"$base\"" && ok "discovery under '$base'" || bad "discovery under '$base'"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/mcp")
  [ "$code" = 401 ] && ok "unauthenticated /mcp is challenged (401)" || bad "unauthenticated /mcp answered $code"
  if doctor_out=$("$doctor" "$base/mcp" 2>&1); then
    ok "doctor: every MCP client gets through $base/mcp"
  else
    bad "doctor: a client fails against $base/mcp"; echo "$doctor_out"
  fi
  second=$(./infra/local/stack.sh run "$NAME" "$PORT" 2>&1); rc=$?
  if [ $rc -ne 0 ] && grep -q "already running" <<<"$second"; then ok "a second start fails with a clear message"; else bad "second start: rc=$rc $second"; fi
  wide=$(ss -Hltnp 2>/dev/null | awk '{print $4}' | grep -E ":($PORT|$((PORT + 100)))$" | grep -v '^127\.0\.0\.1:' || true)
  [ -z "$wide" ] && ok "API and WorkOS emulator listen on 127.0.0.1 only" || bad "listeners beyond loopback: $wide"
  kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  sleep 0.5
  left=$(children)
  if ! kill -0 "$pid" 2>/dev/null && [ -z "$left" ]; then ok "SIG$sig stops every process"; else bad "SIG$sig left processes: $left"; ./infra/local/stack.sh down "$NAME"; fi
  rm -f "$out"
done
echo "stack: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
