#!/usr/bin/env python3
"""test_many.py - many dumps read as one view, and the reading of wide and
big traces: -f repeated or a glob, PID:SEQ, top and the exports across
dumps, show --merge, the Chrome export's file table, the reader's bytes
per span.

usage: test_many.py SPANPROF FORK_PROG WIDE_PROG DATAGRID PERFETTO_PROTO BIGTRACE
Prints TAP.
"""
import codecs
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

SPANPROF, FORK_PROG, WIDE_PROG, DATAGRID, PROTO, BIGTRACE = map(os.path.abspath, sys.argv[1:7])
TMP = tempfile.mkdtemp(prefix="sp-many-")
results = []


class Skip(Exception):
    pass


def run(args, env=None, check=True, cwd=TMP, text=True):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e.update(env or {})
    p = subprocess.run(args, env=e, cwd=cwd, capture_output=True, text=text)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}: {p.stderr!r}")
    return p


def sp(*args, check=True, text=True):
    return run([SPANPROF, *args], check=check, text=text)


def sp_json(*args):
    return json.loads(sp(*args).stdout)


def case(fn):
    results.append(fn)
    return fn


def eq(a, b, what=""):
    assert a == b, f"{what}: {a!r} != {b!r}"


_forked = {}


def forked():
    """Two dumps of one run: the parent's (before_fork #1, in_parent #2)
    and the fork child's (in_child #1), NAME and NAME.PID."""
    if not _forked:
        path = os.path.join(TMP, "fork.out")
        p = run([FORK_PROG], env={"SPANPROF_OUTPUT": path, "SPANPROF_ENABLED": "1"})
        child = int(p.stdout.strip())
        parent = sp_json("list", "--json", "-f", path)[0]
        _forked.update(path=path, child=child, child_file=f"{path}.{child}",
                       glob=os.path.join(TMP, "fork.out*"))
        assert os.path.exists(_forked["child_file"])
        # The parent's pid, from the dump (the program prints the child's).
        _forked["parent"] = sp_json("export", "-f", path)["pid"]
        assert parent["name"] == "before_fork"
    return _forked


@case
def a_glob_and_repeated_f_list_every_trace_with_its_pid():
    F = forked()
    rows = sp_json("list", "--json", "-f", F["glob"])
    got = sorted((t["pid"], t["seq"], t["name"]) for t in rows)
    eq(got, sorted([(F["parent"], 1, "before_fork"), (F["parent"], 2, "in_parent"), (F["child"], 1, "in_child")]),
       "traces of both")
    rep = sp_json("list", "--json", "-f", F["path"], "-f", F["child_file"])
    eq(sorted((t["pid"], t["seq"]) for t in rep), sorted((t["pid"], t["seq"]) for t in rows), "-f twice = the glob")
    text = sp("list", "-f", F["glob"], "--color", "never").stdout.splitlines()
    eq(text[0].split()[:2], ["pid", "#"], "a pid column first")
    eq(len(text), 2 + 3, "three rows")
    pids = sorted(int(line.split()[0]) for line in text[2:])
    eq(pids, sorted([F["parent"], F["parent"], F["child"]]), "pid column")
    # One dump lists as before: no pid column, no pid field.
    one = sp("list", "-f", F["path"], "--color", "never").stdout.splitlines()
    eq(one[0].split()[0], "#", "one dump: no pid column")
    assert "pid" not in sp_json("list", "--json", "-f", F["path"])[0], "one dump: no pid field"
    # A glob that matches nothing is one clear error.
    p = sp("list", "-f", os.path.join(TMP, "nothing*"), check=False)
    eq(p.returncode, 1)
    assert "no dump matches" in p.stderr, p.stderr


@case
def pid_seq_picks_the_trace_and_a_plain_seq_must_be_unique():
    F = forked()
    eq(sp_json("show", "-f", F["glob"], f"{F['child']}:1", "--json")["root"]["name"], "in_child", "child 1")
    eq(sp_json("show", "-f", F["glob"], f"{F['parent']}:1", "--json")["root"]["name"], "before_fork", "parent 1")
    eq(sp_json("show", "-f", F["glob"], "2", "--json")["root"]["name"], "in_parent", "a seq in one dump only")
    head = sp("show", "-f", F["glob"], f"{F['child']}:1", "--color", "never").stdout.splitlines()[0]
    assert f"trace {F['child']}:1 " in head, head
    p = sp("show", "-f", F["glob"], "1", check=False)
    eq(p.returncode, 1, "ambiguous")
    eq(len(p.stderr.splitlines()), 1, "one line")
    assert "PID:SEQ" in p.stderr and str(F["child"]) in p.stderr and str(F["parent"]) in p.stderr, p.stderr
    # With one dump, SEQ as always, and PID:SEQ too.
    eq(sp_json("show", "-f", F["path"], "1", "--json")["root"]["name"], "before_fork")
    eq(sp_json("show", "-f", F["child_file"], f"{F['child']}:1", "--json")["root"]["name"], "in_child")
    p = sp("show", "-f", F["glob"], "999999:1", check=False)
    eq(p.returncode, 1)
    assert "no dump of process 999999" in p.stderr, p.stderr
    # pie and diff take the same references.
    pie = sp_json("pie", "-f", F["glob"], f"{F['child']}:1", "--json")
    eq(pie["name"], "in_child")
    rows = sp_json("diff", "-f", F["glob"], f"{F['child']}:1", f"{F['parent']}:2", "--json")
    assert rows, "diff rows"


@case
def top_across_dumps_is_the_sum_of_each():
    F = forked()
    both = {r["name"]: r for r in sp_json("top", "-f", F["glob"], "--json")}
    parts = [{r["name"]: r for r in sp_json("top", "-f", f, "--json")} for f in (F["path"], F["child_file"])]
    names = set(parts[0]) | set(parts[1])
    eq(set(both), names, "names")
    for n in names:
        for k in ("count", "total_ns", "self_ns"):
            eq(both[n][k], sum(p[n][k] for p in parts if n in p), f"{n} {k}")
    eq(sum(r["count"] for r in both.values()), 3, "three spans")
    assert "in 3 traces" in sp("top", "-f", F["glob"]).stdout


@case
def exports_hold_every_trace_of_every_dump():
    F = forked()
    want = sorted([(F["parent"], "before_fork"), (F["parent"], "in_parent"), (F["child"], "in_child")])
    model = sp_json("export", "-f", F["glob"])
    eq(sorted((t["pid"], t["name"]) for t in model["traces"]), want, "json")
    eq(sorted(p["pid"] for p in model["processes"]), sorted([F["parent"], F["child"]]), "json processes")
    otlp = sp_json("export", "-f", F["glob"], "--format", "otlp")
    got = []
    for rs in otlp["resourceSpans"]:
        pid = [int(a["value"]["intValue"]) for a in rs["resource"]["attributes"] if a["key"] == "process.pid"][0]
        for ss in rs["scopeSpans"]:
            got += [(pid, s["name"]) for s in ss["spans"]]
    eq(sorted(got), want, "otlp: a resource per process")
    chrome = sp_json("export", "-f", F["glob"], "--format", "chrome")["traceEvents"]
    eq(sorted((e["pid"], e["name"]) for e in chrome if e["ph"] == "X"), want, "chrome")
    ss = sp_json("export", "-f", F["glob"], "--format", "speedscope")
    eq(len(ss["profiles"]), 3, "speedscope profiles")
    assert any(p["name"].startswith(f"{F['child']}:1 ") for p in ss["profiles"]), [p["name"] for p in ss["profiles"]]
    # folded: each dump's lines, one dump after the other (these spans are
    # under a microsecond, so the lines may be few; flamegraph.pl adds up).
    folded = sp("export", "-f", F["glob"], "--format", "folded").stdout
    eq(folded, "".join(sp("export", "-f", f, "--format", "folded").stdout for f in sorted([F["path"], F["child_file"]])),
       "folded")
    # One trace by PID:SEQ.
    one = sp_json("export", "-f", F["glob"], f"{F['child']}:1")
    eq([t["name"] for t in one["traces"]], ["in_child"], "export PID:SEQ")
    check_perfetto_uuids(F, want)


def parse_textproto(text):
    root, stack = {}, [None]
    stack = [root]
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
        elif line.endswith("{"):
            d = {}
            stack[-1].setdefault(line[:-1].strip(), []).append(d)
            stack.append(d)
        else:
            k, v = line.split(":", 1)
            v = v.strip()
            if v.startswith('"'):
                v = codecs.escape_decode(v[1:-1].encode())[0].decode("utf-8")
            elif re.fullmatch(r"-?\d+", v):
                v = int(v)
            stack[-1].setdefault(k, []).append(v)
    return root


def check_perfetto_uuids(F, want):
    if not shutil.which("protoc"):
        return  # the other exports are checked; protoc is optional here
    out = os.path.join(TMP, "many.pftrace")
    sp("export", "-f", F["glob"], "--format", "perfetto", "-o", out)
    with open(out, "rb") as data:
        p = subprocess.run(["protoc", f"--proto_path={os.path.dirname(PROTO)}", "--decode=spanprof_test.Trace",
                            os.path.basename(PROTO)], stdin=data, capture_output=True)
    assert p.returncode == 0, p.stderr
    packets = parse_textproto(p.stdout.decode())["packet"]
    tracks = [t for pk in packets for t in pk.get("track_descriptor", [])]
    uuids = [t["uuid"][0] for t in tracks]
    eq(len(uuids), len(set(uuids)), "track uuids unique across dumps")
    procs = {t["uuid"][0]: t["process"][0]["pid"][0] for t in tracks if "process" in t}
    eq(sorted(procs.values()), sorted([F["parent"], F["child"]]), "a process track per dump")
    flags = [pk.get("sequence_flags", [0])[0] for pk in packets]
    eq(flags[0], 1, "the first packet clears the state")
    assert not any(f & 1 for f in flags[1:]), "no later packet clears the interned names"
    # Every slice begins on a thread track of the process it came from.
    thread_pid = {t["uuid"][0]: procs[t["parent_uuid"][0]] for t in tracks if "parent_uuid" in t}
    begins = [pk["track_event"][0] for pk in packets if "track_event" in pk]
    begins = [te for te in begins if te.get("type") in (["TYPE_SLICE_BEGIN"], [1])]
    eq(sorted(thread_pid[te["track_uuid"][0]] for te in begins), sorted(w[0] for w in want), "slices per process")


@case
def show_merges_the_children_of_a_wide_node():
    path = os.path.join(TMP, "wide.out")
    run([WIDE_PROG], env={"SPANPROF_OUTPUT": path, "SPANPROF_ENABLED": "1"})
    lines = sp("show", "-f", path, "1", "--color", "never").stdout.splitlines()
    tree = lines[lines.index(next(l for l in lines if l.startswith("------"))) + 1:]
    tree = tree[:tree.index("")]
    ms = r"\d+\.\d+"
    hot = r"(  ◀)?"  # the hottest path's mark: where it falls depends on timing
    eq(len(tree), 5, "\n".join(tree))
    assert re.fullmatch(rf"\s+0\s+{ms}\s+{ms}\s+100\.0%  wide", tree[0]), tree[0]
    assert re.fullmatch(rf"\s+{ms}\s+{ms}\s+{ms}%  ├─ step  ×30  avg/max {ms}/{ms} ms", tree[1]), tree[1]
    assert re.fullmatch(rf"\s+{ms}\s+{ms}\s+{ms}%  ├─ check  ×5  avg/max {ms}/{ms} ms", tree[2]), tree[2]
    assert re.fullmatch(rf"\s+36\s+{ms}\s+{ms}\s+{ms}%  └─ last{hot}", tree[3]), tree[3]
    assert re.fullmatch(rf"\s+37\s+{ms}\s+{ms}\s+{ms}%     └─ inner{hot}", tree[4]), tree[4]
    # Over the limit only: --merge 40 shows all 36 children one by one.
    wide = sp("show", "-f", path, "1", "--color", "never", "--merge", "40").stdout
    eq(len(re.findall(r"[├└]─ step(  ◀)?$", wide, re.M)), 30, "not merged under the limit")
    eq(len(re.findall(r"[├└]─ step(  ◀)?$", sp("show", "-f", path, "1", "--merge", "0").stdout, re.M)), 30, "--merge 0")


@case
def chrome_export_names_each_file_once():
    path = os.path.join(TMP, "dg.out")
    run([DATAGRID, "4"], env={"SPANPROF_OUTPUT": path, "SPANPROF_TRACE_CALLS": "navigate_cell"})
    raw = sp("export", "-f", path, "--format", "chrome").stdout
    ev = json.loads(raw)["traceEvents"]
    files = [e for e in ev if e["ph"] == "M" and e["name"] == "spanprof_file"]
    assert files, "function spans have files"
    paths = [e["args"]["path"] for e in files]
    eq(len(paths), len(set(paths)), "each file once")
    ids = {e["args"]["id"]: e["args"]["path"] for e in files}
    eq(sorted(ids), list(range(len(ids))), "ids 0..n-1")
    model = {}
    for t in sp_json("export", "-f", path)["traces"]:
        stack = [t["root"]]
        while stack:
            n = stack.pop()
            if n.get("file"):
                model.setdefault(n["function"], (n["file"], n["line"]))
            stack += n.get("children", [])
    funcs = [e["args"] for e in ev if e["ph"] == "M" and e["name"] == "spanprof_function"]
    eq({f["function"]: (ids[f["file_id"]], f["line"]) for f in funcs}, model, "each function's file and line")
    eq(len(funcs), len({f["function"] for f in funcs}), "each function once")
    xs = [e for e in ev if e["ph"] == "X"]
    assert not any("file" in e.get("args", {}) or "file_id" in e.get("args", {}) for e in xs), "no path per event"
    named = {f["function"] for f in funcs}
    for e in xs:
        name = e["name"].split(" ×")[0]  # a cumulative node: "name ×count"
        if name in model:
            assert name in named, name
    for p in set(paths):
        eq(raw.count(json.dumps(p)), 1, f"{p} once in the file")


@case
def the_reader_holds_a_bounded_number_of_bytes_per_span():
    # 1,000,000 spans: peak RSS of `top` above that of an empty `top`
    # (the same binary on a one-trace dump), per span. A generous bound
    # (the benchmark, `ninja -C build bench-cli`, reports the figure).
    path = os.path.join(TMP, "1m.out")
    run([BIGTRACE], env={"SPANPROF_OUTPUT": path, "SPANPROF_TRACE_CALLS": "big_root",
                         "SPANPROF_BUFFER_MB": "256"})
    nspans = len(sp_json("list", "--json", "-f", path))
    assert nspans == 1
    spans = int(sp("list", "-f", path, "--color", "never").stdout.splitlines()[2].split()[-1])
    assert spans > 900_000, spans

    def peak(*args):
        p = subprocess.run(["/usr/bin/env", "python3", "-c",
                            "import resource,subprocess,sys;subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,check=True);"
                            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)", SPANPROF, *args],
                           capture_output=True, text=True, check=True)
        return int(p.stdout) * 1024

    base = peak("top", "-f", forked()["path"])
    big = peak("top", "-f", path)
    size = os.path.getsize(path)
    per = (big - base - size) / spans
    print(f"# reader: {(big - base) / spans:.0f} B/span with the dump, {per:.0f} B/span without it")
    assert per <= BYTES_PER_SPAN_BOUND, f"{per:.0f} bytes per span"


BYTES_PER_SPAN_BOUND = float(os.environ.get("SP_BYTES_PER_SPAN", "400"))


if os.environ.get("SP_E2E_ONLY"):
    results = [fn for fn in results if os.environ["SP_E2E_ONLY"] in fn.__name__]
print(f"1..{len(results)}")
failed = 0
for i, fn in enumerate(results, 1):
    try:
        fn()
        print(f"ok {i} - {fn.__name__}")
    except Skip as e:
        print(f"ok {i} - {fn.__name__} # SKIP {e}")
    except Exception as e:
        failed += 1
        print(f"not ok {i} - {fn.__name__}")
        for line in str(e).splitlines() or [repr(e)]:
            print(f"# {line}")
shutil.rmtree(TMP, ignore_errors=True)
sys.exit(1 if failed else 0)
