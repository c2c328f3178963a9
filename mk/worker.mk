# Durable mode: the queue worker's packages (see docs/durable.md). The
# worker's build targets (build, build-WorkerFunction) are in the Makefile.

.PHONY: test-durable

# test-durable: the queue adapter, the goaws harness, the event source
# mapping emulator, the worker (unit and end-to-end) and redrive.
test-durable: node_modules/.package-lock.json
	$(GO) test -race -count=1 ./internal/queue/... ./internal/queue/sqstest/... ./internal/local/sqstrigger/... \
		./internal/worker/... ./cmd/flexhook/redrive/... ./functions/worker/...
