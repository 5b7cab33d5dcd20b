#!/usr/bin/env bash
# make bench-report: runs every benchmark once, one after the other, keeps what each printed in
# BENCH_REPORT_DIR (default .run/bench-report: <step>.txt, the command in <step>.cmd, its exit
# status in <step>.rc), then writes docs/performance.md and docs/performance/*.png from them
# (infra/cmd/bench-report). Starts and stops what each step needs:
#
#   guard  go test -bench over shared/guard        DynamoDB Local + local-kms (BENCH_REPORT_DDB_PORT,
#   jose   node infra/e2e/bench/jose.mjs             BENCH_REPORT_KMS_PORT; default 18700, 15300),
#   calls  TestRoundTripsPerEndpoint (shared/authserver)  started before guard, stopped after sizes
#   sizes  SIZES_CMD (default infra/cmd/bench-report/sizes.sh: builds every function as deployed;
#          SIZES_CMD='go test -count=1 -v ./infra/sizes/' also measures init, against local-kms)
#   flow   make bench-e2e (its own stack on BENCH_PORT, default 3900; BENCH_RUNS, BENCH_WARM)
#
# Each command can be replaced through its variable (GUARD_CMD, JOSE_CMD, CALLS_CMD, SIZES_CMD,
# FLOW_CMD). A failing step does not stop the others: the report says which failed, and the
# script exits 1 after writing it. infra/e2e's npm packages must be installed (`make bench-report`
# depends on them, like bench-e2e).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$ROOT"
OUT=${BENCH_REPORT_DIR:-.run/bench-report}
DDB_PORT=${BENCH_REPORT_DDB_PORT:-18700}
KMS_PORT=${BENCH_REPORT_KMS_PORT:-15300}
SERVICES=bench-report-aws
GUARD_CMD=${GUARD_CMD:-"go test -run '^\$' -bench . -benchtime 1s -count 10 ./shared/guard/"}
JOSE_CMD=${JOSE_CMD:-"node infra/e2e/bench/jose.mjs"}
CALLS_CMD=${CALLS_CMD:-"go test -count=1 -run TestRoundTripsPerEndpoint -v ./shared/authserver/"}
SIZES_CMD=${SIZES_CMD:-"infra/cmd/bench-report/sizes.sh"}
FLOW_CMD=${FLOW_CMD:-"${MAKE:-make} --no-print-directory bench-e2e"}
REPORT=${BENCH_REPORT_OUT:-docs/performance.md}

log() { echo "bench-report: $*" >&2; }
failed=()

# step NAME COMMAND [VAR=VALUE…]: runs COMMAND with bash in the environment plus the given
# variables, shows and keeps its output.
step() {
  local name=$1 cmd=$2 start rc
  shift 2
  echo "$cmd" >"$OUT/$name.cmd"
  log "$name: $cmd"
  start=$(date +%s)
  env "$@" bash -c "$cmd" 2>&1 | tee "$OUT/$name.txt"
  rc=${PIPESTATUS[0]}
  echo "$rc" >"$OUT/$name.rc"
  log "$name: exit $rc after $(($(date +%s) - start)) s"
  [ "$rc" = 0 ] || failed+=("$name")
}

rm -rf "$OUT" && mkdir -p "$OUT"

stop_services() { ./infra/local/services.sh stop "$SERVICES"; }
trap stop_services EXIT
if ./infra/local/services.sh start "$SERVICES" "$DDB_PORT" "$KMS_PORT"; then
  aws_env=(AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT" AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$KMS_PORT"
    AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true)
  step guard "$GUARD_CMD" "${aws_env[@]}"
  step jose "$JOSE_CMD"
  step calls "$CALLS_CMD" "${aws_env[@]}"
  step sizes "$SIZES_CMD" "${aws_env[@]}"
else
  log "could not start DynamoDB Local and local-kms on $DDB_PORT/$KMS_PORT: guard, jose, calls and sizes not run"
  failed+=(services)
fi
stop_services
trap - EXIT

step flow "$FLOW_CMD"

go run ./infra/cmd/bench-report -in "$OUT" -out "$REPORT" -command "make bench-report" || exit 1
if [ ${#failed[@]} -gt 0 ]; then
  log "failed: ${failed[*]} (outputs in $OUT); $REPORT says so where it matters"
  exit 1
fi
