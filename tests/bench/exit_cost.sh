#!/bin/sh
# exit_cost.sh BUILD_DIR - time from exit() to the end of the process, and
# the peak RSS it adds, with N spans stored: with the flight file (the
# default: the exit marks the file closed) and without (SPANPROF_FLIGHT=0:
# the store is encoded into a dump at exit, as before the flight file).
# Medians of RUNS (default 5) runs; `ninja -C build bench-exit`.
set -eu
dir=$1
RUNS=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$dir/exit_cost" "$tmp" "$RUNS" <<'PY'
import os, statistics, subprocess, sys, time
prog, tmp, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(f"exit cost, median of {runs} runs (200 traces; time from exit() to the end of the process)\n")
print(f"{'spans stored':>12}  {'flight ms':>10}  {'dump ms':>10}  {'flight +RSS MiB':>15}  {'dump +RSS MiB':>13}")
for n in (100_000, 1_000_000, 4_000_000):
    row = {}
    for mode, extra in (("flight", {}), ("dump", {"SPANPROF_FLIGHT": "0"})):
        ms, rss = [], []
        for r in range(runs):
            out = os.path.join(tmp, f"{mode}.out")
            env = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
            env.update(SPANPROF_OUTPUT=out, SPANPROF_BUFFER_MB="512", **extra)
            p = subprocess.Popen([prog, str(n)], stdout=subprocess.PIPE, env=env)
            line = p.stdout.readline().split()
            _, status, ru = os.wait4(p.pid, 0)
            end = time.monotonic_ns()
            ms.append((end - int(line[0])) / 1e6)
            rss.append((ru.ru_maxrss - int(line[1])) / 1024)
            p.stdout.close()
            os.unlink(out)
        row[mode] = (statistics.median(ms), statistics.median(rss))
    print(f"{n:>12}  {row['flight'][0]:>10.1f}  {row['dump'][0]:>10.1f}  {row['flight'][1]:>15.1f}  {row['dump'][1]:>13.1f}")
PY
