# Security checks (docs/security.md).
#
#   make fuzz-short   every fuzz target for FUZZTIME (10s) each; part of `make test`
#   make fuzz FUZZ=FuzzInvoke PKG=./internal/webhook FUZZTIME=10m   one target, longer
#   make vulncheck    govulncheck against an offline copy of the Go vulnerability
#                     database; part of `make lint`

.PHONY: fuzz-short fuzz vulncheck

FUZZTIME ?= 10s
# Minimizing new corpus entries can take a minute per entry by default; the
# short runs are for finding crashes, not for growing the corpus.
FUZZMINIMIZETIME ?= 2s

# The seed corpora (testdata/fuzz) run with the ordinary tests; these runs
# mutate them. See mk/fuzz-short.sh.
fuzz-short:
	GO=$(GO) mk/fuzz-short.sh $(FUZZTIME) $(FUZZMINIMIZETIME)

fuzz:
	@if [ -z "$(FUZZ)" ] || [ -z "$(PKG)" ]; then echo "usage: make fuzz FUZZ=FuzzName PKG=./internal/pkg [FUZZTIME=10m]"; exit 2; fi
	$(GO) test -run='^$$' -fuzz='^$(FUZZ)$$' -fuzztime=$(FUZZTIME) $(PKG)

# `make test` runs the short fuzz runs too.
test: fuzz-short

# The Go vulnerability database, from golang.org/x/vulndb at a pinned version
# and go.sum hash, fetched through the Go module proxy (vuln.go.dev is not
# reachable from the project's machines). Bump both together.
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULNDB_SUM := h1:mfngRv0Yoh0VApsXKEN82CjD99kl7mtparN3bs3JnqI=
VULNDB_DIR := $(CURDIR)/.cache/vulndb/$(VULNDB_VERSION)

$(VULNDB_DIR)/index/modules.json:
	$(GO) run ./tools/vulndb build -version $(VULNDB_VERSION) -sum $(VULNDB_SUM) -out $(VULNDB_DIR)

# vulncheck fails on any vulnerability flexhook's code calls unless
# mk/vulncheck-accepted.txt accepts it at the version found, and on stale
# exceptions.
vulncheck: $(VULNDB_DIR)/index/modules.json
	$(GO) tool govulncheck -db file://$(VULNDB_DIR) -format json ./... > $(VULNDB_DIR)/report.json
	$(GO) run ./tools/vulndb check -accept mk/vulncheck-accepted.txt $(VULNDB_DIR)/report.json

lint: vulncheck
