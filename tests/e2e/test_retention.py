#!/usr/bin/env python3
"""test_retention.py - issue 11 end to end: the slowest traces of each name
survive any number of fast ones after them (SPANPROF_KEEP_SLOWEST), traces
faster than SPANPROF_MIN_MS are counted but not stored, and `list` says so.

usage: test_retention.py SPANPROF RETENTION_PROG
Prints TAP. The program ends 20,000 fast traces and 5 slow ones (50 ms of
sleep each) at seeded random positions and prints the slow ones' ids.
Asserts on the ids stored, the counts and the marks, never on times.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

SPANPROF, PROG = map(os.path.abspath, sys.argv[1:3])
TMP = tempfile.mkdtemp(prefix="sp-retention-")
results = []
FAST, SLOW = 20000, 5


def run(args, env=None, check=True):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e.update(env or {})
    p = subprocess.run(args, env=e, cwd=TMP, capture_output=True, text=True, timeout=240)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}: {p.stderr.strip()}")
    return p


def record(out, env, mode="exit"):
    """Runs the program; returns the dump's path and the slow ids."""
    path = os.path.join(TMP, out)
    p = run([PROG, mode, str(FAST), str(SLOW)],
            env={"SPANPROF_ENABLED": "1", "SPANPROF_OUTPUT": path, **env}, check=mode == "exit")
    if mode == "kill":
        eq(p.returncode, -signal.SIGKILL, "killed")
    assert os.path.exists(path), f"no {path}"
    slow = p.stdout.split()
    eq(len(slow), SLOW, "slow ids printed")
    return path, slow


def listing(path, *extra):
    return json.loads(run([SPANPROF, "list", "-f", path, "--json", "--counts", *extra]).stdout)


def case(fn):
    results.append(fn)
    return fn


def eq(a, b, what=""):
    assert a == b, f"{what}: {a!r} != {b!r}"


@case
def the_slow_traces_survive_twenty_thousand_fast_ones():
    path, slow = record("default.out", {})
    lst = listing(path)
    ids = [t["id"] for t in lst["traces"]]
    eq(len(ids), 500, "stored: SPANPROF_MAX_TRACES")
    for s in slow:
        assert s in ids, f"{s} evicted: {sorted(i for i in ids if i.startswith('slow'))}"
    kept = {t["id"] for t in lst["traces"] if t.get("kept") == "slowest"}
    assert set(slow) <= kept, f"slow ones not marked kept: {kept}"
    eq(len(kept), 10, "SPANPROF_KEEP_SLOWEST's default per name")
    c = lst["counts"]
    eq(c["ended"], FAST + SLOW, "ended")
    eq(c["evicted"], FAST + SLOW - 500, "evicted")
    # --sort duration: the kept ones first, the slow ones leading them.
    d = listing(path, "--sort", "duration", "--limit", "12")["traces"]
    eq([t.get("kept") for t in d[:10]], ["slowest"] * 10, "kept first")
    eq({t["id"] for t in d[:SLOW]}, set(slow), "the slowest first")
    seqs = [t["seq"] for t in lst["traces"]]
    eq(seqs, sorted(seqs), "listed oldest first")
    text = run([SPANPROF, "list", "-f", path]).stdout
    eq(text.count("(kept: slowest)"), 10, "kept mark in text")
    assert f"{FAST + SLOW - 500} traces were evicted" in text and "SPANPROF_KEEP_SLOWEST" in text, text[-400:]


@case
def keep_slowest_0_is_fifo_only():
    path, slow = record("fifo.out", {"SPANPROF_KEEP_SLOWEST": "0"})
    lst = listing(path)
    ids = [t["id"] for t in lst["traces"]]
    eq(len(ids), 500, "stored")
    eq(ids, [f"fast-{i}" if f"slow-{i}" not in slow else f"slow-{i}"
             for i in range(FAST + SLOW - 500, FAST + SLOW)], "the newest 500, in order")
    eq([t for t in lst["traces"] if "kept" in t], [], "none kept")
    lost = [s for s in slow if s not in ids]
    assert lost, "FIFO kept every slow trace: the positions must put some early"


@case
def min_ms_stores_only_the_slow_ones():
    path, slow = record("min.out", {"SPANPROF_MIN_MS": "40"})
    lst = listing(path)
    eq(sorted(t["id"] for t in lst["traces"]), sorted(slow), "stored")
    c = lst["counts"]
    eq(c["filtered"], FAST, "filtered")
    eq(c["ended"], SLOW, "stored ones ended")
    text = run([SPANPROF, "list", "-f", path]).stdout
    assert f"{FAST} traces were faster than SPANPROF_MIN_MS=40" in text, text[-400:]


@case
def kept_traces_are_in_the_flight_file_after_sigkill():
    path, slow = record("kill.out", {}, mode="kill")
    lst = listing(path)
    ids = [t["id"] for t in lst["traces"]]
    for s in slow:
        assert s in ids, f"{s} missing after SIGKILL"
    kept = {t["id"] for t in lst["traces"] if t.get("kept") == "slowest"}
    assert set(slow) <= kept, f"not marked kept: {kept}"


def stats(path):
    return json.loads(run([SPANPROF, "stats", "-f", path, "--json"]).stdout)


def exact_quantile(durs, q):
    """The rank-ceil(q*n) smallest, as `stats` ranks."""
    s = sorted(durs)
    r = max(1, min(len(s), -(-int(q * len(s) * 1000000) // 1000000)))
    return s[r - 1]


@case
def stats_counts_every_trace_with_percentiles_within_1_percent():
    # Every trace stored, so that `list` gives the exact durations the
    # runtime recorded; the histogram's figures must be within 1% of them.
    path, slow = record("all.out", {"SPANPROF_MAX_TRACES": str(FAST + SLOW), "SPANPROF_BUFFER_MB": "256"})
    durs = [t["duration_ns"] for t in listing(path)["traces"]]
    eq(len(durs), FAST + SLOW, "all stored")
    st = stats(path)
    eq([n["name"] for n in st["names"]], ["cmd"], "names")
    n = st["names"][0]
    eq((n["seen"], n["stored"], n["evicted"], n["filtered"]), (FAST + SLOW, FAST + SLOW, 0, 0), "counts")
    for key, q in (("p50_ns", 0.5), ("p90_ns", 0.9), ("p99_ns", 0.99), ("p999_ns", 0.999)):
        want = exact_quantile(durs, q)
        assert abs(n[key] - want) <= 0.01 * want + 1, f"{key}: {n[key]} vs exact {want}"
    eq(n["min_ns"], min(durs), "min")
    eq(n["max_ns"], max(durs), "max")
    assert abs(n["mean_ns"] - sum(durs) / len(durs)) <= 0.01 * sum(durs) / len(durs) + 1, n
    # The slow ones are above the p99.9 of 20,005: the top 5 are them.
    assert n["p999_ns"] < min(sorted(durs)[-SLOW:]), n
    eq(st["totals"]["seen"], FAST + SLOW, "totals seen")


@case
def stats_with_defaults_counts_what_was_evicted():
    path, slow = record("default2.out", {})
    n = stats(path)["names"][0]
    eq((n["seen"], n["stored"], n["evicted"]), (FAST + SLOW, 500, FAST + SLOW - 500), "counts")
    assert n["max_ns"] >= 50_000_000, f"max {n['max_ns']}: a 50 ms trace"
    assert n["p99_ns"] < 50_000_000, f"p99 {n['p99_ns']}: 5 slow ones of 20,005 are above it"


@case
def stats_with_min_ms_counts_the_filtered():
    path, slow = record("min2.out", {"SPANPROF_MIN_MS": "40"})
    st = stats(path)
    n = st["names"][0]
    eq((n["seen"], n["stored"], n["filtered"], n["evicted"]), (FAST + SLOW, SLOW, FAST, 0), "counts")
    eq(st["totals"]["seen"], FAST + SLOW, "totals seen")


@case
def stats_after_sigkill_reads_the_flight_file():
    path, slow = record("kill2.out", {}, mode="kill")
    st = stats(path)
    n = st["names"][0]
    eq(n["seen"], FAST + SLOW, "seen")
    eq(n["stored"], 500, "stored")
    assert n["max_ns"] >= 50_000_000, n
    text = run([SPANPROF, "stats", "-f", path]).stdout
    assert text.splitlines()[1].split()[:3] == ["cmd", str(FAST + SLOW), "500"], text
    assert "store: 20005 traces seen" in text, text


@case
def top_and_the_web_page_say_what_they_cover():
    path, slow = record("default3.out", {})
    text = run([SPANPROF, "top", "-f", path]).stdout
    assert f"ranked over 500 stored traces of {FAST + SLOW} seen" in text, text[-300:]
    html = os.path.join(TMP, "page.html")
    run([SPANPROF, "report", "-f", path, "-o", html])
    page = open(html, encoding="utf-8").read()
    assert f'"stats":[{{"name":"cmd","seen":{FAST + SLOW},"stored":500,"evicted":{FAST + SLOW - 500}' in page, \
        "no stats array in the page's list object"


def main():
    print(f"1..{len(results)}")
    failed = 0
    for i, fn in enumerate(results, 1):
        try:
            fn()
            print(f"ok {i} - {fn.__name__}")
        except Exception as e:  # noqa: BLE001 - report every failure as TAP
            failed += 1
            print(f"not ok {i} - {fn.__name__}")
            for line in str(e).splitlines() or [repr(e)]:
                print(f"# {line}")
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
