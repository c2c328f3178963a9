# run.mk — the local system and the developer CLI (cmd/flexhook).
#
#   make run                 durable mode: build functions/webhook and
#                            functions/worker, run each under the Lambda
#                            emulator with goaws (and dynalite when npm ci
#                            installed it), the webhook behind a local API
#                            gateway on 127.0.0.1:3000; play the demo and a
#                            Flex outage, serve until Ctrl-C
#   make run ARGS=--once     play the demo and exit 1 if any outcome differs
#   make run ARGS=--mode=sync  the webhook alone, closing inline
#   make events              regenerate events/*.json from internal/local/samples
#
# `make test` covers `flexhook run --once` through cmd/flexhook's TestRunOnce.

# Included files are read before the main Makefile's first rule: keep `all`
# the default goal whatever rules this file defines.
.DEFAULT_GOAL := all

FLEXHOOK_CLI := $(BIN)/flexhook

.PHONY: run events flexhook-cli

# The CLI is built (not `go run`) so that Ctrl-C reaches it directly and its
# exit code is make's.
flexhook-cli:
	$(GO) build -o $(FLEXHOOK_CLI) ./cmd/flexhook

run: flexhook-cli
	$(FLEXHOOK_CLI) run $(ARGS)

events: flexhook-cli
	$(FLEXHOOK_CLI) events --dir events
