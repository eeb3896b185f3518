#!/usr/bin/env python3
"""test_exports.py - the perfetto, otlp and speedscope exports and `push`,
end to end, on dumps of the samples.

usage: test_exports.py SPANPROF DATAGRID COROUTINES PERFETTO_PROTO EXIT_PROG
Prints TAP. Every check compares an export with the dump's own model
(`export --format json`): one event or span per node, the same names, the
same nesting, the same counts. The perfetto export is decoded with
`protoc --decode` against a small .proto of ours (SKIP when protoc is
missing); OTLP requests are checked against the OTLP/JSON rules by a
receiver on 127.0.0.1; speedscope files against the constraints of
speedscope's published file-format schema.
"""
import codecs
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SPANPROF, DATAGRID, COROUTINES, PROTO, EXIT_PROG, LATE_CHILD = map(os.path.abspath, sys.argv[1:7])
TMP = tempfile.mkdtemp(prefix="sp-exports-")
results = []


class Skip(Exception):
    pass


def run(args, env=None, check=True, cwd=TMP, **kw):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e.update(env or {})
    p = subprocess.run(args, env=e, cwd=cwd, capture_output=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}: {p.stderr!r}")
    return p


def sp(*args, check=True, text=True):
    return run([SPANPROF, *args], check=check, text=text)


def record(prog, out, env, args=()):
    path = os.path.join(TMP, out)
    if not os.path.exists(path):
        run([prog, *args], env={"SPANPROF_OUTPUT": path, **env})
    assert os.path.exists(path), f"{prog} wrote no {path}"
    return path


def datagrid():
    # Functions (file and line), spans with data, cumulative nodes.
    return record(DATAGRID, "dg.out", {"SPANPROF_TRACE_CALLS": "navigate_cell"}, ["6"])


def coroutines():
    # Six requests interleaved on one thread: overlapping traces.
    return record(COROUTINES, "co.out", {"SPANPROF_ENABLED": "1"})


def case(fn):
    results.append(fn)
    return fn


def eq(a, b, what=""):
    assert a == b, f"{what}: {a!r} != {b!r}"


def model_of(f):
    return json.loads(sp("export", "-f", f, "--format", "json").stdout)


def preorder(model):
    """(trace, node, depth, parent index) of every node, in export order."""
    out = []
    def walk(t, n, depth, up):
        me = len(out)
        out.append((t, n, depth, up))
        for c in n.get("children", []):
            walk(t, c, depth + 1, me)
    for t in model["traces"]:
        walk(t, t["root"], 0, None)
    return out


# ------------------------------------------------------------------------
# perfetto
def parse_textproto(text):
    """protoc's text format -> nested dicts of lists."""
    root = {}
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
            elif re.fullmatch(r"[-+.\deE]+|nan|inf|-inf", v):
                v = float(v)
            stack[-1].setdefault(k, []).append(v)
    assert stack == [root], "unbalanced text format"
    return root


def one(d, k, default=None):
    v = d.get(k)
    if v is None:
        return default
    assert len(v) == 1, f"{k} repeated"
    return v[0]


def decode_perfetto(f, *seqs):
    if not shutil.which("protoc"):
        raise Skip("protoc not installed (Debian protobuf-compiler)")
    out = os.path.join(TMP, "trace.pftrace")
    sp("export", "-f", f, "--format", "perfetto", "-o", out, *seqs)
    with open(out, "rb") as data:
        p = run(["protoc", f"--proto_path={os.path.dirname(PROTO)}", "--decode=spanprof_test.Trace",
                 os.path.basename(PROTO)], stdin=data, text=False)
    return parse_textproto(p.stdout.decode())["packet"]


def check_perfetto(f, model):
    packets = decode_perfetto(f)
    nodes = preorder(model)
    eq({one(p, "trusted_packet_sequence_id") for p in packets}, {1}, "one sequence")
    eq(one(packets[0], "sequence_flags"), 1, "the first packet clears the incremental state")
    tracks = [one(p, "track_descriptor") for p in packets if "track_descriptor" in p]
    procs = [t for t in tracks if "process" in t]
    eq(len(procs), 1, "one process track")
    eq(one(one(procs[0], "process"), "pid"), model["pid"], "process pid")
    threads = {}
    for t in tracks:
        if t is procs[0]:
            continue
        eq(one(t, "parent_uuid"), one(procs[0], "uuid"), "tracks under the process")
        if "thread" in t:
            th = one(t, "thread")
            eq(one(th, "pid"), model["pid"], "thread pid")
            threads[one(t, "uuid")] = one(th, "tid")
        else:
            tid = int(re.fullmatch(r"thread (\d+) \(lane \d+\)", one(t, "name")).group(1))
            threads[one(t, "uuid")] = tid
    eq(len(set(threads)), len(tracks) - 1, "track uuids unique")
    assert set(threads.values()) == {t["thread"] for t in model["traces"]}, "a track per thread"

    # Events in file order: interned names resolved as a reader does.
    # Interned strings: event names, annotation names, file paths.
    names, keys, strs, events = {}, {}, {}, []
    for p in packets:
        interned = one(p, "interned_data", {})
        for field, table, text in (("event_names", names, "name"), ("debug_annotation_names", keys, "name"),
                                   ("debug_annotation_string_values", strs, "str")):
            for e in interned.get(field, []):
                assert one(e, "iid") not in table, f"an iid of {field} interned twice"
                table[one(e, "iid")] = one(e, text)
        if "track_event" in p:
            eq(one(p, "sequence_flags"), 2, "events need the incremental state")
            te = one(p, "track_event")
            name = names[one(te, "name_iid")] if "name_iid" in te else one(te, "name")
            if one(te, "type") == "TYPE_SLICE_END":
                name = None
            ann = {}
            for a in te.get("debug_annotations", []):
                key = keys[one(a, "name_iid")] if "name_iid" in a else one(a, "name")
                assert key not in ann, f"annotation {key} twice"
                if "string_value_iid" in a:
                    ann[key] = strs[one(a, "string_value_iid")]
                else:
                    ann[key] = next(v[0] for k, v in a.items() if k not in ("name", "name_iid"))
            events.append((one(p, "timestamp"), one(te, "type"), one(te, "track_uuid"), name, ann))
    for table in (names, keys, strs):
        eq(len(table), len(set(table.values())), "each string interned once")
    begins = [e for e in events if e[1] == "TYPE_SLICE_BEGIN"]
    eq(len(begins), len(nodes), "one begin per node")
    eq(sum(e[1] == "TYPE_SLICE_END" for e in events), len(nodes), "one end per node")
    eq([e[3] for e in begins], [n["name"] for _, n, _, _ in nodes], "names, in pre-order")
    for (ts, _, track, _, ann), (t, n, depth, _) in zip(begins, nodes):
        eq(threads[track], t["thread"], f"{n['name']}: its thread's track")
        if n["kind"] == "cumulative":
            for k in ("count", "total_ns", "min_ns", "avg_ns", "max_ns"):
                eq(ann[k], n[k], f"{n['name']} {k}")
        for k, v in n.get("data", {}).items():
            eq(ann[k], v, f"{n['name']} data {k}")
        if n.get("file"):
            eq((ann["file"], ann["line"]), (n["file"], n["line"]), f"{n['name']} file and line")
        if depth == 0:
            eq(ts, t["start_ns"] + n["start_ns"], "a trace's start")
            eq(ann["trace.seq"], t["seq"], "trace seq")

    # Nesting, as Perfetto rebuilds it: per track, in time order (file
    # order among equal times), an end closes the innermost open slice.
    index = {id(e): i for i, e in enumerate(begins)}
    for track in threads:
        stack = []
        evs = sorted(((e[0], i, e) for i, e in enumerate(events) if e[2] == track), key=lambda x: x[:2])
        for ts, _, e in evs:
            if e[1] == "TYPE_SLICE_BEGIN":
                i = index[id(e)]
                eq(stack[-1][0] if stack else None, nodes[i][3], f"parent of {e[3]} (node {i})")
                stack.append((i, ts))
            else:
                assert stack, "an end without a begin"
                i, start = stack.pop()
                assert ts >= start, f"{nodes[i][1]['name']} ends before it begins"
                if nodes[i][1]["kind"] == "span":
                    eq(ts - start, nodes[i][1]["duration_ns"], f"{nodes[i][1]['name']} duration")
        eq(stack, [], "every slice ended")
    return len(tracks) - 1 - len(set(threads.values()))  # lane tracks


@case
def perfetto_export_decodes_with_one_begin_and_end_per_node():
    f = datagrid()
    model = model_of(f)
    assert any(n["kind"] == "cumulative" for _, n, _, _ in preorder(model)), "cumulative nodes in the dump"
    check_perfetto(f, model)


@case
def perfetto_export_of_overlapping_traces_uses_lanes():
    f = coroutines()
    assert check_perfetto(f, model_of(f)) >= 1, "overlapping requests need a lane track"


@case
def perfetto_export_of_one_trace():
    f = datagrid()
    model = model_of(f)
    packets = decode_perfetto(f, "2")
    want = sum(1 for _ in preorder({"traces": [model["traces"][1]]}))
    eq(sum("track_event" in p for p in packets), 2 * want, "events of trace 2")


# ------------------------------------------------------------------------
# otlp
HEX32, HEX16 = re.compile(r"[0-9a-f]{32}"), re.compile(r"[0-9a-f]{16}")
INT64 = re.compile(r"-?\d+")
SPAN_KEYS = {"traceId", "spanId", "traceState", "parentSpanId", "flags", "name", "kind", "startTimeUnixNano",
             "endTimeUnixNano", "attributes", "droppedAttributesCount", "events", "droppedEventsCount", "links",
             "droppedLinksCount", "status"}


def check_any_value(v, where):
    assert isinstance(v, dict) and len(v) == 1, f"{where}: one value field, not {v!r}"
    (k, x), = v.items()
    if k == "stringValue":
        assert isinstance(x, str), where
    elif k == "intValue":  # int64: a string in the JSON mapping
        assert isinstance(x, str) and INT64.fullmatch(x) and -2**63 <= int(x) < 2**63, f"{where}: {x!r}"
    elif k == "doubleValue":
        assert isinstance(x, (int, float)) or x in ("NaN", "Infinity", "-Infinity"), where
    elif k == "boolValue":
        assert isinstance(x, bool), where
    else:
        raise AssertionError(f"{where}: unexpected value field {k}")


def check_attributes(attrs, where):
    assert isinstance(attrs, list), where
    keys = [a["key"] for a in attrs]
    eq(len(keys), len(set(keys)), f"{where}: attribute keys unique")
    for a in attrs:
        eq(set(a), {"key", "value"}, f"{where}: attribute fields")
        check_any_value(a["value"], f"{where} {a['key']}")
    return {a["key"]: next(iter(a["value"].values())) for a in attrs}


def check_otlp_request(req):
    """Every rule of the OTLP/JSON encoding our requests rely on; returns
    (resource attributes, spans)."""
    eq(set(req), {"resourceSpans"}, "request fields")
    spans, resources = [], []
    for rs in req["resourceSpans"]:
        assert set(rs) <= {"resource", "scopeSpans", "schemaUrl"}, set(rs)
        res = check_attributes(rs["resource"]["attributes"], "resource")
        for k in ("service.name", "process.pid", "host.name"):
            assert k in res, f"resource attribute {k}"
        resources.append(res)
        for ss in rs["scopeSpans"]:
            assert set(ss) <= {"scope", "spans", "schemaUrl"}, set(ss)
            assert isinstance(ss["scope"]["name"], str)
            for s in ss["spans"]:
                assert set(s) <= SPAN_KEYS, f"unknown span fields {set(s) - SPAN_KEYS}"
                assert HEX32.fullmatch(s["traceId"]) and int(s["traceId"], 16), s["traceId"]
                assert HEX16.fullmatch(s["spanId"]) and int(s["spanId"], 16), s["spanId"]
                if "parentSpanId" in s:
                    assert HEX16.fullmatch(s["parentSpanId"]), s["parentSpanId"]
                assert isinstance(s["kind"], int) and 0 <= s["kind"] <= 5, s["kind"]
                eq(s["kind"], 1, "SPAN_KIND_INTERNAL")
                for k in ("startTimeUnixNano", "endTimeUnixNano"):
                    assert isinstance(s[k], str) and s[k].isdigit(), f"{k}: {s[k]!r}"
                assert int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"])
                s["_attrs"] = check_attributes(s.get("attributes", []), s["name"])
                st = s.get("status", {})
                assert set(st) <= {"code", "message"} and st.get("code", 0) in (0, 1, 2), st
                spans.append(s)
    return resources, spans


def check_otlp_spans(spans, model):
    """The spans of every request together: the dump's nodes, each once,
    parents in the same trace."""
    nodes = preorder(model)
    eq(len(spans), len(nodes), "one span per node")
    ids = {(s["traceId"], s["spanId"]) for s in spans}
    eq(len(ids), len(spans), "span ids unique")
    by_trace = {}
    for s in spans:
        by_trace.setdefault(s["traceId"], []).append(s)
        if "parentSpanId" in s:
            assert (s["traceId"], s["parentSpanId"]) in ids, f"{s['name']}: parent not in its trace"
    eq(len(by_trace), len(model["traces"]), "one OTLP trace per trace")
    roots = {}
    for tid, ss in by_trace.items():
        r = [s for s in ss if "parentSpanId" not in s]
        eq(len(r), 1, "one root per trace")
        roots[r[0]["_attrs"]["spanprof.trace.seq"]] = (tid, ss)
    for t in model["traces"]:
        tid, ss = roots[str(t["seq"])]
        want = [n for n in preorder({"traces": [t]})]
        eq(len(ss), len(want), f"trace {t['seq']} spans")
        by_id = {s["spanId"]: s for s in ss}
        got_names = sorted(s["name"] for s in ss)
        eq(got_names, sorted(n["name"] for _, n, _, _ in want), f"trace {t['seq']} names")
        root = next(s for s in ss if "parentSpanId" not in s)
        eq(int(root["startTimeUnixNano"]), t["start_ns"] + t["root"]["start_ns"], "root start")
        eq(int(root["endTimeUnixNano"]) - int(root["startTimeUnixNano"]), t["duration_ns"], "root duration")
        for s in ss:
            if "parentSpanId" in s:
                p = by_id[s["parentSpanId"]]
                assert int(p["startTimeUnixNano"]) <= int(s["startTimeUnixNano"]), "child starts in its parent"
                assert int(s["endTimeUnixNano"]) <= int(p["endTimeUnixNano"]), "child ends in its parent"
        cumul = [(n["name"], n["count"], n["min_ns"], n["avg_ns"], n["max_ns"]) for _, n, _, _ in want
                 if n["kind"] == "cumulative"]
        got = [(s["name"], *(int(s["_attrs"][f"spanprof.{k}"]) for k in ("count", "min_ns", "avg_ns", "max_ns")))
               for s in ss if s["_attrs"].get("spanprof.cumulative")]
        eq(sorted(got), sorted(cumul), f"trace {t['seq']} cumulative spans")


@case
def otlp_export_follows_the_json_mapping_and_is_stable():
    f = datagrid()
    model = model_of(f)
    text = sp("export", "-f", f, "--format", "otlp").stdout
    resources, spans = check_otlp_request(json.loads(text))
    eq(resources[0]["service.name"], "datagrid", "service.name")
    eq(resources[0]["process.pid"], str(model["pid"]), "process.pid")
    check_otlp_spans(spans, model)
    eq(sp("export", "-f", f, "--format", "otlp").stdout, text, "ids derived from the dump: the same again")
    # Data and function details are attributes.
    keyed = [s for s in spans if "key" in s["_attrs"]]
    assert keyed, "span data as attributes"
    fn = [s for s in spans if "code.function.name" in s["_attrs"]]
    assert fn and all(s["_attrs"]["code.file.path"].endswith(".c") for s in fn), "function details"


@case
def otlp_marks_unfinished_traces_and_abandoned_spans():
    # exit() from deep inside: spanprof closes the open spans at exit.
    f = record(EXIT_PROG, "exit.out", {"SPANPROF_TRACE_CALLS": "exit_root"})
    model = model_of(f)
    _, spans = check_otlp_request(json.loads(sp("export", "-f", f, "--format", "otlp").stdout))
    check_otlp_spans(spans, model)
    root = next(s for s in spans if "parentSpanId" not in s)
    eq(root["_attrs"].get("spanprof.trace.unfinished"), True, "unfinished trace marked")
    abandoned = {n["name"] for _, n, _, _ in preorder(model) if n.get("abandoned")}
    assert abandoned, "the dump has abandoned spans"
    eq({s["name"] for s in spans if s["_attrs"].get("spanprof.abandoned")}, abandoned, "abandoned spans")
    assert all(s["status"]["code"] == 2 for s in spans if s["_attrs"].get("spanprof.abandoned"))


# ------------------------------------------------------------------------
# speedscope
UNITS = {"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}


def check_speedscope_schema(doc):
    """The constraints of https://www.speedscope.app/file-format-schema.json
    (required fields and their types) and of the evented profile's
    semantics (balanced, ordered events; valid frame indices)."""
    eq(doc["$schema"], "https://www.speedscope.app/file-format-schema.json", "$schema")
    frames = doc["shared"]["frames"]
    assert isinstance(frames, list)
    for fr in frames:
        assert set(fr) <= {"name", "file", "line", "col"} and isinstance(fr["name"], str), fr
        assert isinstance(fr.get("file", ""), str) and isinstance(fr.get("line", 0), int), fr
    assert isinstance(doc["profiles"], list) and doc["profiles"]
    if "activeProfileIndex" in doc:
        assert 0 <= doc["activeProfileIndex"] < len(doc["profiles"])
    for p in doc["profiles"]:
        eq(set(p), {"type", "name", "unit", "startValue", "endValue", "events"}, "evented profile fields")
        eq(p["type"], "evented")
        assert isinstance(p["name"], str) and p["unit"] in UNITS
        assert p["startValue"] <= p["endValue"]
        stack, at = [], p["startValue"]
        for e in p["events"]:
            eq(set(e), {"type", "frame", "at"}, "event fields")
            assert isinstance(e["frame"], int) and 0 <= e["frame"] < len(frames), e
            assert e["at"] >= at, f"{p['name']}: events out of order at {e['at']}"
            assert e["at"] <= p["endValue"], "an event after the profile's end"
            at = e["at"]
            if e["type"] == "O":
                stack.append(e["frame"])
            else:
                eq(e["type"], "C")
                assert stack and stack[-1] == e["frame"], f"{p['name']}: unbalanced close of {e['frame']}"
                stack.pop()
        eq(stack, [], f"{p['name']}: every frame closed")


@case
def speedscope_export_meets_the_schema_and_merges_frames():
    f = datagrid()
    model = model_of(f)
    doc = json.loads(sp("export", "-f", f, "--format", "speedscope").stdout)
    check_speedscope_schema(doc)
    frames = doc["shared"]["frames"]
    eq(len(doc["profiles"]), len(model["traces"]), "one profile per trace")
    for p, t in zip(doc["profiles"], model["traces"]):
        want = [n for _, n, _, _ in preorder({"traces": [t]})]
        opens = [frames[e["frame"]] for e in p["events"] if e["type"] == "O"]
        eq([fr["name"] for fr in opens], [n["name"] for n in want], f"trace {t['seq']} frames in order")
        for fr, n in zip(opens, want):
            if n.get("file"):
                eq((fr.get("file"), fr.get("line")), (n["file"], n["line"]), f"{n['name']} location")
        assert str(t["seq"]) in p["name"] and str(t["thread"]) in p["name"], p["name"]
        eq(p["endValue"] - p["startValue"], t["duration_ns"], "profile length")
    # Data stays out of names: frames are unique by (name, file, line), and
    # far fewer than the nodes.
    keys = [(fr["name"], fr.get("file"), fr.get("line")) for fr in frames]
    eq(len(keys), len(set(keys)), "frames merged")
    eq({fr["name"] for fr in frames}, {n["name"] for _, n, _, _ in preorder(model)}, "frame names = node names")
    assert len(frames) * 4 < len(preorder(model)), "identical frames shared"


@case
def speedscope_export_of_overlapping_traces():
    f = coroutines()
    doc = json.loads(sp("export", "-f", f, "--format", "speedscope").stdout)
    check_speedscope_schema(doc)
    eq(len(doc["profiles"]), 6, "a profile per request")


# ------------------------------------------------------------------------
# nesting, all three formats
def shape(name, children):
    """A tree as names and parent links: (name, its children's shapes),
    children sorted so that only the links count, not their order."""
    return (name, tuple(sorted(children)))


def model_shapes(model):
    def of(n):
        # Iterative: the model's own nesting, the reference.
        out, todo = {}, [(n, False)]
        while todo:
            x, done = todo.pop()
            if done:
                out[id(x)] = shape(x["name"], [out[id(c)] for c in x.get("children", [])])
            else:
                todo.append((x, True))
                todo.extend((c, False) for c in x.get("children", []))
        return out[id(n)]
    return sorted(of(t["root"]) for t in model["traces"])


def shapes_of_events(events):
    """(open, name) events, in order: the forest they nest."""
    stack, roots = [], []
    for is_open, name in events:
        if is_open:
            stack.append((name, []))
            continue
        assert stack, "a close without an open"
        n, kids = stack.pop()
        (stack[-1][1] if stack else roots).append(shape(n, kids))
    eq(stack, [], "every node closed")
    return roots


@case
def exports_nest_a_cumulative_nodes_late_children_inside_it():
    # Records: a parent before its child, but a subtree's records need not
    # sit together (a cumulative node's child first seen after a sibling).
    f = record(LATE_CHILD, "late.out", {"SPANPROF_ENABLED": "1"})
    model = model_of(f)
    want = model_shapes(model)
    eq([t["root"]["name"] for t in model["traces"]], ["late", "deep", "same"], "the program's traces")
    eq(want[1], ("late", (("loop", (("inner", ()),)), ("step", ()), ("step", ()), ("step", ()))), "late's tree")

    # speedscope: a profile per trace, O and C events.
    doc = json.loads(sp("export", "-f", f, "--format", "speedscope").stdout)
    frames = doc["shared"]["frames"]
    got = []
    for p in doc["profiles"]:
        got += shapes_of_events([(e["type"] == "O", frames[e["frame"]]["name"]) for e in p["events"]])
    wrong = [] if sorted(got) == want else ["speedscope"]

    # otlp: parent span ids.
    _, spans = check_otlp_request(json.loads(sp("export", "-f", f, "--format", "otlp").stdout))
    kids = {}
    for s in spans:
        kids.setdefault((s["traceId"], s.get("parentSpanId")), []).append(s)
    def of(s):
        out, todo = {}, [(s, False)]
        while todo:
            x, done = todo.pop()
            cs = kids.get((x["traceId"], x["spanId"]), [])
            if done:
                out[x["spanId"]] = shape(x["name"], [out[c["spanId"]] for c in cs])
            else:
                todo.append((x, True))
                todo.extend((c, False) for c in cs)
        return out[s["spanId"]]
    got = [of(s) for s in spans if "parentSpanId" not in s]
    eq(len(spans), sum(1 for _ in preorder(model)), "one span per node")
    # The ids come from the nodes' parents; the times from the walk: a
    # child's must lie inside its parent's, as a viewer nests by both.
    by_id = {(s["traceId"], s["spanId"]): s for s in spans}
    outside = [s["name"] for s in spans if "parentSpanId" in s and not (
        int(by_id[s["traceId"], s["parentSpanId"]]["startTimeUnixNano"]) <= int(s["startTimeUnixNano"])
        and int(s["endTimeUnixNano"]) <= int(by_id[s["traceId"], s["parentSpanId"]]["endTimeUnixNano"]))]
    wrong += [] if sorted(got) == want and not outside else [f"otlp (outside their parents: {outside})"]

    # perfetto: begins and ends per track in time order (file order among
    # equal times), as Perfetto nests them.
    names, events = {}, []
    for p in decode_perfetto(f):
        for e in one(p, "interned_data", {}).get("event_names", []):
            names[one(e, "iid")] = one(e, "name")
        if "track_event" in p:
            te = one(p, "track_event")
            name = names[one(te, "name_iid")] if "name_iid" in te else one(te, "name", "")
            events.append((one(te, "track_uuid"), one(p, "timestamp"), len(events),
                           one(te, "type") == "TYPE_SLICE_BEGIN", name))
    got = []
    for track in {e[0] for e in events}:
        got += shapes_of_events([e[3:] for e in sorted(e for e in events if e[0] == track)])
    wrong += [] if sorted(got) == want else ["perfetto"]

    # folded: the paths of the late children (the only nodes with whole
    # microseconds of self time), and every line a path of the tree.
    paths = []
    for _, n, _, up in preorder(model):
        paths.append(n["name"] if up is None else paths[up] + ";" + n["name"])
    lines = [ln.rsplit(" ", 1)[0] for ln in sp("export", "-f", f, "--format", "folded").stdout.splitlines()]
    if not {"late;loop;inner", "deep;wrap;a;b;c;d"} <= set(lines) or not set(lines) <= set(paths):
        wrong.append(f"folded {lines}")
    eq(wrong, [], f"nesting unlike the json export's {want}")


@case
def top_counts_a_late_child_inside_its_namesake():
    # Not an export, but the same record order: top's outermost
    # activations are those with no ancestor of their name.
    f = record(LATE_CHILD, "late.out", {"SPANPROF_ENABLED": "1"})
    t = next(t for t in model_of(f)["traces"] if t["root"]["name"] == "same")
    x = next(n for n in t["root"]["children"] if n["name"] == "x")
    eq([c["name"] for c in x["children"]], ["x"], "x inside x")
    row = next(r for r in json.loads(sp("top", "-f", f, "--json").stdout) if r["name"] == "x")
    eq((row["count"], row["outermost"], row["total_ns"]), (4, 3, x["total_ns"]), "x: count, outermost, total")


@case
def export_rejects_an_unknown_format():
    p = sp("export", "-f", datagrid(), "--format", "nope", check=False)
    eq(p.returncode, 2)
    assert "perfetto" in p.stderr and "speedscope" in p.stderr, p.stderr

# ------------------------------------------------------------------------
# push: a receiver on 127.0.0.1 that checks every request
class Receiver:
    """An OTLP/HTTP receiver on a loopback ephemeral port. `script` is the
    statuses to answer first (then 200); every request is checked against
    the OTLP/JSON rules, its spans kept only when it was accepted."""

    def __init__(self, script=(), retry_after=None):
        self.script = list(script)
        self.retry_after = retry_after
        self.requests, self.spans, self.errors, self.headers = [], [], [], []
        self.lock = threading.Lock()
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with rx.lock:
                    status = rx.script.pop(0) if rx.script else 200
                    try:
                        eq(self.path, "/v1/traces", "path")
                        eq(self.headers["Content-Type"], "application/json", "Content-Type")
                        _, spans = check_otlp_request(json.loads(body))
                        assert spans, "a request without spans"
                    except Exception as e:
                        rx.errors.append(f"request {len(rx.requests) + 1}: {e}")
                        spans = []
                    rx.requests.append((status, len(spans), len(body)))
                    rx.headers.append(dict(self.headers))
                    if status == 200:
                        rx.spans.extend(spans)
                reply = b"{}" if status == 200 else b'{"message":"try later"}'
                self.send_response(status)
                if status != 200 and rx.retry_after is not None:
                    self.send_header("Retry-After", str(rx.retry_after))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def push_available():
    p = sp("push", "--otlp", "http://127.0.0.1:9", "-f", "/nonexistent", check=False)
    if "unavailable" in p.stderr:
        raise Skip("spanprof built without libcurl")


@case
def push_sends_every_span_once_in_bounded_batches():
    push_available()
    f = datagrid()
    model = model_of(f)
    with Receiver() as rx:
        p = sp("push", "--otlp", rx.url + "/", "-f", f, "--batch-spans", "50", "--header", "X-Scope-OrgID=tenant-1")
    eq(rx.errors, [], "receiver checks")
    check_otlp_spans(rx.spans, model)
    assert len(rx.requests) > 1 and all(n <= 50 for _, n, _ in rx.requests), rx.requests
    assert all(h.get("X-Scope-OrgID") == "tenant-1" for h in rx.headers), "--header on every request"
    assert f"sent {len(rx.spans)} spans in {len(rx.requests)} requests" in p.stdout, p.stdout


@case
def push_retries_503_and_sends_once():
    push_available()
    f = datagrid()
    model = model_of(f)
    with Receiver(script=[503, 503]) as rx:
        p = sp("push", "--otlp", rx.url, "-f", f)
    eq(rx.errors, [], "receiver checks")
    eq([s for s, _, _ in rx.requests[:3]], [503, 503, 200], "two refusals, then accepted")
    check_otlp_spans(rx.spans, model)  # each span exactly once
    eq(p.stderr.count("HTTP 503"), 2, "each retry said why")
    eq(re.findall(r"retrying in ([\d.]+) s", p.stderr), ["0.25", "0.5"], "exponential backoff")
    with Receiver(script=[429], retry_after=1) as rx:
        p = sp("push", "--otlp", rx.url, "-f", f)
    eq(re.findall(r"retrying in ([\d.]+) s", p.stderr), ["1"], "Retry-After honoured")
    eq([s for s, _, _ in rx.requests[:2]], [429, 200], "429 with Retry-After, then accepted")
    check_otlp_spans(rx.spans, model)


@case
def push_stops_on_other_statuses_and_bounds_tries():
    push_available()
    f = datagrid()
    with Receiver(script=[400]) as rx:
        p = sp("push", "--otlp", rx.url, "-f", f, check=False)
    eq(p.returncode, 1)
    eq(len(rx.requests), 1, "no retry on 400")
    assert "HTTP 400" in p.stderr and rx.url in p.stderr, p.stderr
    with Receiver(script=[500] * 10) as rx:
        p = sp("push", "--otlp", rx.url, "-f", f, check=False)
    eq(p.returncode, 1)
    eq(len(rx.requests), 6, "6 tries at most")
    assert "gave up after 6 tries" in p.stderr, p.stderr
    eq(sp("push", "-f", f, check=False).returncode, 2, "--otlp is required")
    eq(sp("push", "--otlp", rx.url, "--follow", "-f", f, check=False).returncode, 2, "--follow needs -p")


def catches(pid, sig):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16) >> (sig - 1) & 1
    return False


def until(what, fn, limit=60.0):
    """Poll fn() until it returns something true: waiting for a state."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@case
def push_follow_sends_each_new_trace_once():
    push_available()
    out = os.path.join(TMP, "live.out")
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    # A small store: a poll holds at most 20 traces (about 640 spans), one
    # request, and traces are evicted between polls, as in a long run.
    e.update({"SPANPROF_SIGNAL": "SIGUSR2", "SPANPROF_OUTPUT": out, "SPANPROF_ENABLED": "1",
              "SPANPROF_MAX_TRACES": "20"})
    prog = subprocess.Popen([DATAGRID, "100000000"], env=e, stdout=subprocess.DEVNULL)
    try:
        until("the control handler", lambda: catches(prog.pid, signal.SIGUSR2))
        with Receiver() as rx:
            push = subprocess.Popen([SPANPROF, "push", "--otlp", rx.url, "-p", str(prog.pid), "--follow",
                                     "--interval", "0.05"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            # Three polls with new traces: wait for the state.
            until("three accepted requests", lambda: len([r for r in rx.requests if r[0] == 200]) >= 3)
            prog.kill()
            prog.wait()
            _, err = push.communicate(timeout=120)
            eq(push.returncode, 0, f"push ends with the program: {err}")
        eq(rx.errors, [], "receiver checks")
        ids = [(s["traceId"], s["spanId"]) for s in rx.spans]
        eq(len(ids), len(set(ids)), "every span sent once")
        roots = [s["_attrs"]["spanprof.trace.seq"] for s in rx.spans if "parentSpanId" not in s]
        eq(len(roots), len(set(roots)), "every trace sent once")
        assert len(roots) >= 3, roots
        # A request per poll, each with traces newer than the last one's.
        per_request, at = [], 0
        for _, n, _ in rx.requests:
            per_request.append({int(s["_attrs"]["spanprof.trace.seq"]) for s in rx.spans[at:at + n]
                                if "parentSpanId" not in s})
            at += n
        for a, b in zip(per_request, per_request[1:]):
            assert max(a) < min(b), f"a later poll resent or reordered traces: {sorted(a)} then {sorted(b)}"
        by_trace = {}
        for s in rx.spans:
            by_trace.setdefault(s["traceId"], set()).add(s["spanId"])
        for s in rx.spans:
            if "parentSpanId" in s:
                assert s["parentSpanId"] in by_trace[s["traceId"]], "whole traces"
    finally:
        if prog.poll() is None:
            prog.kill()
            prog.wait()


print(f"1..{len(results)}")
failed = 0
for i, fn in enumerate(results, 1):
    try:
        fn()
        print(f"ok {i} - {fn.__name__}")
    except Skip as s:
        print(f"ok {i} - {fn.__name__} # SKIP {s}")
    except Exception as e:  # report and go on
        failed += 1
        print(f"not ok {i} - {fn.__name__}")
        for line in str(e).splitlines() or [repr(e)]:
            print(f"# {line}")
shutil.rmtree(TMP, ignore_errors=True)
sys.exit(1 if failed else 0)
