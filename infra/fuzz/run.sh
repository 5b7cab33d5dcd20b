#!/usr/bin/env bash
# Runs every fuzz target of infra/fuzz/targets.txt ("<package> <FuzzName>" per line), one
# after the other: `make fuzz` (FUZZTIME per target, default 30s) and, briefly, `make test`
# (FUZZTIME=300x: 300 inputs each, counted rather than timed). A failing input is written
# under the package's testdata/fuzz/<FuzzName>/ by Go and fails the run; commit it with the
# fix, it then runs with every `go test`.
#
#   infra/fuzz/run.sh [FUZZTIME]
set -euo pipefail
cd "$(dirname "$0")/../.."
fuzztime=${1:-${FUZZTIME:-30s}}
failed=0
while read -r pkg target; do
  [ -z "$pkg" ] || [ "${pkg:0:1}" = "#" ] && continue
  before=$(find "$pkg/testdata/fuzz/$target" -type f 2>/dev/null | wc -l || true)
  if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 1 "$pkg" 2>&1 </dev/null); then
    echo "fuzz: $pkg $target: $(echo "$out" | grep -Eo 'elapsed: [^,]+, execs: [0-9]+' | tail -1 || echo ok)"
    continue
  fi
  after=$(find "$pkg/testdata/fuzz/$target" -type f 2>/dev/null | wc -l || true)
  # Go 1.26's coordinator can end a timed run with "context deadline exceeded" and no input
  # (golang/go#75804): without a new input under testdata/fuzz, that is not a finding.
  if [ "$after" = "$before" ] && echo "$out" | grep -q 'context deadline exceeded'; then
    echo "fuzz: $pkg $target: ended by the fuzzing engine's deadline race, no failing input (ignored)"
    continue
  fi
  echo "$out" >&2
  echo "fuzz: $pkg $target FAILED (new input under $pkg/testdata/fuzz/$target)" >&2
  failed=1
done < infra/fuzz/targets.txt
exit $failed
