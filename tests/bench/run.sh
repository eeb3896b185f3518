#!/bin/sh
# run.sh BUILD_DIR [SOURCE_DIR] - spanprof's overhead, measured side by
# side with the floor and with peers, on this machine.
#
# Every variant runs RUNS times (default 7), interleaved round by round so
# that machine noise hits them alike; every figure and every verdict is a
# median. Two modes:
#
#  - in loop: the program times its own loop (bench.c); ns/call is the
#    cost of one instrumented call (its enter and exit hooks) over the
#    uninstrumented build.
#  - whole process: user+sys CPU of the process and of every process it
#    starts (uftrace's writer), exit included (spanprof writes its dump
#    to a file), over the uninstrumented build, per call.
#
# The trace-size matrix: traces of K leaf calls under one root
# (K = 10, 1,000, 10,000, 100,000), SPANPROF_MAX_TRACES=200 so that the
# store evicts all along. Runtime variants: "shared" is libspanprof.so as
# `pkg-config --libs spanprof` links it (the hook stub in the program),
# "oldlink" the same library linked -lspanprof only, "static" libspanprof.a
# with the stub. Peers: uftrace record -b 1m (Debian's), LLVM XRay in FDR
# mode (Debian's clang); funtrace is not fetched (no network here).
#
# N (calls per run, default 10000000), RUNS, and SIZES change the effort.
set -eu
dir=$1
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
N=${N:-10000000}
RUNS=${RUNS:-7}
SIZES=${SIZES:-10 1000 10000 100000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The machine and the build.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "machine: ${cpu:-unknown CPU}, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
echo "compiler: $(cc --version | head -1)"

# XRay: the same program, built by clang with every function patched.
xray=""
if command -v clang >/dev/null 2>&1 &&
	clang -O2 -fxray-instrument -fxray-instruction-threshold=1 -DSPANPROF_DISABLE -I"$src/include" \
		"$src/tests/bench/bench.c" -o "$tmp/bench_xray" 2>"$tmp/xray.log"; then
	xray=$tmp/bench_xray
	echo "xray: $(clang --version | head -1), FDR mode"
else
	echo "xray: not measured (clang with -fxray-instrument unavailable)"
fi
uftrace=""
if command -v uftrace >/dev/null 2>&1; then
	uftrace=uftrace
	echo "uftrace: $(uftrace --version 2>&1 | head -1), record -b 1m"
else
	echo "uftrace: not measured (not installed)"
fi
echo "funtrace: not measured (built from its public source only, and this benchmark fetches nothing)"
echo

xray_env="XRAY_OPTIONS=patch_premain=true xray_mode=xray-fdr verbosity=0 xray_logfile_base=$tmp/xray/xray-log."
mkdir -p "$tmp/xray"

# variant name | K | environment (space-separated, no spaces in values
# except for the XRAY_OPTIONS line, handled below) | command
variants() {
	cat <<V
plain|1000||$dir/bench_plain
empty_hooks|1000||$dir/bench_empty
floor_rdtsc_ring|1000||$dir/bench_floor
disabled|1000||$dir/bench_spanprof
disabled_oldlink|1000||$dir/bench_spanprof_oldlink
disabled_static|1000||$dir/bench_spanprof_static
out_of_scope|1000|SPANPROF_TRACE_CALLS=nothing_matches_this|$dir/bench_spanprof
out_of_scope_oldlink|1000|SPANPROF_TRACE_CALLS=nothing_matches_this|$dir/bench_spanprof_oldlink
out_of_scope_static|1000|SPANPROF_TRACE_CALLS=nothing_matches_this|$dir/bench_spanprof_static
traced_static|1000|SPANPROF_TRACE_CALLS=chunk SPANPROF_MAX_TRACES=200|$dir/bench_spanprof_static
sp_span|1000|SPANPROF_ENABLED=1|$dir/bench_spanprof
sp_cumulative|1000|SPANPROF_ENABLED=1|$dir/bench_spanprof
trace_cpu|1000|SPANPROF_ENABLED=1 SPANPROF_CPU=1|$dir/bench_spanprof
trace_nocpu|1000|SPANPROF_ENABLED=1 SPANPROF_CPU=0|$dir/bench_spanprof
V
	for k in $SIZES; do
		echo "traced_$k|$k|SPANPROF_TRACE_CALLS=chunk SPANPROF_MAX_TRACES=200|$dir/bench_spanprof"
	done
	if [ -n "$uftrace" ]; then
		echo "uftrace_b1m|1000||uftrace record --no-libcall -b 1m -d $tmp/uftrace.data $dir/bench_plain_pg"
	fi
	if [ -n "$xray" ]; then
		echo "xray_fdr|1000|XRAY|$xray"
	fi
}

# run ENV CMD ARGS...: env is "XRAY" for XRay's options (with spaces)
run() {
	e=$1
	shift
	if [ "$e" = XRAY ]; then
		env SPANPROF_OUTPUT= "$xray_env" "$@"
	else
		# shellcheck disable=SC2086
		env SPANPROF_OUTPUT= $e "$@"
	fi
}

for r in $(seq "$RUNS"); do
	variants | while IFS='|' read -r name k envs cmd; do
		what=calls
		case $name in sp_span) what=span ;; sp_cumulative) what=cumul ;; trace_cpu | trace_nocpu) what=trace ;; esac
		# shellcheck disable=SC2086
		nn=$N
		[ "$what" = trace ] && nn=$((N / 100)) # a trace costs microseconds
		out=$(run "$envs" $cmd $what "$nn" "$k" 2>/dev/null | sed -n 's/^ns_per_op //p')
		echo "$name ${out:-nan}" >>"$tmp/results"
		rm -rf "$tmp/uftrace.data" "$tmp/xray"/*
	done
	printf '.' >&2
done
echo >&2

# Whole process: CPU of the process and its children, exit included.
python3 - "$dir" "$N" "$RUNS" "$tmp" "$SIZES" "$uftrace" "$xray" "$xray_env" >"$tmp/cpu" <<'PY'
import os, resource, statistics, subprocess, sys, shutil
d, n, runs, tmp, sizes, uftrace, xray, xray_env = sys.argv[1:9]
n, runs, sizes = int(n), int(runs), [int(s) for s in sizes.split()]
base = dict(os.environ, SPANPROF_OUTPUT="")
cmds = {}  # name: (K, env, argv)
for k in sizes:
    cmds[f"plain_{k}"] = (k, base, [f"{d}/bench_plain"])
    cmds[f"floor_{k}"] = (k, base, [f"{d}/bench_floor"])
    cmds[f"traced_{k}"] = (k, dict(base, SPANPROF_TRACE_CALLS="chunk", SPANPROF_MAX_TRACES="200",
                                   SPANPROF_OUTPUT=f"{tmp}/whole.out"), [f"{d}/bench_spanprof"])
if uftrace:
    cmds["uftrace_1000"] = (1000, base, ["uftrace", "record", "--no-libcall", "-b", "1m", "-d", f"{tmp}/ucpu",
                                         f"{d}/bench_plain_pg"])
if xray:
    k, v = xray_env.split("=", 1)
    cmds["xray_1000"] = (1000, dict(base, **{k: v}), [xray])
res = {c: [] for c in cmds}
for _ in range(runs):
    for c, (k, env, argv) in cmds.items():
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv + ["calls", str(n), str(k)], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        res[c].append((r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime))
        shutil.rmtree(f"{tmp}/ucpu", ignore_errors=True)
        for f in (f"{tmp}/whole.out",):
            if os.path.exists(f):
                os.unlink(f)
        for f in os.listdir(f"{tmp}/xray"):
            os.unlink(f"{tmp}/xray/{f}")
for c, (k, _, _) in cmds.items():
    chunks = n // k
    calls = (chunks + chunks // 10 + 1) * (k + 1)  # warm-up included; chunk() is a call too
    plain = statistics.median(res[f"plain_{k}"])
    print(c, k, (statistics.median(res[c]) - plain) * 1e9 / calls)
PY

# Bytes of store per recorded span, from a dump of the traced run.
env SPANPROF_TRACE_CALLS=chunk SPANPROF_FLIGHT=0 SPANPROF_OUTPUT="$tmp/bench.out" "$dir/bench_spanprof" calls 1000000 >/dev/null
bytes=$(python3 - "$tmp/bench.out" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, spans, stream, traces = 64, 0, 0, 0
while off < len(d):
    typ, _, ln = struct.unpack_from('<IIQ', d, off)
    if typ == 4:
        nrec = struct.unpack_from('<I', d, off + 16 + 48)[0]
        idlen = struct.unpack_from('<H', d, off + 16 + 56)[0]
        p = off + 16 + 58 + idlen
        p += (-p) % 8
        spans += nrec; stream += struct.unpack_from('<Q', d, p)[0]; traces += 1
    off += 16 + ln
print("%.2f %d %d" % (stream / spans, spans, traces))
PY
)

python3 - "$tmp/results" "$tmp/cpu" "$bytes" "$N" "$RUNS" "$SIZES" <<'PY'
import math, statistics, sys
res = {}
for line in open(sys.argv[1]):
    name, *v = line.split()
    if v and v[0] != 'nan':
        res.setdefault(name, []).append(float(v[0]))
cpu = {}
for line in open(sys.argv[2]):
    name, k, v = line.split()
    cpu[name] = float(v)
bytes_per_span, spans, traces = sys.argv[3].split()
n, runs, sizes = sys.argv[4], sys.argv[5], sys.argv[6].split()
med = {k: statistics.median(v) for k, v in res.items()}
base = med.get('plain', 0.0)
per_op = ('sp_span', 'sp_cumulative', 'trace_cpu', 'trace_nocpu')
over = {k: (m - base if k not in per_op else m) for k, m in med.items()}
nan = float('nan')

print(f"spanprof overhead benchmark: {n} calls per run, medians of {runs} interleaved runs\n")
print("In loop (the program's own timing), ns per call:\n")
print(f"| {'variant':<22} | {'ns/op':>8} | {'min':>8} | {'max':>8} | {'over plain':>10} |")
print(f"|{'-' * 24}|{'-' * 9}:|{'-' * 9}:|{'-' * 9}:|{'-' * 11}:|")
order = ['plain', 'empty_hooks', 'floor_rdtsc_ring', 'disabled', 'disabled_oldlink', 'disabled_static',
         'out_of_scope', 'out_of_scope_oldlink', 'out_of_scope_static'] + \
        [f"traced_{k}" for k in sizes] + ['traced_static', 'uftrace_b1m', 'xray_fdr', 'sp_span', 'sp_cumulative']
for k in order:
    if k in med:
        extra = '' if k in ('plain',) + per_op else f"{over[k]:.2f}"
        print(f"| {k:<22} | {med[k]:8.2f} | {min(res[k]):8.2f} | {max(res[k]):8.2f} | {extra:>10} |")
if 'trace_cpu' in med and 'trace_nocpu' in med:
    print(f"\nA trace holding one span: {med['trace_cpu']:.0f} ns with its CPU readings (SPANPROF_CPU=1), "
          f"{med['trace_nocpu']:.0f} ns without: the readings cost {med['trace_cpu'] - med['trace_nocpu']:.0f} ns per trace.")
print("\n(traced_K: traces of K leaf calls under one root, SPANPROF_MAX_TRACES=200, evicting; "
      "traced_static: K = 1000; sp_span, sp_cumulative: ns per span / iteration, inside a trace)\n")

if cpu:
    print("Whole process (user+sys CPU of every process, exit and dump included), ns per call over plain:\n")
    print(f"| {'K (calls per trace)':<20} | {'floor':>8} | {'spanprof':>9} | {'spanprof / floor':>16} |")
    print(f"|{'-' * 22}|{'-' * 9}:|{'-' * 10}:|{'-' * 17}:|")
    for k in sizes:
        f, t = cpu.get(f"floor_{k}", nan), cpu.get(f"traced_{k}", nan)
        print(f"| {k:<20} | {f:8.2f} | {t:9.2f} | {t / f if f > 0 else nan:16.2f} |")
    for peer in ('uftrace_1000', 'xray_1000'):
        if peer in cpu:
            p, t = cpu[peer], cpu.get('traced_1000', nan)
            print(f"\n{peer.split('_')[0]} (K = 1000): {p:.2f} ns per call; {peer.split('_')[0]} / spanprof = {p / t:.2f}")
    print()

def ratio(a, b):
    return over[a] / over[b] if a in over and over.get(b) else nan
checks = [
    ("disabled / empty hooks (shared)", ratio('disabled', 'empty_hooks'), "<= 1.3", lambda r: r <= 1.3),
    ("disabled / empty hooks (static)", ratio('disabled_static', 'empty_hooks'), "<= 1.3", lambda r: r <= 1.3),
    ("out of scope, ns/call (shared)", over.get('out_of_scope', nan), "<= 3", lambda r: r <= 3),
    ("out of scope, ns/call (static)", over.get('out_of_scope_static', nan), "<= 3", lambda r: r <= 3),
]
for k in sizes:
    checks.append((f"traced / floor, in loop, K={k}", ratio(f"traced_{k}", 'floor_rdtsc_ring'), "<= 1.3",
                   lambda r: r <= 1.3))
checks.append(("traced (static) / floor, K=1000", ratio('traced_static', 'floor_rdtsc_ring'), "<= 1.3",
               lambda r: r <= 1.3))
for k in sizes:
    if f"traced_{k}" in cpu:
        checks.append((f"traced / floor, whole process, K={k}", cpu[f"traced_{k}"] / cpu[f"floor_{k}"], "<= 1.3",
                       lambda r: r <= 1.3))
if 'uftrace_1000' in cpu and 'traced_1000' in cpu:
    checks.append(("uftrace -b 1m / traced, whole process", cpu['uftrace_1000'] / cpu['traced_1000'], ">= 4",
                   lambda r: r >= 4))
if 'xray_1000' in cpu and 'traced_1000' in cpu:
    checks.append(("xray fdr / traced, whole process", cpu['xray_1000'] / cpu['traced_1000'], ">= 1",
                   lambda r: r >= 1))
checks.append(("bytes of store per span", float(bytes_per_span), "<= 24", lambda r: r <= 24))
print(f"| {'target (medians)':<42} | {'value':>8} | {'target':<7} | verdict |")
print(f"|{'-' * 44}|{'-' * 9}:|{'-' * 9}|{'-' * 9}|")
for name, val, target, ok in checks:
    verdict = 'n/a' if math.isnan(val) else ('ok' if ok(val) else 'MISSED')
    print(f"| {name:<42} | {val:8.2f} | {target:<7} | {verdict:<7} |")
print(f"\n({spans} spans in {traces} traces for the bytes figure: record streams only; "
      "each stored trace also has a 256-byte header)")
PY
