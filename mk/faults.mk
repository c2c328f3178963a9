# faults.mk — the fault-injection suite (internal/testing/faults; figures in
# docs/durable.md).
#
#   make faults                      run the suite and print its figures,
#                                    the 10,000-event replay included
#   make faults FAULTS_EVENTS=2000   a smaller replay
#
# make test runs the same suite, but go test shows a passing package's output
# only with -v: this target has the tests append their figures to a file and
# prints it.

# Included files are read before the main Makefile's first rule: keep `all`
# the default goal whatever rules this file defines.
.DEFAULT_GOAL := all

FAULTS_EVENTS ?= 10000
FAULTS_REPORT ?= $(BIN)/faults-report.txt

.PHONY: faults

faults: node_modules/.package-lock.json
	@mkdir -p $(dir $(FAULTS_REPORT)) && rm -f $(FAULTS_REPORT)
	@$(GO) test -race -count=1 ./internal/testing/faults/ -args -faults.events=$(FAULTS_EVENTS) \
		-faults.report=$(abspath $(FAULTS_REPORT)); status=$$?; \
		cat $(FAULTS_REPORT) 2>/dev/null; exit $$status
