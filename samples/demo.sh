#!/bin/sh
# demo.sh - install what is missing, build, and profile samples/datagrid:
#   - with no probe added (SPANPROF_TRACE_CALLS=navigate_cell): every call;
#   - where a row's rendering time goes, as pie charts (terminal, SVG);
#   - with its manual probes (SPANPROF_ENABLED=1): a trace per command,
# then the list of traces and the tree of the slowest one; and ends by
# writing all of it as one web page, build/demo/report.html (spanprof
# report: opens from disk, no server, no network). Dumps, the SVG and the
# page go to build/demo/.
set -eu
cd "$(dirname "$0")/.."
.ci/install-deps libmicrohttpd-dev  # for `spanprof ui` afterwards (the README)
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
out=build/demo
sp=build/tools/spanprof
mkdir -p "$out"
if [ -t 1 ]; then
	title() { printf '\n\033[1m== %s\033[0m\n\n' "$*"; }
else
	title() { printf '\n== %s\n\n' "$*"; }
fi

title "No probe added (SPANPROF_TRACE_CALLS=navigate_cell): every call below it; ◀ marks the path where the time goes; oob_swap appears twice, the manual span and, under it, the function of the same name"
SPANPROF_TRACE_CALLS=navigate_cell SPANPROF_OUTPUT="$out/calls.out" build/samples/datagrid
"$sp" show -f "$out/calls.out" slowest --min-pct 3
title "The same, across all the commands, per function: a recursive function's total counts its outermost calls only"
"$sp" top -f "$out/calls.out" --by function --limit 8

title "Where the time of rendering one row goes: render_escaped appends one character at a time"
"$sp" pie -f "$out/calls.out" slowest --min-pct 2 \
	--zoom navigate_cell/navigate_cell/oob_swap/oob_swap/render_page/render_row/render_row
"$sp" pie -f "$out/calls.out" slowest --min-pct 2 --svg "$out/render_row.svg" \
	--zoom navigate_cell/navigate_cell/oob_swap/oob_swap/render_page/render_row/render_row

title "The manual probes (SPANPROF_ENABLED=1): one trace per command, its CPU time beside its duration"
SPANPROF_ENABLED=1 SPANPROF_OUTPUT="$out/datagrid.out" build/samples/datagrid
"$sp" pie -f "$out/datagrid.out" slowest --min-pct 0.5 --svg "$out/pie.svg"
"$sp" list -f "$out/datagrid.out"
title "Every command that ended, stored or not: counts and percentiles per name (spanprof stats)"
"$sp" stats -f "$out/datagrid.out"
title "The slow commands are kept among the recent ones (SPANPROF_KEEP_SLOWEST): slowest first, marked (kept: slowest)"
"$sp" list -f "$out/datagrid.out" --sort duration --limit 12
title "The slowest command: its header says how much of it was off the CPU"
"$sp" show -f "$out/datagrid.out" slowest
printf '\nPie charts: %s/pie.svg, %s/render_row.svg (open in a browser)\n' "$out" "$out"

title "All of it as a web page: list, tree, pie, flame graph (spanprof report)"
"$sp" report -f "$out/datagrid.out" -f "$out/calls.out" -o "$out/report.html" >/dev/null
printf 'The page (open it in a browser; it needs no network): %s/report.html\n' "$out"
