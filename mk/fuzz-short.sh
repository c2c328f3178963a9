#!/usr/bin/env bash
# Runs every fuzz target of the module for a short fixed time, one at a time
# (`go test -fuzz` takes one target of one package). Usage:
#   mk/fuzz-short.sh FUZZTIME MINIMIZETIME
set -uo pipefail
fuzztime=${1:-10s}
minimize=${2:-2s}
go=${GO:-go}

targets=$("$go" test -list '^Fuzz' ./... | awk '/^Fuzz/ { t[n++] = $1 } /^ok/ { for (i = 0; i < n; i++) print $2 " " t[i]; n = 0 }')
if [ -z "$targets" ]; then
	echo "fuzz-short: no fuzz targets found" >&2
	exit 1
fi
passed=0 failed=0
while read -r pkg name; do
	echo "--- fuzz $name ($pkg, $fuzztime)"
	out=$("$go" test -run='^$' -fuzz="^$name\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" "$pkg" 2>&1)
	rc=$?
	echo "$out" | tail -n 4
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
	else
		echo "$out"
		echo "fuzz-short: $name FAILED; a failing input, if any, is in testdata/fuzz/$name of $pkg"
		failed=$((failed + 1))
	fi
done <<<"$targets"
echo "fuzz-short: $passed passed, $failed failed"
[ $failed -eq 0 ]
