# Durable mode: the queue worker Lambda and its local SQS (see docs/durable.md).

FUNCTIONS += worker

.PHONY: build-WorkerFunction test-durable

# sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR set.
build-WorkerFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/worker

# test-durable: the queue adapter, the goaws harness, the event source
# mapping emulator, the worker (unit and end-to-end) and redrive.
test-durable: node_modules/.package-lock.json
	$(GO) test -race -count=1 ./internal/queue/... ./internal/sqstest/... ./internal/esm/... \
		./internal/worker/... ./internal/redrive/... ./functions/worker/...
