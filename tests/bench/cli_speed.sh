#!/bin/sh
# cli_speed.sh BUILD_DIR - how fast the CLI reads: `list` of a 500-trace
# dump, and `show` (symbolization included) of a trace of 1,000,000 spans.
# Medians of several runs (hyperfine when installed, else 5 runs of time).
set -eu
b=$(cd "$1" && pwd)
sp=$b/tools/spanprof
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
SPANPROF_ENABLED=1 SPANPROF_OUTPUT=$tmp/500.out "$b/samples/datagrid" 600 >/dev/null
SPANPROF_TRACE_CALLS=navigate_cell SPANPROF_BUFFER_MB=1024 SPANPROF_OUTPUT=$tmp/500tc.out "$b/samples/datagrid" 500 >/dev/null
SPANPROF_TRACE_CALLS=big_root SPANPROF_BUFFER_MB=256 SPANPROF_OUTPUT=$tmp/1m.out "$b/tests/bench/bigtrace" >/dev/null
nodes() { "$sp" list -f "$1" | awk 'NR>2 && $NF ~ /^[0-9]+$/ {s += $NF} END {print s}'; }
echo "dumps: 500.out $(du -h $tmp/500.out | cut -f1), 500 traces, $(nodes $tmp/500.out) nodes (manual probes)"
echo "       500tc.out $(du -h $tmp/500tc.out | cut -f1), 500 traces, $(nodes $tmp/500tc.out) nodes (trace_calls)"
echo "       1m.out $(du -h $tmp/1m.out | cut -f1), 1 trace, $(nodes $tmp/1m.out) nodes"
if command -v hyperfine >/dev/null 2>&1; then
	hyperfine -N --warmup 1 --runs 7 --style basic \
		"$sp list -f $tmp/500.out" \
		"$sp list -f $tmp/500tc.out" \
		"$sp show -f $tmp/1m.out 1" \
		"$sp show -f $tmp/1m.out 1 --json" \
		"$sp top -f $tmp/1m.out" 2>&1 | grep -E "Benchmark|Time \(mean|Range" | sed "s|$tmp/||g; s|$sp|spanprof|g"
else
	for c in "list -f $tmp/500.out" "list -f $tmp/500tc.out" "show -f $tmp/1m.out 1"; do
		echo "$c:"
		for i in 1 2 3 4 5; do /usr/bin/time -f "  %e s" $sp $c >/dev/null; done
	done
fi
