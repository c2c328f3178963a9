# bench: measured performance (issue 6). Not part of `make test`: it takes a
# few minutes. Prints the table with each target's pass/fail and writes
# bench/results.json and bench/README.md. `make bench-quick` tries the
# harness in seconds (numbers not representative).
.PHONY: bench bench-quick

bench:
	$(GO) run ./cmd/flexhook-bench -json bench/results.json -md bench/README.md

bench-quick:
	$(GO) run ./cmd/flexhook-bench -quick -json "" -md ""
