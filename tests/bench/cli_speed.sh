#!/bin/sh
# cli_speed.sh BUILD_DIR - how fast the CLI reads: `list` of a 500-trace
# dump, and `show` (symbolization included) of a trace of 1,000,000 spans.
# Medians of several runs (hyperfine when installed, else 5 runs of time).
# Then a trace of 10,000,000 spans: wall and CPU time, ns per span, peak
# RSS and bytes per span (peak RSS less the dump, which is read whole) of
# show --depth 3, top and the exports; bytes per event of the Chrome one.
# SP_BENCH_SPANS=N sets that size (a multiple of 5).
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

spans=${SP_BENCH_SPANS:-10000000}
SPANPROF_TRACE_CALLS=big_root SPANPROF_BUFFER_MB=$((spans / 10000 + 64)) SPANPROF_OUTPUT=$tmp/big.out \
	"$b/tests/bench/bigtrace" "$spans" >/dev/null
n=$(nodes $tmp/big.out)
size=$(stat -c %s $tmp/big.out)
echo
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "big.out: $((size / 1048576)) MB, 1 trace, $n nodes"
printf '%-34s %8s %8s %8s %9s %9s\n' command "wall s" "cpu s" "ns/span" "RSS MB" "B/span"
for c in "show -f $tmp/big.out 1 --depth 3" "top -f $tmp/big.out" "export -f $tmp/big.out --format perfetto" \
	"export -f $tmp/big.out --format folded" "export -f $tmp/big.out --format otlp" \
	"export -f $tmp/big.out --format chrome"; do
	/usr/bin/time -o $tmp/t -f "%e %U %S %M" $sp $c | wc -c >$tmp/bytes
	read -r wall user sys kb <$tmp/t
	echo "$c" | sed "s|$tmp/||" | awk -v w="$wall" -v u="$user" -v s="$sys" -v kb="$kb" -v n="$n" -v sz="$size" \
		'{ printf "%-34s %8.2f %8.2f %8.0f %9.0f %9.0f\n", $0, w, u + s, (u + s) * 1e9 / n, kb / 1024, (kb * 1024 - sz) / n }'
	case $c in *chrome*) echo "  chrome: $(($(cat $tmp/bytes) / n)) bytes per event" ;; esac
done
