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
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: test
test: ## Install and start DynamoDB Local and local-kms, run every Go test, stop them
	@./infra/local/services.sh start test $(TEST_DDB_PORT) $(TEST_KMS_PORT)
	@trap './infra/local/services.sh stop test' EXIT; \
	$(TEST_ENV) go test -count=1 ./...

.PHONY: services
services: ## Start DynamoDB Local and local-kms on the test ports and print the variables to export
	@./infra/local/services.sh start test $(TEST_DDB_PORT) $(TEST_KMS_PORT)
	@echo "export $(TEST_ENV)"

.PHONY: services-stop
services-stop: ## Stop what `make services` started
	@./infra/local/services.sh stop test

# make dev: the whole stack on 127.0.0.1 (PORT=3000; STAGE=Prod serves it under /Prod).
PORT ?= 3000
STAGE ?=

.PHONY: dev
dev: ## Run the whole stack locally (MCP server with sign-in at http://127.0.0.1:3000/mcp); Ctrl-C stops it
	@./infra/local/services.sh install
	@./infra/local/stack.sh run dev $(PORT) $(STAGE)

.PHONY: build
build: ## Build every function into build/<name>/bootstrap (linux/arm64, as deployed)
	@for f in $(FUNCTIONS); do \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GO_BUILD_FLAGS) -o build/$$f/bootstrap ./functions/$$f || exit 1; \
	done

# sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR set (BuildMethod: makefile).
# TokenFunction is built from functions/token, ResourceMetadataFunction from functions/resource-metadata.
build-%Function:
	dir=$$(echo '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g' | tr 'A-Z' 'a-z'); \
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$$dir

.PHONY: stack-test
stack-test: ## Check make dev's promises: URLs printed, one instance at a time, loopback only, Ctrl-C stops everything
	@./infra/local/services.sh install
	@./infra/local/stack_test.sh
