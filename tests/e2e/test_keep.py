#!/usr/bin/env python3
"""test_keep.py - issue 11 end to end: honest totals under recursion,
off-CPU time per trace, warnings for patterns that matched nothing, and
long ids kept whole.

usage: test_keep.py SPANPROF KEEP_PROG
Prints TAP. Asserts on values (exact totals from the JSON model, the
measured CPU figures, the exact warning lines), not on exit statuses.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SPANPROF, PROG = map(os.path.abspath, sys.argv[1:3])
TMP = tempfile.mkdtemp(prefix="sp-keep-")
results = []


def run(args, env=None, check=True):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e.update(env or {})
    p = subprocess.run(args, env=e, cwd=TMP, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}: {p.stderr.strip()}")
    return p


def sp_json(*args):
    return json.loads(run([SPANPROF, *args, "--json"]).stdout)


def record(mode, out, env):
    path = os.path.join(TMP, out)
    p = run([PROG, mode], env={"SPANPROF_OUTPUT": path, **env})
    assert os.path.exists(path), f"{mode} wrote no {path}"
    return path, p


def case(fn):
    results.append(fn)
    return fn


def nodes(n, up=()):
    yield n, up
    for c in n.get("children", []):
        yield from nodes(c, up + (n,))


def eq(a, b, what=""):
    assert a == b, f"{what}: {a!r} != {b!r}"


@case
def top_total_of_a_recursive_function_is_its_outermost_calls():
    f, _ = record("recurse", "rec.out", {"SPANPROF_TRACE_CALLS": "outer"})
    model = json.loads(run([SPANPROF, "export", "-f", f, "--format", "json"]).stdout)
    eq(len(model["traces"]), 3, "one trace per outer()")
    outer_ns, outer_n, all_n, self_ns = 0, 0, 0, 0
    for t in model["traces"]:
        for n, up in nodes(t["root"]):
            if n["name"] != "deep":
                continue
            all_n += 1
            self_ns += n["self_ns"]
            if not any(a["name"] == "deep" for a in up):
                outer_ns += n["duration_ns"]
                outer_n += 1
    eq(outer_n, 6, "outermost deep() calls: two per trace")
    eq(all_n, 3 * (7 + 3), "every deep() activation")
    for by, key in (("name", "name"), ("function", "function")):
        rows = sp_json("top", "-f", f, "--by", by)
        row = [r for r in rows if r[key].split()[0] == "deep"]
        eq(len(row), 1, f"one deep row by {by}")
        r = row[0]
        eq(r["total_ns"], outer_ns, f"deep's total by {by}: its outermost calls' time")
        eq(r["count"], all_n, f"deep's count by {by}: every activation")
        eq(r["self_ns"], self_ns, f"deep's self by {by}: every activation's")
        eq(r["outermost"], outer_n, f"deep's outermost activations by {by}")
        eq(r["avg_ns"], outer_ns // outer_n, f"deep's average by {by}: over the outermost calls")
        assert r["max_ns"] <= r["total_ns"], r
    # deep runs inside outer: its total cannot exceed outer's
    rows = {r["name"]: r for r in sp_json("top", "-f", f)}
    assert rows["deep"]["total_ns"] <= rows["outer"]["total_ns"], rows


def file_version(path):
    with open(path, "rb") as f:
        return int.from_bytes(f.read(12)[8:12], "little")


@case
def a_sleeping_trace_in_a_dump_shows_its_time_off_the_cpu():
    """The same as in a flight file (below), in a dump written at exit."""
    f, _ = record("sleep", "nap_dump.out", {"SPANPROF_ENABLED": "1", "SPANPROF_FLIGHT": "0"})
    eq(file_version(f), 1, "a dump")
    t = sp_json("list", "-f", f)[0]
    assert t["cpu_ns"] is not None and t["cpu_ns"] < 2_000_000, t
    assert t["duration_ns"] - t["cpu_ns"] >= 19_000_000, t
    assert t["voluntary_switches"] >= 1, t


@case
def a_sleeping_trace_shows_its_time_off_the_cpu():
    f, _ = record("sleep", "nap.out", {"SPANPROF_ENABLED": "1"})
    eq(file_version(f), 2, "recording from the start: a flight file")
    t = sp_json("list", "-f", f)[0]
    eq(t["name"], "nap")
    assert t["duration_ns"] >= 20_000_000, t
    assert t["cpu_ns"] is not None and t["cpu_ns"] < 2_000_000, t
    assert t["duration_ns"] - t["cpu_ns"] >= 19_000_000, t
    assert t["voluntary_switches"] >= 1, t  # nanosleep gives the CPU up
    model = sp_json("show", "-f", f, "1")
    for k in ("cpu_ns", "voluntary_switches", "involuntary_switches"):
        eq(model[k], t[k], k)
    text = run([SPANPROF, "show", "-f", f, "1", "--color", "never"]).stdout.splitlines()
    head = text[1]
    assert head.startswith("  cpu ") and " off-cpu " in head and " voluntary / " in head, text[:3]
    off_ms = float(head.split(" off-cpu ")[1].split()[0])
    assert off_ms >= 19.0, head
    lst = run([SPANPROF, "list", "-f", f, "--color", "never"]).stdout.splitlines()
    assert "cpu ms" in lst[0], lst
    # SPANPROF_CPU=0: nothing measured, null in JSON, no line in show
    g, _ = record("sleep", "nap0.out", {"SPANPROF_ENABLED": "1", "SPANPROF_CPU": "0"})
    t = sp_json("list", "-f", g)[0]
    eq((t["cpu_ns"], t["voluntary_switches"], t["involuntary_switches"]), (None, None, None), "off")
    text = run([SPANPROF, "show", "-f", g, "1", "--color", "never"]).stdout
    assert " off-cpu " not in text, text
    for c in sp_json("show", "-f", g, "1")["root"]["children"]:
        eq(c["data"], {}, f"{c['name']}: no CPU data unless SPANPROF_SPAN_CPU=1")


@case
def manual_spans_opt_in_to_cpu_time():
    f, _ = record("sleep", "span_cpu.out", {"SPANPROF_ENABLED": "1", "SPANPROF_SPAN_CPU": "1"})
    t = sp_json("show", "-f", f, "1")
    kids = {c["name"]: c for c in t["root"]["children"]}
    eq(sorted(kids), ["sleep", "work"], "spans")
    keys = ["cpu_ns", "voluntary_switches", "involuntary_switches"]
    for c in kids.values():
        eq(sorted(c["data"]), sorted(keys), f"{c['name']}'s data")
    s = kids["sleep"]
    assert s["duration_ns"] >= 20_000_000 and s["data"]["cpu_ns"] < 2_000_000, s
    assert s["data"]["voluntary_switches"] >= 1, s
    eq(t["root"]["data"], {}, "the trace itself: in the trace fields, not its data")
    assert t["cpu_ns"] >= s["data"]["cpu_ns"] + kids["work"]["data"]["cpu_ns"] - 1000, t


@case
def each_pattern_that_matched_nothing_is_named_once():
    env = {
        "SPANPROF_OUTPUT": "",
        "SPANPROF_TRACE_CALLS": "outer,never_called",
        "SPANPROF_TRACE_ALL": "inlined_away",
        "SPANPROF_TRACE": "nosuch_trace@id",
        "SPANPROF_ARGS": "dee?",
        "SPANPROF_CUMULATIVE": "deep,no_such_cumul*",
        "SPANPROF_EXCLUDE": "nosuch_excl",
    }
    p = run([PROG, "patterns"], env=env)
    lines = p.stderr.splitlines()
    eq(sorted(lines), sorted([
        "spanprof: SPANPROF_TRACE_CALLS: 'never_called' matched no function that ran; 'never_called' is in "
        "hooks_keep_prog but never ran (or is not built with -finstrument-functions)",
        "spanprof: SPANPROF_TRACE_ALL: 'inlined_away' matched no function that ran, and no function of the "
        "program has that name: inlined everywhere (noinline keeps it), or misspelled?",
        "spanprof: SPANPROF_TRACE: 'nosuch_trace' matched no function that ran, and no function of the "
        "program has that name: inlined everywhere (noinline keeps it), or misspelled?",
        "spanprof: SPANPROF_CUMULATIVE: 'no_such_cumul*' matched no function that ran, and no function of the "
        "program has that name: inlined everywhere (noinline keeps it), or misspelled?",
        "spanprof: SPANPROF_EXCLUDE: 'nosuch_excl' matched no function that ran, and no function of the "
        "program has that name: inlined everywhere (noinline keeps it), or misspelled?",
    ]), "one line per unmatched pattern")
    # every pattern matched: not a word
    env = {
        "SPANPROF_OUTPUT": "",
        "SPANPROF_TRACE_CALLS": "outer",
        "SPANPROF_TRACE_ALL": "deep",
        "SPANPROF_TRACE": "outer",
        "SPANPROF_ARGS": "dee?",
        "SPANPROF_CUMULATIVE": "d*",
        "SPANPROF_EXCLUDE": "*eep",
    }
    p = run([PROG, "patterns"], env=env)
    eq(p.stderr, "", "every pattern matched")


@case
def a_cxx_pattern_without_its_qualifier_gets_a_hint():
    cxx = os.environ.get("SP_TEST_KEEP_CXX")
    cxx = cxx and os.path.abspath(cxx)
    if not cxx:
        return  # no C++ compiler: nothing to check
    p = run([cxx], env={"SPANPROF_OUTPUT": "", "SPANPROF_TRACE_ALL": "Grid::*,ns::Grid::move"})
    eq(p.stdout, "3\n", "the program's output")
    lines = p.stderr.splitlines()
    eq(len(lines), 1, lines)
    head = "spanprof: SPANPROF_TRACE_ALL: 'Grid::*' matched no function that ran; C++ names are qualified: "
    assert lines[0].startswith(head) and lines[0].endswith(" (try '*::Grid::*')"), lines
    assert lines[0][len(head):].split("'")[1] in ("ns::Grid::move", "ns::Grid::at"), lines


@case
def long_ids_and_strings_are_kept_up_to_str_max():
    # Three 300-byte ids differing only in their last byte, as a trace id
    # given to SP_TRACE, as trace data, and read from a char * argument
    # (SPANPROF_TRACE=take_str@s).
    want = ["a" * 299 + str(k) for k in range(3)]
    base = {"SPANPROF_ENABLED": "1", "SPANPROF_TRACE": "take_str@s"}
    f, _ = record("ids", "ids.out", {**base, "SPANPROF_STR_MAX": "512"})
    traces = sp_json("list", "-f", f)
    eq([(t["name"], t["id"]) for t in traces],
       [(n, w) for w in want for n in ("long_id", "take_str")], "whole ids")
    eq([t["data"]["text"] for t in traces if t["name"] == "long_id"], want, "whole string data")
    for t in traces:
        if t["name"] == "take_str":
            eq(sp_json("show", "-f", f, str(t["seq"]))["root"]["data"]["s"], t["id"], "whole string argument")
    # list: whole ids with --wide; else the id column fills the terminal
    wide = run([SPANPROF, "list", "-f", f, "--wide", "--color", "never"]).stdout.splitlines()
    for w in want:
        eq(sum(w in l for l in wide), 2, "--wide shows each id whole")
    e = dict(os.environ, COLUMNS="200")
    p = subprocess.run([SPANPROF, "list", "-f", f, "--color", "never"], env=e, capture_output=True, text=True)
    lines = p.stdout.splitlines()
    assert all(len(l) == 200 for l in lines[:2 + len(traces)]), [len(l) for l in lines]
    assert "a" * 80 + "..." in lines[2], lines[2]
    # the default, SP_MAX_STR_LEN = 256 bytes
    g, _ = record("ids", "ids256.out", base)
    traces = sp_json("list", "-f", g)
    eq({t["id"] for t in traces}, {"a" * 256}, "cut at 256 bytes")
    eq({t["data"]["text"] for t in traces if t["name"] == "long_id"}, {"a" * 256}, "string data cut at 256")


def strip_cpu_tails(src, dst):
    """A dump as a writer before the CPU fields made it: each TRACE section
    without its last 24 bytes, lengths and checksum fixed."""
    import struct
    d = bytearray(open(src, "rb").read())
    out, off = bytearray(d[:64]), 64
    while off < len(d):
        typ, fl, ln = struct.unpack_from("<IIQ", d, off)
        body = d[off + 16:off + 16 + ln]
        if typ == 4:
            body = body[:-24]
        out += struct.pack("<IIQ", typ, fl, len(body)) + body
        off += 16 + ln
    struct.pack_into("<Q", out, 24, len(out))
    h = 0xcbf29ce484222325
    for i, b in enumerate(out):
        if 48 <= i < 56:
            continue
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    struct.pack_into("<Q", out, 48, h)
    open(dst, "wb").write(out)


@case
def a_dump_without_the_cpu_fields_still_reads():
    f = os.path.join(TMP, "nap_dump.out")  # a dump: the flight file has its own layout
    if not os.path.exists(f):
        f, _ = record("sleep", "nap_dump.out", {"SPANPROF_ENABLED": "1", "SPANPROF_FLIGHT": "0"})
    g = os.path.join(TMP, "old.out")
    strip_cpu_tails(f, g)
    assert os.path.getsize(g) == os.path.getsize(f) - 24
    new, old = sp_json("list", "-f", f)[0], sp_json("list", "-f", g)[0]
    eq((old["cpu_ns"], old["voluntary_switches"], old["involuntary_switches"]), (None, None, None), "old")
    for k in ("seq", "name", "id", "duration_ns", "thread"):
        eq(old[k], new[k], k)
    eq(sp_json("show", "-f", g, "1")["root"], sp_json("show", "-f", f, "1")["root"], "the tree")


# SP_E2E_ONLY=WORD runs only the checks whose name has WORD (while iterating).
if os.environ.get("SP_E2E_ONLY"):
    results = [fn for fn in results if os.environ["SP_E2E_ONLY"] in fn.__name__]
print(f"1..{len(results)}")
failed = 0
for i, fn in enumerate(results, 1):
    try:
        fn()
        print(f"ok {i} - {fn.__name__}")
    except Exception as e:  # report and go on
        failed += 1
        print(f"not ok {i} - {fn.__name__}")
        for line in str(e).splitlines() or [repr(e)]:
            print(f"# {line}")
shutil.rmtree(TMP, ignore_errors=True)
sys.exit(1 if failed else 0)
