#!/bin/sh
# real.sh BUILD_DIR SOURCE_DIR - a real program under spanprof: the Lua
# interpreter from Debian's source package, instrumented whole, running a
# fixed workload (real.lua) in which every pcall is a trace
# (SPANPROF_TRACE_CALLS=luaB_pcall: every C call under it is a span).
# Compared, whole process (user+sys, exit and dump included) and peak RSS:
#   plain    the uninstrumented interpreter
#   floor    instrumented, the rdtsc-ring floor hooks (floor_hooks.c)
#   spanprof instrumented, libspanprof.so as pkg-config links it
#   uftrace  built with -pg, uftrace record -b 1m
# The source is downloaded with `apt-get source` into BUILD_DIR (never into
# the source tree); a deb-src entry for the configured Debian mirror is
# added to /etc/apt/sources.list.d when none is there and we are root.
# `ninja -C build bench-real`. RUNS (default 5) and ITER (pcalls, default
# 3000) change the effort.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
RUNS=${RUNS:-5}
ITER=${ITER:-3000}
work=$build/tests/bench/real
mkdir -p "$work"
cd "$work"

# 1. The source.
if ! ls lua5.4_*.orig.tar.gz >/dev/null 2>&1; then
	if ! apt-get source --download-only lua5.4 >apt.log 2>&1; then
		if [ "$(id -u)" = 0 ] && ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d; then
			uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
			suite=$(sed -n 's/^Suites: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
			printf '%s\n' "# added by spanprof's tests/bench/real.sh" "Types: deb-src" "URIs: ${uri:-http://deb.debian.org/debian}" \
				"Suites: ${suite:-bookworm}" "Components: main" \
				"Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
				>/etc/apt/sources.list.d/spanprof-bench-src.sources
			apt-get update >>apt.log 2>&1 || true
		fi
		apt-get source --download-only lua5.4 >>apt.log 2>&1 || {
			echo "bench-real: cannot download lua5.4's source (apt-get source; see $work/apt.log)"
			exit 1
		}
	fi
fi
if [ ! -d lua ]; then
	mkdir lua && tar -xzf lua5.4_*.orig.tar.gz -C lua --strip-components=1
fi
version=$(ls lua5.4_*.dsc | sed 's/\.dsc$//')

# 2. Four builds of the same sources (the instrumented objects once).
cflags="-O2 -g -DLUA_USE_LINUX -DLUA_COMPAT_5_3"
srcs=$(ls lua/src/*.c | grep -v '/luac\.c$')
if [ ! -x lua-plain ] || [ ! -d instr ]; then
	mkdir -p instr
	for f in $srcs; do
		cc $cflags -finstrument-functions -c "$f" -o "instr/$(basename "$f" .c).o"
	done
	cc -O2 -c "$src/tests/bench/floor_hooks.c" -o floor_hooks.o
	cc $cflags instr/*.o floor_hooks.o -o lua-floor -lm -ldl
	cc $cflags -pg $srcs -o lua-pg -lm -ldl
	cc $cflags $srcs -o lua-plain -lm -ldl
fi
# relinked every time: the stub is linked into the program
cc instr/*.o -o lua-spanprof -L"$build/runtime" -Wl,-rpath,"$build/runtime" -lspanprof_hooks -lspanprof -lm -ldl
cp "$src/tests/bench/real.lua" .

# 3. Interleaved runs; CPU and peak RSS of each process tree.
python3 - "$work" "$RUNS" "$ITER" "$version" "$build" <<'PY'
import os, shutil, statistics, struct, subprocess, sys, tempfile
work, runs, it, version, build = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
tmp = tempfile.mkdtemp()
env = dict(os.environ)
for k in list(env):
    if k.startswith("SPANPROF_"):
        del env[k]
out = f"{tmp}/lua.out"
cmds = {
    "plain": (env, [f"{work}/lua-plain"]),
    "floor": (env, [f"{work}/lua-floor"]),
    "spanprof": (dict(env, SPANPROF_TRACE_CALLS="luaB_pcall", SPANPROF_MAX_TRACES="200", SPANPROF_OUTPUT=out),
                 [f"{work}/lua-spanprof"]),
}
if shutil.which("uftrace"):
    cmds["uftrace -b 1m"] = (env, ["uftrace", "record", "--no-libcall", "-b", "1m", "-d", f"{tmp}/u", f"{work}/lua-pg"])

def run(e, argv):
    p = subprocess.Popen(argv + [f"{work}/real.lua", it], env=e, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    before = os.times()
    outp = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    # children of the child (uftrace's writer) are in RUSAGE_CHILDREN of the child, which
    # wait4 returns: ru covers the whole tree that the child waited for
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss, outp

res = {k: [] for k in cmds}
rss = {k: [] for k in cmds}
outputs = {}
for _ in range(runs):
    for k, (e, argv) in cmds.items():
        c, m, o = run(e, argv)
        res[k].append(c)
        rss[k].append(m)
        outputs.setdefault(k, o)
        shutil.rmtree(f"{tmp}/u", ignore_errors=True)
    print(".", end="", file=sys.stderr, flush=True)
print(file=sys.stderr)
# one more spanprof run, kept: how many calls it recorded
subprocess.run(cmds["spanprof"][1] + [f"{work}/real.lua", it], env=cmds["spanprof"][0], stdout=subprocess.DEVNULL)
d = open(out, "rb").read()
off, spans, traces = 64, 0, 0
while off < len(d):
    typ, _, ln = struct.unpack_from("<IIQ", d, off)
    if typ == 4:
        spans += struct.unpack_from("<I", d, off + 16 + 48)[0]
        traces += 1
    off += 16 + ln
same = len(set(outputs.values())) == 1
med = {k: statistics.median(v) for k, v in res.items()}
# calls recorded per trace, times the pcalls: every call under a pcall
per_trace = spans / traces if traces else 0
calls = per_trace * int(it)
print(f"real program: Lua interpreter ({version}, Debian source), real.lua with {it} pcalls, "
      f"medians of {runs} interleaved runs")
print(f"every C call under each pcall is a span: {per_trace:.0f} spans per trace, {calls:,.0f} calls recorded "
      f"per run (the dump keeps {traces} traces: SPANPROF_MAX_TRACES=200 and the byte budget evict); "
      f"program output identical in every variant: {same}")
print("peak RSS: of the largest process of the tree (for uftrace, its own or the program's)\n")
print(f"| {'variant':<14} | {'CPU s':>7} | {'ns per recorded call over plain':>31} | {'x floor':>7} | {'peak RSS MB':>11} |")
print(f"|{'-' * 16}|{'-' * 8}:|{'-' * 32}:|{'-' * 8}:|{'-' * 12}:|")
fl = med["floor"] - med["plain"]
for k in cmds:
    over = (med[k] - med["plain"]) * 1e9 / calls if calls else float("nan")
    x = (med[k] - med["plain"]) / fl if k != "plain" and fl > 0 else float("nan")
    o = "" if k == "plain" else f"{over:.1f}"
    xs = "" if k == "plain" else f"{x:.2f}"
    print(f"| {k:<14} | {med[k]:7.2f} | {o:>31} | {xs:>7} | {statistics.median(rss[k]) / 1024:11.1f} |")
if "uftrace -b 1m" in med and med["spanprof"] > med["plain"]:
    print(f"\nuftrace / spanprof, CPU over plain: {(med['uftrace -b 1m'] - med['plain']) / (med['spanprof'] - med['plain']):.2f}")
shutil.rmtree(tmp, ignore_errors=True)
PY
