# Authbridge. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO_BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags="-s -w"
FUNCTIONS := $(notdir $(wildcard functions/*))

# Test services run on their own ports so that `make test` works beside a running `make dev`.
TEST_DDB_PORT ?= 18000
TEST_KMS_PORT ?= 14599
TEST_ENV := AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$(TEST_DDB_PORT) \
	AWS_ENDPOINT_URL_KMS=http://127.0.0.1:$(TEST_KMS_PORT) \
	AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
	AWS_EC2_METADATA_DISABLED=true

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: test
test: lint ## Everything CI runs: static checks, Go tests against DynamoDB Local and local-kms, end-to-end, make dev and key-rotation checks
	@./infra/local/services.sh start test $(TEST_DDB_PORT) $(TEST_KMS_PORT)
	@trap './infra/local/services.sh stop test' EXIT; \
	$(TEST_ENV) go test -count=1 ./... && \
	$(TEST_ENV) ./infra/fuzz/run.sh 300x
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory stack-test
	@$(MAKE) --no-print-directory rotation-test

# Static checks, pinned: staticcheck (Go module, into .tools/bin), cfn-lint with the SAM
# translator (Python; installed with pip if absent) on both templates, gofmt, go vet, and
# go.mod/go.sum exactly as `go mod tidy` leaves them. Any finding, warning included, fails.
STATICCHECK_VERSION := v0.8.2
CFN_LINT_VERSION := 1.51.0
STATICCHECK := .tools/bin/staticcheck-$(STATICCHECK_VERSION)

$(STATICCHECK):
	@mkdir -p .tools/bin/staticcheck-build
	@GOBIN=$(CURDIR)/.tools/bin/staticcheck-build GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@mv .tools/bin/staticcheck-build/staticcheck $@ && rmdir .tools/bin/staticcheck-build

# cfn-lint sees one configuration of a template, its parameters' defaults: the second run
# is on a copy of template.yaml whose defaults turn two front doors on (custom domain set),
# so that the conditional front-door resources are linted too.
FRONT_DOOR_LINT_DEFAULTS := DomainName=auth.example.com \
	CertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000 \
	FrontDoor1Upstream=https://crm.internal.example.com/mcp FrontDoor2Upstream=https://tickets.example.net/mcp \
	FrontDoor2Path=mcp/tickets FrontDoor2ToolScopes=close_ticket=tickets:write
# Replaces the Default of each parameter named in defs (NAME=VALUE, space-separated).
export FRONT_DOOR_DEFAULTS_AWK := BEGIN { n = split(defs, a, " "); for (i = 1; i <= n; i++) { j = index(a[i], "="); d[substr(a[i], 1, j - 1)] = substr(a[i], j + 1) } } \
	/^[A-Za-z]/ { cur = "" } /^  [A-Za-z0-9]+:$$/ { cur = substr($$1, 1, length($$1) - 1) } \
	(cur in d) && /^    Default:/ { print "    Default: \"" d[cur] "\""; next } { print }

.PHONY: lint
lint: $(STATICCHECK) ## Static checks: gofmt, go vet, staticcheck, go mod tidy, cfn-lint on template.yaml (also with front doors on) and infra/monitoring.yaml
	@out=$$(gofmt -l functions shared infra events); [ -z "$$out" ] || { echo "gofmt would change: $$out" >&2; exit 1; }
	@go vet ./...
	@$(STATICCHECK) ./...
	@go mod tidy -diff || { echo "lint: go.mod/go.sum differ from what 'go mod tidy' writes" >&2; exit 1; }
	@command -v cfn-lint >/dev/null 2>&1 || { echo "lint: installing cfn-lint $(CFN_LINT_VERSION) (pip)" >&2; pip install -q "cfn-lint==$(CFN_LINT_VERSION)"; }
	@v=$$(cfn-lint --version | awk '{print $$2}'); [ "$$v" = "$(CFN_LINT_VERSION)" ] || echo "lint: cfn-lint $$v here, $(CFN_LINT_VERSION) pinned" >&2
	@cfn-lint template.yaml infra/monitoring.yaml
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && ln -s "$(CURDIR)/infra" "$$tmp/infra" && \
		awk -v defs='$(FRONT_DOOR_LINT_DEFAULTS)' "$$FRONT_DOOR_DEFAULTS_AWK" template.yaml >"$$tmp/template.yaml" && \
		cfn-lint "$$tmp/template.yaml" || { echo "lint: cfn-lint fails on template.yaml with front doors configured ($(FRONT_DOOR_LINT_DEFAULTS))" >&2; exit 1; }
	@echo "lint: gofmt, go vet, staticcheck $(STATICCHECK_VERSION), go mod tidy, cfn-lint: clean"

# Fuzzing (infra/fuzz/targets.txt): each target for FUZZTIME; `make test` runs 300 inputs of
# each (the committed seeds also run in every `go test`).
FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Fuzz every request parser for FUZZTIME each (default 30s); a failing input lands in testdata/fuzz/ and fails the run
	@./infra/local/services.sh start test $(TEST_DDB_PORT) $(TEST_KMS_PORT)
	@trap './infra/local/services.sh stop test' EXIT; $(TEST_ENV) ./infra/fuzz/run.sh $(FUZZTIME)

.PHONY: load
load: ## Load test: CLIENTS (50) simulated MCP clients through the whole flow for DURATION (60s) on its own stack (port 3700); fails on a 5xx or a lost grant
	@infra/local/load.sh

.PHONY: services
services: ## Start DynamoDB Local and local-kms on the test ports and print the variables to export
	@./infra/local/services.sh start test $(TEST_DDB_PORT) $(TEST_KMS_PORT)
	@echo "export $(TEST_ENV)"

.PHONY: services-stop
services-stop: ## Stop what `make services` started
	@./infra/local/services.sh stop test

# Companion mode: introspection credentials for a resource server (an MCP server on another
# host), bound to RESOURCE, one of PROTECTED_RESOURCES. Prints one JSON line (client_id,
# client_secret, resource). Reads the functions' environment (ISSUER, PROTECTED_RESOURCES,
# TABLE_NAME, AWS_*); STACK=NAME takes it from a local stack's .run/NAME/stack.env.
.PHONY: introspection-credentials
introspection-credentials: ## Create introspection credentials for a resource server: RESOURCE=<URL> [STACK=<local stack name>]
	@[ -n "$(RESOURCE)" ] || { echo "usage: make introspection-credentials RESOURCE=<URL> [STACK=<name>]" >&2; exit 2; }
	@if [ -n "$(STACK)" ]; then [ -f .run/$(STACK)/stack.env ] || { echo "no .run/$(STACK)/stack.env: is the stack running?" >&2; exit 1; }; \
		set -a; . .run/$(STACK)/stack.env; set +a; fi; \
	go run ./infra/cmd/introspection-credentials -resource '$(RESOURCE)'

# Operator: list and revoke grants (README, "Cut off a person or an app"). Same environment
# as introspection-credentials (TABLE_NAME, AWS_*), or STACK=NAME for a local stack.
load_stack_env = if [ -n "$(STACK)" ]; then [ -f .run/$(STACK)/stack.env ] || { echo "no .run/$(STACK)/stack.env: is the stack running?" >&2; exit 1; }; \
	set -a; . .run/$(STACK)/stack.env; set +a; fi
.PHONY: grants
grants: ## List or revoke grants: ARGS="list -user <id>" (or -client, -org; revoke; delete-client <client_id>) [STACK=<local stack name>]
	@[ -n "$(ARGS)" ] || { echo 'usage: make grants ARGS="list|revoke -user <id>|-client <client_id>|-org <org id>" or ARGS="delete-client <client_id>" [STACK=<name>]' >&2; exit 2; }
	@$(load_stack_env); go run ./infra/cmd/grants $(ARGS)

# USER, CLIENT and ORG count only when given on the command line: USER is also the login
# name in the environment, which must never choose whose grants are revoked.
revoke_filter = $(foreach v,USER CLIENT ORG,$(if $(and $(filter command line,$(origin $(v))),$($(v))),-$(subst USER,user,$(subst CLIENT,client,$(subst ORG,org,$(v)))) '$($(v))'))
.PHONY: revoke
revoke: ## Revoke every grant of a person, a client or an organization: USER=<WorkOS user id> | CLIENT=<client_id> | ORG=<org id> [STACK=<name>]
	@[ $(words $(revoke_filter)) -eq 2 ] || { echo "usage: make revoke USER=<WorkOS user id> | CLIENT=<client_id> | ORG=<organization id> (exactly one) [STACK=<name>]" >&2; exit 2; }
	@$(load_stack_env); go run ./infra/cmd/grants revoke $(revoke_filter)

# Doctor (docs/doctor.md): checks a deployment as each MCP client discovers, registers with
# and calls it; one row per client and step, the fix of each failure, a handoff summary for a
# security reviewer; exits 1 when a client would fail. Sends nothing that writes; ARGS=-register
# sends one registration (it cannot be deleted: it stays unused and expires).
.PHONY: doctor
doctor: ## Check a deployment against each MCP client (TS and Python SDKs, ChatGPT, Claude, Cursor, VS Code): URL=<MCP URL> [ARGS=-register]
	@[ -n "$(URL)" ] || { echo "usage: make doctor URL=<MCP URL, e.g. http://127.0.0.1:3000/mcp> [ARGS=-register]" >&2; exit 2; }
	@go run ./infra/cmd/doctor $(ARGS) '$(URL)'

# make dev: the whole stack on 127.0.0.1 (PORT=3000; STAGE=Prod serves it under /Prod).
# Front doors (docs/front-door.md): SAMPLE_UPSTREAM=1 runs infra/cmd/sample-mcp-server on
# PORT+10 behind front door 1 at http://127.0.0.1:3000/mcp/sample; STACK_PARAMS="FrontDoor1Upstream=…
# FrontDoor1Path=mcp/crm" puts an MCP server of yours behind one. Not with STAGE.
PORT ?= 3000
STAGE ?=
SAMPLE_UPSTREAM ?=
STACK_PARAMS ?=

.PHONY: dev
dev: ## Run the whole stack locally (MCP server with sign-in at http://127.0.0.1:3000/mcp); Ctrl-C stops it. SAMPLE_UPSTREAM=1: a sample MCP server behind a front door at /mcp/sample
	@./infra/local/services.sh install
	@SAMPLE_UPSTREAM='$(SAMPLE_UPSTREAM)' STACK_PARAMS='$(STACK_PARAMS)' ./infra/local/stack.sh run dev $(PORT) $(STAGE)

.PHONY: build
build: ## Build every function into build/<name>/bootstrap (linux/arm64, as deployed)
	@for f in $(FUNCTIONS); do \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GO_BUILD_FLAGS) -o build/$$f/bootstrap ./functions/$$f || exit 1; \
	done

.PHONY: sizes
sizes: ## Each function's deployed binary against its size budget, and its init time (infra/sizes): SIZE and INIT lines
	@./infra/local/services.sh start sizes $(TEST_DDB_PORT) $(TEST_KMS_PORT)
	@trap './infra/local/services.sh stop sizes' EXIT; set -o pipefail; \
	$(TEST_ENV) go test -count=1 -v ./infra/sizes/ | grep -vE '^(=== RUN|--- PASS|PASS$$|AWSCALL )'

# sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR set (BuildMethod: makefile).
# TokenFunction is built from functions/token, ResourceMetadataFunction from functions/resource-metadata.
build-%Function:
	dir=$$(echo '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g' | tr 'A-Z' 'a-z'); \
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$$dir

.PHONY: stack-test
stack-test: ## Check make dev's promises: URLs printed, one instance at a time, loopback only, Ctrl-C stops everything
	@./infra/local/services.sh install
	@./infra/local/stack_test.sh

# End-to-end tests (infra/e2e, Node's test runner): the MCP TypeScript SDK as the client and
# headless Chromium (Debian's chromium + playwright-core) against two stacks started like
# `make dev`: at the root (E2E_PORT) and under the /Prod stage (E2E_STAGE_PORT), with short
# access tokens so the SDK's refresh is exercised. A stack on port P also uses P+100 (WorkOS
# emulator), P+1599 (local-kms) and P+5000 (DynamoDB Local). Screenshots: test-artifacts/.
E2E_PORT ?= 3300
E2E_STAGE_PORT ?= 4100
E2E_ACCESS_TOKEN_TTL ?= 2s
# Companion mode (test/resource-servers.test.mjs): each stack also protects two MCP servers on
# loopback ports of their own (infra/cmd/sample-mcp-server, built once into .run/bin), one
# validating tokens against the JWKS, one by introspection; they are listed in the stack's
# PROTECTED_RESOURCES after its own /mcp, which stays the first (default) resource.
# The root stack also runs a front door (test/front-door.test.mjs): SAMPLE_UPSTREAM=1 puts the
# sample server, as an upstream without OAuth, on E2E_PORT+10 behind {issuer}/mcp/sample.
E2E_RS_PORTS ?= 3320 3321
E2E_STAGE_RS_PORTS ?= 4110 4111
comma := ,
space := $(subst ,, )
e2e_resources = PROTECTED_RESOURCES=$(subst $(space),$(comma),$(strip $(1)/mcp $(3) $(foreach p,$(2),http://127.0.0.1:$(p)/mcp)))
BENCH_PORT ?= 3900
BENCH_RUNS ?= 7
BENCH_WARM ?= 30
CHROMIUM ?= /usr/bin/chromium
E2E_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

infra/e2e/node_modules/.package-lock.json: infra/e2e/package.json infra/e2e/package-lock.json
	@cd infra/e2e && npm ci --no-audit --no-fund --loglevel=error

.PHONY: e2e-deps
e2e-deps: infra/e2e/node_modules/.package-lock.json ## Install what the end-to-end tests need (Debian's chromium, infra/e2e's npm packages, local services)
	@[ -x $(CHROMIUM) ] || { echo "e2e: installing chromium (apt-get)" >&2; \
		$(E2E_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(E2E_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; }
	@./infra/local/services.sh install

.PHONY: e2e
e2e: e2e-deps ## End-to-end tests: MCP TypeScript SDK + headless Chromium against the local stack, with and without /Prod
	@mkdir -p test-artifacts
	@trap './infra/local/stack.sh down e2e; ./infra/local/stack.sh down e2e-prod' EXIT; \
	SAMPLE_UPSTREAM=1 STACK_ENV="ACCESS_TOKEN_TTL=$(E2E_ACCESS_TOKEN_TTL) CLOCK_LEEWAY=1s $(call e2e_resources,http://127.0.0.1:$(E2E_PORT),$(E2E_RS_PORTS),http://127.0.0.1:$(E2E_PORT)/mcp/sample)" \
		./infra/local/stack.sh up e2e $(E2E_PORT) >/dev/null & root=$$!; \
	STACK_ENV="ACCESS_TOKEN_TTL=$(E2E_ACCESS_TOKEN_TTL) CLOCK_LEEWAY=1s $(call e2e_resources,http://127.0.0.1:$(E2E_STAGE_PORT)/Prod,$(E2E_STAGE_RS_PORTS))" \
		./infra/local/stack.sh up e2e-prod $(E2E_STAGE_PORT) Prod >/dev/null & prod=$$!; \
	go build -o .run/bin/sample-mcp-server ./infra/cmd/sample-mcp-server; b=$$?; \
	wait $$root; r1=$$?; wait $$prod; r2=$$?; [ $$r1 = 0 ] && [ $$r2 = 0 ] && [ $$b = 0 ] || { echo "e2e: a stack or the sample MCP server did not build or start" >&2; exit 1; }; \
	(cd infra/e2e && CHROMIUM_PATH=$(CHROMIUM) E2E_STACKS=e2e,e2e-prod SAMPLE_MCP_SERVER=$(CURDIR)/.run/bin/sample-mcp-server node --test \
		--test-reporter=spec --test-reporter-destination=stdout \
		--test-reporter=junit --test-reporter-destination=../../test-artifacts/e2e-junit.xml test/)

.PHONY: bench-e2e
bench-e2e: infra/e2e/node_modules/.package-lock.json ## Print the time of a full MCP sign-in flow and of a warm tool call (medians of BENCH_RUNS / BENCH_WARM)
	@./infra/local/services.sh install
	@trap './infra/local/stack.sh down bench' EXIT; \
	./infra/local/stack.sh up bench $(BENCH_PORT) >/dev/null || exit 1; \
	(cd infra/e2e && BENCH_STACK=bench BENCH_RUNS=$(BENCH_RUNS) BENCH_WARM=$(BENCH_WARM) node bench/bench.mjs)

# Performance report (docs/performance.md + docs/performance/*.png, gonum/plot): runs each
# benchmark once, one after another (infra/cmd/bench-report/run.sh). SIZES_CMD prints
# SIZE <function> <bytes> [<budget-bytes>] / INIT <function> <ms> lines.
BENCH_REPORT_DDB_PORT ?= 18700
BENCH_REPORT_KMS_PORT ?= 15300
SIZES_CMD ?= go test -count=1 -v ./infra/sizes/

.PHONY: bench-report
bench-report: infra/e2e/node_modules/.package-lock.json ## Run every benchmark once and write docs/performance.md with its plots
	@./infra/local/services.sh install
	@SIZES_CMD='$(SIZES_CMD)' BENCH_REPORT_DDB_PORT=$(BENCH_REPORT_DDB_PORT) BENCH_REPORT_KMS_PORT=$(BENCH_REPORT_KMS_PORT) \
		BENCH_PORT=$(BENCH_PORT) BENCH_RUNS=$(BENCH_RUNS) BENCH_WARM=$(BENCH_WARM) ./infra/cmd/bench-report/run.sh

# Signing-key rotation on the local stack (infra/rotation): a token signed before the
# rotation works until its key is retired; JWKS lists both keys meanwhile. Starts its own
# stack like `make dev` on ROTATION_PORT (+100 WorkOS, +1599 local-kms, +5000 DynamoDB Local).
ROTATION_PORT ?= 3950

.PHONY: rotation-test
rotation-test: ## Rotate the signing key on a local stack: old tokens work until their key is retired (~25 s)
	@./infra/local/services.sh install
	@ROTATION_STACK=1 ROTATION_PORT=$(ROTATION_PORT) go test -count=1 -v -run TestSigningKeyRotation ./infra/rotation/

# sam local invoke (AWS SAM CLI and Docker): `make invoke-token` builds TokenFunction with
# sam and invokes it with events/token.json (EVENT=events/<file>.json for another case;
# authorizer and mcp default to their first event). Placeholders are filled by events/render
# from ISSUER, SIGNING_KEY_ID and your AWS credentials (events/README.md); SAM_ARGS go to
# sam local invoke, e.g. SAM_ARGS="--config-env dev --env-vars env.json".
SAM ?= sam
SAM_ARGS ?= --config-env dev

invoke-%: ## sam local invoke a function with its event from events/ (make invoke-token; EVENT=, SAM_ARGS=)
	@[ -f functions/$*/main.go ] || { echo "invoke: no functions/$* (one of: $(FUNCTIONS))" >&2; exit 1; }
	@fn=$$(echo '$*' | sed -E 's/(^|-)([a-z])/\U\2/g')Function; \
	ev=$${EVENT:-$$(ls events/$*.json events/$*-*.json 2>/dev/null | head -1)}; \
	[ -n "$$ev" ] || { echo "invoke: no event for $* in events/ (set EVENT=)" >&2; exit 1; }; \
	mkdir -p .aws-sam && go run ./events/render $$ev > .aws-sam/event-$*.json || exit 1; \
	echo "invoke: $$fn with $$ev" >&2; \
	$(SAM) build $$fn && $(SAM) local invoke $$fn -e .aws-sam/event-$*.json $(SAM_ARGS)

.PHONY: bench
bench: ## Authorizer and token-verification benchmarks (go test -bench) against local-kms: fresh vs repeated token vs raw ES256
	@./infra/local/services.sh start bench-aws $(TEST_DDB_PORT) $(TEST_KMS_PORT)
	@trap './infra/local/services.sh stop bench-aws' EXIT; \
	$(TEST_ENV) go test -run '^$$' -bench 'Authorizer|RawES256|Verify|Parse' -benchtime 2s -count 10 ./shared/guard/ ./shared/tokens/
