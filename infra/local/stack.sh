#!/usr/bin/env bash
# Runs the whole Authbridge stack on 127.0.0.1, without Docker or an AWS account:
# DynamoDB Local, local-kms, the WorkOS emulator, every function under the Lambda Runtime
# Interface Emulator, and the API Gateway emulator reading template.yaml.
#
#   stack.sh run  NAME [API_PORT] [STAGE]   foreground (make dev): Ctrl-C stops everything
#   stack.sh up   NAME [API_PORT] [STAGE]   background (tests): returns once the API answers
#   stack.sh down NAME                       stop a background stack
#
# NAME keeps stacks apart (.run/NAME); ports derive from API_PORT so that `make dev` (3000)
# and the end-to-end tests can run side by side. Extra function environment can be given in
# STACK_ENV as KEY=VALUE pairs separated by spaces (e.g. ACCESS_TOKEN_TTL=5s).
#
# Front doors (companion mode: an existing MCP server behind the authorizer, docs/front-door.md):
# STACK_PARAMS passes template parameters to the gateway emulator as Key=Value pairs separated
# by spaces, e.g. STACK_PARAMS="FrontDoor1Upstream=http://127.0.0.1:5310/mcp FrontDoor1Path=mcp/crm".
# SAMPLE_UPSTREAM=1 also runs infra/cmd/sample-mcp-server on API_PORT+10 (-validate gateway) as
# front door 1 at /mcp/sample. A front door is an API mapping on the custom domain: the stack
# then plays that domain (DomainName=authbridge.localhost), which a STAGE stack cannot.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TOOLS=$ROOT/.tools
mode=${1:?usage: stack.sh run|up|down NAME [API_PORT] [STAGE]}
name=${2:?stack name}
RUN=$ROOT/.run/$name
log() { echo "stack[$name]: $*" >&2; }

stop_all() {
  [ -d "$RUN" ] || return 0
  for f in "$RUN"/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 50); do
    alive=0
    for f in "$RUN"/*.pid; do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for f in "$RUN"/*.pid; do
    [ -f "$f" ] || continue
    kill -KILL -- "-$(cat "$f")" 2>/dev/null || kill -KILL "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  "$ROOT/infra/local/services.sh" stop "$name-aws" || true
  rm -f "$RUN/lock"
}

if [ "$mode" = down ]; then stop_all; exit 0; fi

api_port=${3:-3000}
stage=${4:-}
ddb_port=$((api_port + 5000))     # 3000 -> 8000
kms_port=$((api_port + 1599))     # 3000 -> 4599
workos_port=$((api_port + 100))   # 3000 -> 3100
sample_port=$((api_port + 10))    # 3000 -> 3010 (SAMPLE_UPSTREAM=1)
base="http://127.0.0.1:$api_port"
issuer=$base${stage:+/$stage}

# Template parameters for the gateway emulator (front doors).
params=()
sample=${SAMPLE_UPSTREAM:-}
[ "$sample" = 0 ] && sample=""
if [ -n "$sample" ]; then
  params+=("FrontDoor1Upstream=http://127.0.0.1:$sample_port/mcp" "FrontDoor1Path=mcp/sample")
fi
for kv in ${STACK_PARAMS:-}; do params+=("$kv"); done
param_value() { # the last value given for a parameter (empty if none)
  local v="" kv
  for kv in "${params[@]}"; do [ "${kv%%=*}" = "$1" ] && v=${kv#*=}; done
  printf '%s' "$v"
}
front_doors=()
for n in 1 2 3; do
  up=$(param_value "FrontDoor${n}Upstream")
  [ -n "$up" ] || continue
  path=$(param_value "FrontDoor${n}Path"); path=${path:-mcp/upstream$n}
  front_doors+=("$n $issuer/$path $up")
done
if [ ${#front_doors[@]} -gt 0 ]; then
  if [ -n "$stage" ]; then
    log "front doors are API mappings on the custom domain; a stack with a stage (execute-api) has none. Start it without STAGE."
    exit 2
  fi
  # Locally, the stack without a stage plays the custom domain (infra/gateway serves the
  # API mappings); the certificate is never used.
  params=("DomainName=authbridge.localhost" "CertificateArn=arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000" "${params[@]}")
fi

mkdir -p "$RUN"
# One stack per name: a second `make dev` fails with a message, not a port error.
exec 9>"$RUN/lock.fd"
if ! flock -n 9; then
  log "already running (.run/$name). Stop it first: Ctrl-C in its terminal, or 'infra/local/stack.sh down $name'."
  exit 1
fi
for p in "$api_port" "$ddb_port" "$kms_port" "$workos_port" ${sample:+"$sample_port"}; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    log "port $p on 127.0.0.1 is in use by another program; choose another API port (make dev PORT=…)"
    exit 1
  fi
done
trap 'stop_all' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$ROOT/infra/local/services.sh" start "$name-aws" "$ddb_port" "$kms_port" 9>&-
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$ddb_port AWS_ENDPOINT_URL_KMS=http://127.0.0.1:$kms_port
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true

log "building functions and local tools"
mkdir -p "$RUN/bin"
for d in functions/*/; do
  f=$(basename "$d")
  # authbridge_localstack: the local stack's Client ID Metadata Document settings below
  # (shared/clientid/localstack.go); the deployed build never has this tag.
  CGO_ENABLED=0 go build -tags lambda.norpc,authbridge_localstack -trimpath -ldflags="-s -w" -o "$RUN/bin/functions/$f/bootstrap" "./functions/$f"
done
for c in workos-emulator local-setup local-api ${sample:+sample-mcp-server}; do
  go build -o "$RUN/bin/$c" "./infra/cmd/$c"
done

table=authbridge-local
alias=alias/authbridge-local-signing
key_id=$("$RUN/bin/local-setup" -table "$table" -alias "$alias")

# The emulator signs its events with the local webhook secret and posts them to the webhook
# function, which gets the same secret below (WORKOS_WEBHOOK_SECRET, as WORKOS_API_KEY).
webhook_secret=whsec_local_authbridge
setsid "$RUN/bin/workos-emulator" -addr "127.0.0.1:$workos_port" -seed infra/workos-seed.json \
  -redirect-uris "$issuer/api/ext/auth/callback" -state-dir "$ROOT/.run/workos-key" \
  -webhook-url "$issuer/api/ext/auth/workos-webhook" -webhook-secret "$webhook_secret" >"$RUN/workos.log" 2>&1 9>&- &
echo $! >"$RUN/workos.pid"

# Client ID Metadata Documents, locally. Deployed, a document is fetched over HTTPS from public
# addresses only. Here a test's fixture server plays the client's host: it listens on
# 127.0.0.1:$cimd_port with a certificate for fixture.authbridge.test from a CA made for this
# stack, and only that address and port are let through. Three more names resolve to a
# private, a link-local and the metadata-service address, so the end-to-end tests can show
# each refused (infra/e2e/test/cimd.test.mjs).
cimd_port=$((api_port + 30))      # 3000 -> 3030
cimd_dir=$RUN/cimd-fixture
mkdir -p "$cimd_dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=Authbridge local CIMD fixture CA" \
  -keyout "$cimd_dir/ca-key.pem" -out "$cimd_dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=fixture.authbridge.test" \
  -keyout "$cimd_dir/key.pem" -out "$cimd_dir/req.pem" 2>/dev/null
openssl x509 -req -in "$cimd_dir/req.pem" -CA "$cimd_dir/ca.pem" -CAkey "$cimd_dir/ca-key.pem" -CAcreateserial -days 30 \
  -extfile <(printf 'subjectAltName=DNS:fixture.authbridge.test\nextendedKeyUsage=serverAuth\n') -out "$cimd_dir/cert.pem" 2>/dev/null
cimd_hosts=fixture.authbridge.test=127.0.0.1,private.authbridge.test=10.0.0.5,linklocal.authbridge.test=169.254.10.10,metadata.authbridge.test=169.254.169.254

# Function environment: the template's values, overridden for the local services
# (the shape of `sam local --env-vars`).
cat >"$RUN/env.json" <<JSON
{"Parameters": {
  "ISSUER": "$issuer",
  "TABLE_NAME": "$table",
  "SIGNING_KEY_ID": "$alias",
  "ACCEPTED_KEY_IDS": "$key_id",
  "WORKOS_ENDPOINT": "http://127.0.0.1:$workos_port",
  "WORKOS_CLIENT_ID": "client_local_authbridge",
  "WORKOS_API_KEY": "sk_test_local_authbridge",
  "WORKOS_API_KEY_SECRET_ARN": "",
  "WORKOS_WEBHOOK_SECRET": "$webhook_secret",
  "WORKOS_WEBHOOK_SECRET_ARN": "",
  "AWS_ENDPOINT_URL_DYNAMODB": "$AWS_ENDPOINT_URL_DYNAMODB",
  "AWS_ENDPOINT_URL_KMS": "$AWS_ENDPOINT_URL_KMS",
  "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
  "ALLOWED_ORIGINS": "http://localhost:6274,http://127.0.0.1:6274",
  "AUTHBRIDGE_LOCAL_CIMD_ROOT_CA": "$cimd_dir/ca.pem",
  "AUTHBRIDGE_LOCAL_CIMD_ALLOW": "127.0.0.1:$cimd_port",
  "AUTHBRIDGE_LOCAL_CIMD_HOSTS": "$cimd_hosts",
  "AWS_LAMBDA_LOG_FORMAT": "JSON"$(for kv in ${STACK_ENV:-}; do printf ',\n  "%s": "%s"' "${kv%%=*}" "${kv#*=}"; done)
}}
JSON

setsid "$RUN/bin/local-api" -template template.yaml -addr "127.0.0.1:$api_port" ${stage:+-stage "/$stage"} \
  -env-vars "$RUN/env.json" -param "Issuer=$issuer" -param "StageName=${stage:-Prod}" \
  -param "WorkOSClientId=client_local_authbridge" \
  -param "WorkOSApiKeySecretArn=arn:aws:secretsmanager:us-east-1:000000000000:secret:local" \
  -param "WorkOSWebhookSecretArn=arn:aws:secretsmanager:us-east-1:000000000000:secret:local-webhook" \
  ${params[@]+"${params[@]/#/-param=}"} \
  -bin-dir "$RUN/bin/functions" -rie "$TOOLS/bin/aws-lambda-rie" >"$RUN/api.log" 2>&1 9>&- &
echo $! >"$RUN/api.pid"

for _ in $(seq 1 300); do
  if curl -fsS "$issuer/.well-known/oauth-authorization-server" >/dev/null 2>&1; then break; fi
  kill -0 "$(cat "$RUN/api.pid")" 2>/dev/null || { log "the API gateway emulator stopped:"; tail -40 "$RUN/api.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$issuer/.well-known/oauth-authorization-server" >/dev/null || { log "the API did not answer"; tail -40 "$RUN/api.log" >&2; exit 1; }

if [ -n "$sample" ]; then
  # The sample upstream accepts only the front door's assertion (audience: its own URL).
  setsid "$RUN/bin/sample-mcp-server" -addr "127.0.0.1:$sample_port" -issuer "$issuer" \
    -resource "http://127.0.0.1:$sample_port/mcp" -validate gateway >"$RUN/sample.log" 2>&1 9>&- &
  echo $! >"$RUN/sample.pid"
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$sample_port") 2>/dev/null && break
    kill -0 "$(cat "$RUN/sample.pid")" 2>/dev/null || { log "the sample MCP server stopped:"; tail -20 "$RUN/sample.log" >&2; exit 1; }
    sleep 0.1
  done
fi

# The protected resources the functions see: STACK_ENV's PROTECTED_RESOURCES, else the default.
# Without STACK_ENV's, each front door's resource follows (the template's PROTECTED_RESOURCES);
# STACK_ENV's replaces the template's value, so it must list the front doors itself.
resources=$issuer/mcp
resources_given=""
for kv in ${STACK_ENV:-}; do [ "${kv%%=*}" = PROTECTED_RESOURCES ] && resources=${kv#*=} && resources_given=1; done
fd_lines="" fd_env=""
for fd in ${front_doors[@]+"${front_doors[@]}"}; do
  read -r n url up <<<"$fd"
  [ -n "$resources_given" ] || resources=$resources,$url
  fd_lines+=$(printf '\n    Front door %s               %s -> %s' "$n" "$url" "$up")
  fd_env+=$(printf '\nFRONT_DOOR_%s_RESOURCE=%s\nFRONT_DOOR_%s_UPSTREAM=%s' "$n" "$url" "$n" "$up")
done
# ISSUER, PROTECTED_RESOURCES, TABLE_NAME and the AWS_* lines are the functions' own
# environment: sourced (set -a), they point infra/cmd/introspection-credentials at this
# stack's DynamoDB Local and table (make introspection-credentials STACK=$name RESOURCE=…).
cat >"$RUN/stack.env" <<ENV
ISSUER=$issuer
MCP_URL=$issuer/mcp
WORKOS_URL=http://127.0.0.1:$workos_port
INTROSPECTION_ENDPOINT=$issuer/api/ext/auth/introspect
PROTECTED_RESOURCES=$resources
TABLE_NAME=$table
AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
AWS_EC2_METADATA_DISABLED=true
CIMD_FIXTURE_PORT=$cimd_port
CIMD_FIXTURE_CERT=$cimd_dir/cert.pem
CIMD_FIXTURE_KEY=$cimd_dir/key.pem$fd_env
ENV

cat <<MSG

  Authbridge is running.
    MCP server (with sign-in)  $issuer/mcp
    Issuer                     $issuer
    Protected resource         $issuer/.well-known/oauth-protected-resource/mcp
    WorkOS emulator            http://127.0.0.1:$workos_port$fd_lines
  Sign in as any seeded user (infra/workos-seed.json):
    ada@example.com    Ada Lovelace   (Analytical Engines Ltd)
    grace@example.com  Grace Hopper   (Analytical Engines Ltd, Bletchley Compilers)
    alan@example.com   Alan Turing    (no active organization)
    hedy@example.com   Hedy Lamarr    (no organization; deleted by the e2e test access-ends)
  Logs: .run/$name/*.log

MSG

if [ "$mode" = up ]; then
  trap - EXIT INT TERM   # leave it running; `stack.sh down $name` stops it
  exit 0
fi
log "Ctrl-C stops everything"
tail -n 0 -F "$RUN/api.log" "$RUN/workos.log" ${sample:+"$RUN/sample.log"} 9>&- &
echo $! >"$RUN/tail.pid"
# Poll rather than `wait`: bash runs the INT/TERM trap as soon as the short sleep ends,
# whether the signal came to the whole terminal group or to this script alone.
api_pid=$(cat "$RUN/api.pid")
while kill -0 "$api_pid" 2>/dev/null; do sleep 0.5; done
log "the API gateway emulator stopped"
