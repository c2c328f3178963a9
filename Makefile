# flexhook — see README.md.
#
#   make run    run the whole system locally (Lambda emulator + simulators)
#   make test   run every test (what CI runs)

SHELL := /bin/bash
GO ?= go
# The Go toolchain (1.27.3) is pinned by go.mod's toolchain line; see the
# comment there for why. Some Go distributions, this machine's included, ship
# GOTOOLCHAIN=local in $GOROOT/go.env, which ignores that line; auto is the
# go command's own default and obeys it.
export GOTOOLCHAIN ?= auto
# The deployed architecture (template.yaml: arm64, provided.al2023).
LAMBDA_GOARCH ?= arm64
LAMBDA_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w -buildid="
FUNCTIONS := webhook worker sweeper
BIN := bin

.PHONY: all build test lint vet events clean

# Each area keeps its own targets in mk/*.mk (run, bench, security…).
include $(sort $(wildcard mk/*.mk))

all: build

# sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR set.
build-WebhookFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook
build-WorkerFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/worker
build-SweeperFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sweeper

# build: every function as the arm64 bootstrap it deploys as, under bin/.
build:
	@for f in $(FUNCTIONS); do \
		echo "build $(BIN)/$$f/bootstrap"; \
		$(LAMBDA_BUILD) -o $(BIN)/$$f/bootstrap ./functions/$$f || exit 1; \
	done

# node_modules: npm packages the tests run as real servers (dynalite).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# test: every test — unit, integration against loopback fakes and real
# local servers, and the end-to-end suite under the Lambda emulator.
test: node_modules/.package-lock.json
	$(GO) test -race -count=1 ./...

# events: see mk/run.mk (`flexhook events`).

vet:
	$(GO) vet ./...

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool staticcheck ./...

clean:
	rm -rf $(BIN) .aws-sam
