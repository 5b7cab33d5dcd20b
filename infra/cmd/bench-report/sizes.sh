#!/usr/bin/env bash
# The default SIZES_CMD of `make bench-report`: builds every function as deployed (the flags of
# `make build`: linux/arm64, CGO off, lambda.norpc, -trimpath, -s -w) into a temporary folder
# and prints one line per function:
#
#   SIZE <function> <bytes>
#
# It prints no INIT lines (init time needs the functions started; a check that prints both,
# `SIZE <function> <bytes> <budget-bytes>` and `INIT <function> <milliseconds>`, can replace
# this script through SIZES_CMD).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$ROOT"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for dir in functions/*/; do
  f=$(basename "$dir")
  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags="-s -w" -o "$out/$f" "./functions/$f"
  echo "SIZE $f $(stat -c %s "$out/$f")"
done
