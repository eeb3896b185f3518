#!/usr/bin/env python3
"""test_cli.py - the spanprof CLI on dumps from real programs, end to end.

usage: test_cli.py SPANPROF DATAGRID EXIT_PROG FORK_PROG THREADS PLUGIN_HOST COROUTINES
                   CTL_PROG CTL_LATE LIB_A
Prints TAP. Each check runs the programs under the profiler with the
environment a user would set, then asserts on the structure of what the
CLI prints (names, shape, counts, data) - not just on exit statuses.
"""
import struct
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SPANPROF, DATAGRID, EXIT_PROG, FORK_PROG, THREADS, PLUGIN, COROUTINES, CTL_PROG, CTL_LATE, LIB_A = map(
    os.path.abspath, sys.argv[1:11])
TMP = tempfile.mkdtemp(prefix="sp-e2e-")
results = []


def run(args, env=None, check=True, cwd=TMP, timeout=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e.update(env or {})
    p = subprocess.run(args, env=e, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}: {p.stderr.strip()}")
    return p


def sp(*args, check=True, timeout=None):
    return run([SPANPROF, *args], check=check, timeout=timeout)


def sp_json(*args):
    return json.loads(sp(*args, "--json").stdout)


def record(prog, out, env, args=()):
    path = os.path.join(TMP, out)
    run([prog, *args], env={"SPANPROF_OUTPUT": path, **env})
    assert os.path.exists(path), f"{prog} wrote no {path}"
    return path


def case(fn):
    results.append(fn)
    return fn


def nodes(n):
    yield n
    for c in n.get("children", []):
        yield from nodes(c)


def eq(a, b, what=""):
    assert a == b, f"{what}: {a!r} != {b!r}"


PHASES = ["lookup", "before_commands", "callback", "after_commands", "oob_swap"]


@case
def datagrid_list_has_24_commands():
    f = record(DATAGRID, "dg.out", {"SPANPROF_ENABLED": "1"})
    traces = sp_json("list", "-f", f)
    eq(len(traces), 24, "traces")
    eq([t["seq"] for t in traces], list(range(1, 25)), "seqs")
    for t in traces:
        eq(list(t), ["seq", "name", "id", "data", "start_ns", "duration_ns", "thread", "dropped_spans", "cpu_ns",
                     "voluntary_switches", "involuntary_switches"], "keys")
        eq(t["name"], "navigate_cell")
        eq(t["data"]["grid_rows"], 20000)
        assert t["id"].startswith(f"cmd-{t['seq']}/"), t["id"]
    text = sp("list", "-f", f).stdout.splitlines()
    eq(len(text), 2 + 24, "table lines")
    assert "navigate_cell" in text[2] and "cmd-1/down" in text[2]


@case
def datagrid_show_has_the_phases_and_render_row():
    f = os.path.join(TMP, "dg.out")
    t = sp_json("show", "-f", f, "slowest")
    eq(list(t), ["seq", "name", "id", "data", "start_ns", "duration_ns", "thread", "dropped_spans", "cpu_ns",
                 "voluntary_switches", "involuntary_switches", "root"], "keys")
    root = t["root"]
    eq([c["name"] for c in root["children"]], PHASES, "phases")
    oob = root["children"][4]
    eq(oob["data"]["rows_rendered"], 40)
    rr = oob["children"][0]
    eq((rr["kind"], rr["name"], rr["count"]), ("cumulative", "render_row", 40))
    assert rr["min_ns"] <= rr["avg_ns"] <= rr["max_ns"] <= rr["total_ns"]
    assert oob["duration_ns"] > 0.5 * root["duration_ns"], "oob_swap is the slow phase"
    eq(root["duration_ns"], t["duration_ns"])
    eq(root["self_ns"], root["duration_ns"] - sum(c["duration_ns"] for c in root["children"]))
    out = sp("show", "-f", f, "slowest", "--color", "never").stdout
    for p in PHASES:
        assert f"─ {p}" in out, p
    assert "render_row  ×40" in out
    assert "overhead:" in out and "dropped spans: 0" in out
    assert "◀" in out.split("oob_swap")[1].splitlines()[0], "the hot path goes through oob_swap"


@case
def show_zoom_depth_and_folding():
    f = os.path.join(TMP, "dg.out")
    z = sp("show", "-f", f, "1", "--zoom", "navigate_cell/oob_swap", "--color", "never").stdout
    lines = [l for l in z.splitlines() if l[:6].strip().isdigit()]
    assert lines[0].split()[-3] == "oob_swap" or "oob_swap" in lines[0], lines[0]
    eq(len(lines), 2, "oob_swap and its render_row")
    node = lines[0].split()[0]
    eq(json.loads(sp("show", "-f", f, "1", "--zoom", node, "--json").stdout)["root"]["name"], "oob_swap")
    d = sp("show", "-f", f, "1", "--depth", "0", "--color", "never").stdout
    assert "… 5 more" in d, d
    m = sp("show", "-f", f, "1", "--min-pct", "50", "--color", "never").stdout
    assert "─ oob_swap" in m and "─ lookup" not in m and "… 4 more" in m, m
    bad = sp("show", "-f", f, "1", "--zoom", "nope/none", check=False)
    eq(bad.returncode, 1)


@case
def trace_calls_names_every_function():
    f = record(DATAGRID, "dgc.out", {"SPANPROF_TRACE_CALLS": "navigate_cell"})
    t = sp_json("show", "-f", f, "1")
    fn = t["root"]["children"][0]
    eq((fn["name"], fn["function"]), ("navigate_cell", "navigate_cell"))
    assert fn["file"].endswith("datagrid/commands.c"), fn["file"]
    assert fn["line"] > 0 and fn["module"].endswith("/datagrid")
    names = {n["name"] for n in nodes(t["root"])}
    for want in PHASES + ["render_page", "render_escaped", "render_append", "grid_cell_text", "grid_move"]:
        assert want in names, want
    esc = [n for n in nodes(t["root"]) if n["name"] == "render_escaped"]
    assert any(c["name"] == "render_append" for e in esc for c in e.get("children", [])), "render_append under render_escaped"


@case
def exit_from_deep_closes_the_trace():
    f = record(EXIT_PROG, "exit.out", {"SPANPROF_TRACE_CALLS": "exit_root"})
    t = sp_json("show", "-f", f, "1")
    r = t["root"]
    eq(r["name"], "exit_root")
    eq([c["name"] for c in r["children"]], ["exit_mid"])
    eq([c["name"] for c in r["children"][0]["children"]], ["exit_deep"])
    assert all(n.get("abandoned") for n in nodes(r)), "all three closed by spanprof at exit"
    assert "(closed at exit)" in sp("show", "-f", f, "1").stdout


@case
def a_fork_child_writes_its_own_file():
    path = os.path.join(TMP, "fork.out")
    p = run([FORK_PROG], env={"SPANPROF_OUTPUT": path, "SPANPROF_ENABLED": "1"})
    child = int(p.stdout.strip())
    eq([t["name"] for t in sp_json("list", "-f", path)], ["before_fork", "in_parent"], "parent file")
    cf = f"{path}.{child}"
    assert os.path.exists(cf), cf
    eq([(t["seq"], t["name"]) for t in sp_json("list", "-f", cf)], [(1, "in_child")], "child file")
    # Live: a fork child answers -p with its own file too (NAME.PID).
    os.remove(cf)
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e.update({"SPANPROF_OUTPUT": path, "SPANPROF_ENABLED": "1", "SPANPROF_SIGNAL": "SIGUSR2"})
    prog = subprocess.Popen([FORK_PROG, "hold"], env=e, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        child = int(prog.stdout.readline().split()[1])
        until("the child's handler", lambda: catches(child, signal.SIGUSR2))
        eq([t["name"] for t in sp_json("list", "-p", str(child))], ["in_child"], "the child's store")
        assert os.path.exists(f"{path}.{child}"), "written under the child's name"
    finally:
        prog.stdin.close()
        prog.wait()


@case
def threads_keep_their_traces_apart():
    f = record(THREADS, "th.out", {"SPANPROF_TRACE_CALLS": "handle_request"})
    traces = sp_json("list", "-f", f)
    eq(len(traces), 200)
    eq(len({t["thread"] for t in traces}), 4, "threads")
    for t in traces[:20]:
        eq(t["id"].split("-")[0], f"w{t['data']['worker']}")
    tree = sp_json("show", "-f", f, "7")["root"]
    eq([c["name"] for c in tree["children"][0]["children"]], ["parse", "work", "reply"])


@case
def a_dlopened_library_is_named():
    f = record(PLUGIN, "pl.out", {"SPANPROF_TRACE_CALLS": "run_request"})
    traces = sp_json("list", "-f", f)
    eq(len(traces), 10)
    for seq in (1, 10):  # before and after the dlclose/dlopen
        r = sp_json("show", "-f", f, str(seq))["root"]
        fr = r["children"][0]["children"][0]
        eq(fr["name"], "filter_rows")
        assert fr["module"].endswith("libplugin_filter.so"), fr["module"]
        assert fr["file"].endswith("plugin_filter.c")
        assert {c["name"] for c in fr["children"]} == {"filter_match", "filter_score"}


@case
def a_rebuilt_binary_is_not_trusted():
    prog = os.path.join(TMP, "dg-copy")
    shutil.copy(DATAGRID, prog)
    f = record(prog, "copy.out", {"SPANPROF_TRACE_CALLS": "navigate_cell"})
    data = bytearray(open(prog, "rb").read())
    i = data.find(b"GNU\0", data.find(b"\x03\x00\x00\x00") - 16)
    note = data.find(b"\x04\x00\x00\x00\x14\x00\x00\x00\x03\x00\x00\x00GNU\x00")
    assert note >= 0, "a GNU build-id note"
    data[note + 16] ^= 0xff  # "rebuilt": another build-id
    open(prog, "wb").write(data)
    p = sp("show", "-f", f, "1", "--json")
    assert "build-id differs" in p.stderr, p.stderr
    t = json.loads(p.stdout)
    fn = t["root"]["children"][0]
    eq(fn["name"], "navigate_cell")  # the name the runtime read in the process
    eq(fn["file"], None)  # but nothing from the changed file


@case
def every_subcommand_has_help():
    top = sp("--help").stdout
    cmds = [l.split()[0] for l in top.split("commands:")[1].splitlines() if l.startswith("  ")]
    assert {"list", "show", "ctl", "help"} <= set(cmds), cmds
    for c in cmds:
        a, b = sp(c, "--help"), sp("help", c)
        eq(a.stdout, b.stdout, c)
        assert a.stdout.startswith(f"usage: spanprof {c}"), c
    assert "SPANPROF_TRACE_CALLS" in sp("help", "env").stdout
    assert sp("--version").stdout.startswith("spanprof 0.1.0")


@case
def usage_errors_exit_2():
    for args in (["lst"], ["show"], ["list", "--sort", "size"], ["show", "--depth", "-1", "1"], ["nope"], ["--bogus"],
                 ["list", "extra"], ["show", "abc"]):
        p = sp(*args, "-f", os.path.join(TMP, "dg.out"), check=False) if args[0] in ("list", "show") else sp(*args, check=False)
        eq(p.returncode, 2, args)
        assert p.stderr.startswith("spanprof: "), p.stderr
    assert "did you mean 'list'" in sp("lst", check=False).stderr


@case
def bad_files_exit_1_with_one_line():
    good = open(os.path.join(TMP, "dg.out"), "rb").read()
    flipped = bytearray(good)
    at = len(good) // 2
    if struct.unpack_from("<I", good, 8)[0] == 2:
        # A flight file (docs/FORMAT.md): its middle is likely free space,
        # which holds nothing to show; flip a byte of the sites instead
        # (the first site's fields), which the checksum covers.
        at = struct.unpack_from("<Q", good, 112)[0] + 4
    flipped[at] ^= 4
    cases = {"missing": None, "empty": b"", "foreign": open("/bin/true", "rb").read(),
             "truncated": good[:len(good) // 3], "flipped": bytes(flipped), "header-only": good[:64]}
    for name, content in cases.items():
        path = os.path.join(TMP, name + ".bad")
        if content is not None:
            open(path, "wb").write(content)
        for cmd in (["list"], ["show", "1"]):
            p = sp(*cmd, "-f", path, check=False)
            eq(p.returncode, 1, (name, cmd))
            lines = p.stderr.splitlines()
            eq(len(lines), 1, (name, cmd, p.stderr))
            assert lines[0].startswith("spanprof: ") and name != "missing" or "cannot open" in lines[0], lines[0]
    p = sp("show", "-f", os.path.join(TMP, "dg.out"), "99", check=False)
    eq((p.returncode, p.stderr.strip()), (1, f"spanprof: no trace #99 in {TMP}/dg.out (traces #1..#24)"))


# Generous: the point is that a hang fails instead of blocking the suite.
HANG = 60


def one_error_line(p, what):
    eq(p.returncode, 1, what)
    lines = p.stderr.splitlines()
    eq(len(lines), 1, (what, p.stderr))
    assert lines[0].startswith("spanprof: "), (what, lines[0])
    return lines[0]


@case
def a_fifo_a_device_or_a_directory_is_refused_at_once():
    fifo = os.path.join(TMP, "fifo")
    os.mkfifo(fifo)
    for path in (fifo, "/dev/null", "/dev/zero", TMP):
        for cmd in (["list"], ["show", "1"], ["pie", "1"], ["top"], ["export"], ["diff", "1", "2"]):
            line = one_error_line(sp(*cmd, "-f", path, check=False, timeout=HANG), (path, cmd))
            assert f"{path}: not a regular file" in line, line
        line = one_error_line(sp("diff", "-f", os.path.join(TMP, "dg.out"), "1", f"{path}:1", check=False,
                                 timeout=HANG), (path, "diff FILE:SEQ"))
        assert f"{path}: not a regular file" in line, line


@case
def an_output_fifo_without_reader_is_refused_at_once():
    f = os.path.join(TMP, "dg.out")
    fifo = os.path.join(TMP, "out-fifo")
    os.mkfifo(fifo)
    for cmd in (["export", "-o", fifo], ["pie", "--svg", fifo, "1"]):
        line = one_error_line(sp(*cmd, "-f", f, check=False, timeout=HANG), cmd)
        assert f"cannot write {fifo}: a FIFO with no reader" in line, line
    # With a reader, a FIFO is a fine output: the export goes through it.
    # The reader is in place before the writer starts: opened here (not
    # blocking, as no writer is there yet) and read by a thread; a writer
    # end held here until spanprof is done keeps the reads from seeing
    # end-of-file before spanprof has even opened the FIFO.
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    hold = os.open(fifo, os.O_WRONLY)
    chunks = []

    def drain():
        while data := os.read(fd, 65536):
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        sp("export", "-f", f, "-o", fifo, "1", timeout=HANG)
    finally:
        os.close(hold)
        reader.join(HANG)
        os.close(fd)
    out = b"".join(chunks).decode()
    eq([t["seq"] for t in json.loads(out)["traces"]], [1], "exported through the FIFO")


CONTROLS = ["\n", "\r", "\x1b", "\t"]
QUOTED = {"\n": "\\n", "\r": "\\r", "\x1b": "\\x1b", "\t": "\\t"}


def only_spanprof_lines(stderr, c, what):
    """Every line of stderr is spanprof's, and `c` is in none raw."""
    assert stderr.endswith("\n"), (what, stderr)
    lines = stderr[:-1].split("\n")
    for line in lines:
        assert line.startswith("spanprof: "), (what, stderr)
        assert not any(ch < " " or ch == "\x7f" for ch in line), (what, line)
    assert any(QUOTED[c] in line for line in lines), (what, "value echoed, quoted", stderr)


@case
def control_characters_in_every_variable_stay_in_one_line():
    # The threads sample: threads, spans, and quick, for 76 runs.
    plain = run([THREADS]).stdout
    assert "threads: 4 threads x 50 requests" in plain, plain
    for c in CONTROLS:
        cases = {
            "SPANPROF_ENABLED": {"SPANPROF_ENABLED": f"a{c}b"},
            "SPANPROF_DEBUG": {"SPANPROF_DEBUG": f"a{c}b"},
            "SPANPROF_MAX_TRACES": {"SPANPROF_MAX_TRACES": f"a{c}b"},
            "SPANPROF_BUFFER_MB": {"SPANPROF_BUFFER_MB": f"1{c}2"},
            "SPANPROF_SIGNAL": {"SPANPROF_SIGNAL": f"SIGUSR1{c}x"},
            "SPANPROF_OUTPUT pattern": {"SPANPROF_OUTPUT": f"out{c}%z"},
            "SPANPROF_OUTPUT path": {"SPANPROF_OUTPUT": f"/nonexistent{c}dir/x.out", "SPANPROF_ENABLED": "1"},
            "SPANPROF_TRACE": {"SPANPROF_TRACE": f"handle@x{c}y", "SPANPROF_OUTPUT": ""},
            "unknown variable": {f"SPANPROF_BOGUS{c}X": "1"},
        }
        for var in ("SPANPROF_TRACE_CALLS", "SPANPROF_TRACE_ALL", "SPANPROF_EXCLUDE", "SPANPROF_CUMULATIVE",
                    "SPANPROF_ARGS"):
            cases[var] = {var: f"fn{c}x@p", "SPANPROF_OUTPUT": ""}
            # Echoed as they are understood, with SPANPROF_DEBUG.
            cases[var + " (debug)"] = {var: f"fn{c}x,file:a{c}b.c", "SPANPROF_DEBUG": "1", "SPANPROF_OUTPUT": ""}
        for what, env in cases.items():
            p = run([THREADS], env=env, check=False, timeout=HANG)
            eq(p.returncode, 0, (repr(c), what, p.stderr))
            eq(p.stdout, plain, (repr(c), what, "the program's output"))
            only_spanprof_lines(p.stderr, c, (repr(c), what))


@case
def control_characters_in_cli_messages_are_quoted():
    f = os.path.join(TMP, "dg.out")
    for c in CONTROLS:
        for args in (["list", "-f", f"no{c}such"], ["show", "-f", f, f"1{c}2"], [f"li{c}st"],
                     ["pie", "-f", f, "--zoom", f"a{c}b", "1"]):
            p = sp(*args, check=False, timeout=HANG)
            assert p.returncode in (1, 2), (args, p.returncode)
            only_spanprof_lines(p.stderr, c, args)


@case
def output_errors_are_reported():
    f = os.path.join(TMP, "dg.out")
    with open("/dev/full", "w") as full:
        p = subprocess.run([SPANPROF, "list", "-f", f], stdout=full, capture_output=False, stderr=subprocess.PIPE, text=True)
    eq(p.returncode, 1)
    assert "write error" in p.stderr
    p = subprocess.run(f"{SPANPROF} show -f {f} 1 | head -1", shell=True, capture_output=True, text=True)
    eq(p.stderr, "", "a closed pipe is quiet")


def catches(pid, sig):
    """Has process `pid` installed a handler for `sig` (SigCgt in /proc)?"""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16) >> (sig - 1) & 1
    return False


def until(what, fn, limit=30.0):
    """Poll fn() until it returns something true; fail after `limit` s.
    Waiting for a state, never asserting on a duration."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@case
def live_control_of_a_running_program():
    out = os.path.join(TMP, "live.out")
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e.update({"SPANPROF_SIGNAL": "SIGUSR2", "SPANPROF_OUTPUT": out})
    prog = subprocess.Popen([DATAGRID, "1000000"], env=e, stdout=subprocess.DEVNULL)
    pid = str(prog.pid)
    try:
        until("the control handler", lambda: catches(prog.pid, signal.SIGUSR2))
        eq(sp("ctl", pid, "dump").stdout.strip(), out)
        eq(sp_json("list", "-f", out), [], "off until 'enable'")
        sp("ctl", pid, "enable")
        # -p: ask the program for a dump and read it, in one command.
        traces = until("traces after 'enable'", lambda: sp_json("list", "-p", pid))
        assert all(t["name"] == "navigate_cell" for t in traces)
        tree = sp_json("show", "-p", pid, "last")
        assert [c["name"] for c in tree["root"]["children"]][-1] == "oob_swap"
        sp("ctl", pid, "disable")
        disabled_at = time.time_ns()
        sp("ctl", pid, "clear")
        # Only the command in flight at 'disable' may still be stored.
        left = sp_json("list", "-p", pid)
        assert len(left) <= 1 and all(t["start_ns"] < disabled_at for t in left), left
    finally:
        prog.kill()
        prog.wait()
    p = sp("ctl", str(os.getpid()), "dump", check=False)
    eq(p.returncode, 1)
    assert "SPANPROF_SIGNAL" in p.stderr
    p = sp("list", "-p", str(os.getpid()), check=False)
    eq(p.returncode, 1)
    assert "SPANPROF_SIGNAL" in p.stderr
    eq(sp("list", "-p", "abc", check=False).returncode, 2)


def live_env(**kw):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e.update(kw)
    return e


def refused(pid, cmd="clear"):
    """`ctl PID cmd` sends nothing: exit 1 and one line saying why."""
    p = sp("ctl", str(pid), cmd, check=False)
    eq(p.returncode, 1, f"ctl {cmd} exit status ({p.stdout.strip()})")
    eq(p.stdout, "", "ctl printed")
    lines = p.stderr.splitlines()
    eq(len(lines), 1, f"ctl's message {lines}")
    assert "nothing sent" in lines[0], lines[0]
    return lines[0]


def alive_until_sigterm(prog):
    """prog was not killed by anything sent before: a SIGTERM sent now is
    what ends it (an earlier SIGUSR1/2 would be delivered first)."""
    assert prog.poll() is None, f"died: {prog.returncode}"
    prog.terminate()
    eq(prog.wait(), -signal.SIGTERM, "end of the process")


@case
def the_exit_dump_is_written_while_dump_requests_arrive():
    for i in range(3):
        out = os.path.join(TMP, f"ed{i}.out")
        # A host starved by the requests never gets to exit: the timeout.
        p = subprocess.run([CTL_PROG, "exitrace", "20000"], capture_output=True, text=True, timeout=100,
                           env=live_env(SPANPROF_OUTPUT=out, SPANPROF_ENABLED="1", SPANPROF_SIGNAL="SIGUSR2",
                                        SPANPROF_MAX_TRACES="20000"))
        eq(p.returncode, 0, "exit status")
        eq(p.stderr, "", "the program's stderr")
        traces = sp_json("list", "-f", out)
        eq(len(traces), 20000, "traces in the exit dump")
        eq({t["name"] for t in traces}, {"req"})
        eq(sorted(os.listdir(TMP)).count(f"ed{i}.out"), 1)
        assert not [f for f in os.listdir(TMP) if f.startswith(f"ed{i}.out.tmp")], os.listdir(TMP)


@case
def a_flood_of_dump_requests_does_not_starve_the_host():
    out = os.path.join(TMP, "flood.out")
    p = subprocess.run([CTL_PROG, "flood", "5000", "300"], capture_output=True, text=True, timeout=100,
                       env=live_env(SPANPROF_OUTPUT=out, SPANPROF_ENABLED="1", SPANPROF_SIGNAL="SIGUSR2",
                                    SPANPROF_MAX_TRACES="5000", SPANPROF_FLIGHT="0"))
    lines = p.stdout.splitlines()
    assert lines and lines[0].startswith("base "), (p.stdout, p.stderr)
    _, base, _, flood, *starved = lines[0].split()
    assert not starved, f"the host's thread did 4x its work's CPU and stopped: {lines[0]}"
    # CPU time of the host's own thread for the same work, alone and under
    # the flood: a dump made in its signal handler would be counted here.
    assert int(flood) <= 2 * int(base), lines[0]
    eq(lines[1:], ["dumped"], "a requested dump was written")
    eq(p.returncode, 0)
    traces = sp_json("list", "-f", out)
    eq(len(traces), 5000, "traces in a requested dump")
    eq({t["name"] for t in traces} - {"work"}, {"req"})


@case
def ctl_refuses_a_process_without_the_runtime():
    prog = subprocess.Popen(["sleep", "60"], env=live_env(SPANPROF_SIGNAL="SIGUSR1"))
    try:
        msg = refused(prog.pid, "clear")
        assert "spanprof" in msg and str(prog.pid) in msg, msg
        refused(prog.pid, "dump")
        eq(sp("list", "-p", str(prog.pid), check=False).returncode, 1, "list -p")
        alive_until_sigterm(prog)
    finally:
        prog.kill()
        prog.wait()


@case
def ctl_refuses_a_program_that_took_the_signal_itself():
    for how in ("sigaction", "signal"):
        out = os.path.join(TMP, f"own-{how}.out")
        # The signal path: no flight file (with one, a dump needs no signal).
        prog = subprocess.Popen([CTL_PROG, "own", how], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                env=live_env(SPANPROF_SIGNAL="SIGUSR2", SPANPROF_OUTPUT=out, SPANPROF_FLIGHT="0"))
        try:
            eq(prog.stdout.readline(), "ready\n", how)
            refused(prog.pid, "dump")
            refused(prog.pid, "disable")
            assert not os.path.exists(out), out
            # The host's handler is the one in place, and works.
            os.kill(prog.pid, signal.SIGUSR2)
            eq(prog.stdout.readline(), "handled\n", f"{how}: the host's handler")
            prog.stdin.close()
            eq(prog.wait(), 0, how)
        finally:
            prog.kill()
            prog.wait()


@case
def ctl_refuses_a_program_whose_runtime_is_not_started_yet():
    out = os.path.join(TMP, "late.out")
    prog = subprocess.Popen([CTL_LATE, LIB_A], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=live_env(SPANPROF_SIGNAL="SIGUSR2", SPANPROF_OUTPUT=out))
    try:
        eq(prog.stdout.readline(), "waiting\n")
        refused(prog.pid, "dump")
        assert not os.path.exists(out)
        prog.stdin.write("load\n")
        prog.stdin.flush()
        eq(prog.stdout.readline(), "loaded\n")
        # The runtime is there now: the same command is served.
        eq(sp("ctl", str(prog.pid), "dump").stdout.strip(), out)
        eq(sp_json("list", "-f", out), [], "nothing recorded")
        prog.stdin.close()
        eq(prog.wait(), 0)
    finally:
        prog.kill()
        prog.wait()


@case
def a_100us_timer_opens_spans_while_main_dumps_and_clears():
    base = os.path.join(TMP, "tick.out")
    run([CTL_PROG, "timer", base, "200"], env={"SPANPROF_ENABLED": "1"})
    ticks = 0
    for i in range(200):
        traces = sp_json("list", "-f", f"{base}.{i}")
        names = [t["name"] for t in traces]
        assert set(names) <= {"work", "tick"}, names
        ticks += names.count("tick")
        for t in traces:
            tree = sp_json("show", "-f", f"{base}.{i}", str(t["seq"]))
            assert tree["root"]["name"] == t["name"], tree
            assert all(n["name"] == "tick" for n in nodes(tree["root"]) if n is not tree["root"]), tree
    assert ticks > 0, "the timer's spans were recorded"


def export_json(f):
    return json.loads(sp("export", "-f", f, "--format", "json").stdout)


@case
def pie_slices_add_up_to_the_span():
    f = record(DATAGRID, "pie.out", {"SPANPROF_TRACE_CALLS": "navigate_cell"})
    for zoom in (None, "navigate_cell/navigate_cell/oob_swap/oob_swap/render_page"):
        args = ["pie", "-f", f, "3", "--min-pct", "0"] + (["--zoom", zoom] if zoom else [])
        pie = json.loads(sp(*args, "--json").stdout)
        eq(sum(x["ns"] for x in pie["slices"]), pie["total_ns"], "slices sum")
        eq(pie["total_ns"], pie["duration_ns"], "the zoomed span's duration")
        assert abs(sum(x["pct"] for x in pie["slices"]) - 100) < 1e-6
    merged = json.loads(sp("pie", "-f", f, "3", "--zoom", "navigate_cell/navigate_cell", "--json").stdout)
    eq(sum(x["ns"] for x in merged["slices"]), merged["duration_ns"], "merged slices sum")
    assert "other" in [x["name"] for x in merged["slices"]], merged
    svg = os.path.join(TMP, "pie.svg")
    sp("pie", "-f", f, "3", "--zoom", "navigate_cell/navigate_cell", "--svg", svg)
    import xml.etree.ElementTree as ET
    root = ET.parse(svg).getroot()
    eq(root.get("class"), "mf-profiler-pie")
    ns = "{http://www.w3.org/2000/svg}"
    shapes = root.findall(f".//{ns}g[@class='mf-profiler-slices']/{ns}g")
    eq(len(shapes), len(merged["slices"]), "one shape per slice")
    legend = "".join(root.find(f".//{ns}g[@class='mf-profiler-legend']").itertext())
    for x in merged["slices"]:
        assert x["name"] in legend, x["name"]
    text = sp("pie", "-f", f, "3", "--color", "never").stdout
    assert "navigate_cell" in text and "%" in text


@case
def chrome_export_has_one_event_per_node():
    f = os.path.join(TMP, "pie.out")
    model = export_json(f)
    want = sum(1 for t in model["traces"] for _ in nodes(t["root"]))
    ev = json.loads(sp("export", "-f", f, "--format", "chrome").stdout)["traceEvents"]
    xs = [e for e in ev if e["ph"] == "X"]
    eq(len(xs), want, "complete events")
    eq({e["tid"] for e in xs}, {t["thread"] for t in model["traces"]}, "tracks")
    assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in xs)
    out = os.path.join(TMP, "c.json")
    sp("export", "-f", f, "--format", "chrome", "-o", out, "2")
    eq(sum(1 for e in json.load(open(out))["traceEvents"] if e["ph"] == "X"),
       sum(1 for _ in nodes(model["traces"][1]["root"])), "one trace")
    assert_chrome_nests(xs, model)
    assert any(e.get("cat") == "cumulative" for e in xs), "cumulative nodes placed too"


def assert_chrome_nests(xs, model):
    """A viewer rebuilds each track's stacks from ts and dur alone, adding
    them in floating point: every event must lie inside its tree parent and
    clear of its siblings, so that the rebuilt parent is the tree's."""
    parent = []  # the tree parent of each event (events are in pre-order)
    def walk(n, up):
        me = len(parent)
        parent.append(up)
        for c in n.get("children", []):
            walk(c, me)
    for t in model["traces"]:
        walk(t["root"], None)
    eq(len(parent), len(xs), "events")
    for tid in {e["tid"] for e in xs}:
        order = sorted((i for i, e in enumerate(xs) if e["tid"] == tid),
                       key=lambda i: (xs[i]["ts"], -xs[i]["dur"], i))
        stack = []
        for i in order:
            start, end = xs[i]["ts"], xs[i]["ts"] + xs[i]["dur"]
            # An event that ended before this one starts is closed; one
            # that ends exactly here is closed too, unless this event lasts
            # 0 ns (then it may sit at its parent's very end).
            while stack and (stack[-1][0] < start or (stack[-1][0] == start and xs[i]["dur"] > 0)):
                stack.pop()
            if stack:
                assert end <= stack[-1][0], f"{xs[i]['name']} ends after {xs[stack[-1][1]]['name']}"
            rebuilt = stack[-1][1] if stack else None
            eq(rebuilt, parent[i], f"parent of event {i} ({xs[i]['name']})")
            stack.append((end, i))


@case
def overlapping_traces_of_one_thread_get_lanes():
    # Coroutines: six requests served three at a time on one thread, each
    # one tree (sp_context_save/restore) though their times interleave.
    f = record(COROUTINES, "co.out", {"SPANPROF_ENABLED": "1"})
    model = export_json(f)
    traces = model["traces"]
    eq(sorted(t["id"] for t in traces), [f"req-{i}" for i in range(1, 7)])
    eq(len({t["thread"] for t in traces}), 1, "one thread")
    for t in traces:
        eq([c["name"] for c in t["root"]["children"]], ["parse", "query", "render"])
        waits = t["root"]["children"][1]
        eq(waits["children"][0]["count"], waits["data"]["waits"], "db_wait iterations")
    ev = json.loads(sp("export", "-f", f, "--format", "chrome").stdout)["traceEvents"]
    xs = [e for e in ev if e["ph"] == "X"]
    roots = [e for e in xs if e["name"] == "request"]
    lanes = {e["tid"] for e in roots}
    assert len(lanes) >= 2, "overlapping requests need more than one track"
    names = {e["tid"]: e["args"]["name"] for e in ev if e["ph"] == "M"}
    eq(set(names), lanes, "every track named")
    assert all(names[l].startswith(f"thread {traces[0]['thread']}") for l in lanes)
    assert_chrome_nests(xs, model)


@case
def folded_weights_add_up_to_each_trace():
    f = os.path.join(TMP, "pie.out")
    model = export_json(f)
    for t in model["traces"]:
        lines = sp("export", "-f", f, "--format", "folded", str(t["seq"])).stdout.splitlines()
        total = sum(int(l.rsplit(" ", 1)[1]) for l in lines)
        # The exporter rounds half up; Python's round() would round
        # 3506.5 to 3506 (half to even), once in a thousand traces.
        eq(total, (t["duration_ns"] + 500) // 1000, f"trace {t['seq']}")
        assert all(l.rsplit(" ", 1)[0].split(";")[0] == "navigate_cell" for l in lines), lines[:3]


@case
def top_counts_every_span():
    f = os.path.join(TMP, "pie.out")
    model = export_json(f)
    want = sum(n["count"] if n["kind"] == "cumulative" else 1 for t in model["traces"] for n in nodes(t["root"]))
    rows = json.loads(sp("top", "-f", f, "--json").stdout)
    eq(sum(r["count"] for r in rows), want, "counts")
    byname = {r["name"]: r for r in rows}
    eq(byname["oob_swap"]["count"], 2 * len(model["traces"]), "oob_swap: the span and the function")
    for r in rows:
        assert r["p50_ns"] <= r["p95_ns"] <= r["p99_ns"] <= r["max_ns"], r
    fr = json.loads(sp("top", "-f", f, "--by", "function", "--json").stdout)
    assert any(r["function"].startswith("render_append  render.c:") for r in fr), fr[:3]


@case
def diff_of_a_trace_with_itself_shows_no_change():
    f = os.path.join(TMP, "pie.out")
    rows = json.loads(sp("diff", "-f", f, "2", "2", "--json").stdout)
    assert rows and all(r["change_ns"] == 0 for r in rows)
    eq(rows[0]["path"], "navigate_cell")
    g = os.path.join(TMP, "dg.out")
    rows = json.loads(sp("diff", f"{f}:1", f"{g}:1", "--json").stdout)
    after_only = [r for r in rows if r["before_ns"] is None]
    before_only = [r for r in rows if r["after_ns"] is None]
    assert before_only and not any(r["path"].startswith("navigate_cell/navigate_cell") for r in after_only)


@case
def a_trace_id_can_be_an_argument():
    # SPANPROF_TRACE=NAME@PARAM: session(path, first, n, sum) is called
    # twice, with first = 0 and 5; the plugin's requests are nested traces.
    out = os.path.join(TMP, "id.out")
    sp("run", "-o", out, "--trace", "session@first", "--", PLUGIN)
    traces = sp_json("list", "-f", out)
    eq([(t["name"], t["id"]) for t in traces], [("session", "0"), ("session", "5")])
    eq(sum("plugin_request" in c["name"] for c in sp_json("show", "-f", out, "1")["root"]["children"]), 5)
    p = sp("run", "-o", out, "--trace", "session@nope", "--", PLUGIN)
    assert "session has no parameter 'nope'; ids are call numbers" in p.stderr, p.stderr
    eq([t["id"] for t in sp_json("list", "-f", out)], ["1", "2"])
    p = sp("run", "-o", out, "--trace", "session@", "--", PLUGIN, check=False)
    assert "'session@' is not NAME@PARAM" in p.stderr, p.stderr


@case
def every_ended_trace_is_stored_or_counted():
    # Two threads hold the whole 16 MiB budget with traces they keep open
    # while a third ends 440 small ones (tests/hooks/budget_prog.c).
    prog = os.environ["SP_TEST_BUDGET_PROG"]
    f = os.path.join(TMP, "budget.out")
    p = run([prog], env={"SPANPROF_OUTPUT": f, "SPANPROF_ENABLED": "1", "SPANPROF_BUFFER_MB": "16"})
    ended = int(p.stdout.split()[1])
    eq(ended, 442, "the program's own count")
    out = sp_json("list", "-f", f, "--counts")
    c, traces = out["counts"], out["traces"]
    eq(c["stored"], len(traces), "stored")
    eq(c["committed"], c["stored"] + c["evicted"] + c["cleared"], "stored since start")
    eq(c["ended"], ended, "traces ended")
    eq(c["stored"] + c["evicted"] + c["cleared"] + c["dropped"], ended, "accounted for")
    big = [t for t in traces if t["name"] == "big"]
    assert c["dropped_spans"] >= sum(t["dropped_spans"] for t in big) > 0, "the big traces overflowed"
    eq(sorted(t["seq"] for t in traces), [t["seq"] for t in traces], "oldest first")
    eq(sp_json("list", "-f", f), traces, "--json alone is the array")
    text = sp("list", "-f", f).stdout.splitlines()
    eq(text[-1], f"{ended} traces ended: {c['stored']} stored, {c['evicted']} evicted, "
       f"{c['cleared']} cleared, {c['dropped']} dropped; {c['dropped_spans']} spans dropped", "footer")
    clean = os.path.join(TMP, "dg.out")  # nothing lost there: no footer
    assert "traces ended" not in sp("list", "-f", clean).stdout


@case
def run_sets_the_environment_and_passes_the_status():
    out = os.path.join(TMP, "run.out")
    p = sp("run", "-o", out, "--trace-calls", "navigate_cell", "--", DATAGRID, "3")
    assert "datagrid: 3 commands" in p.stdout
    eq(sum("navigate_cell  cmd-" in l for l in p.stdout.splitlines()), 3, "listed afterwards")
    t = sp_json("show", "-f", out, "1")
    assert t["root"]["children"][0].get("function") == "navigate_cell"
    p = sp("run", "-o", os.path.join(TMP, "none.out"), "--", "sh", "-c", "exit 3", check=False)
    eq(p.returncode, 3, "status passed through")
    assert "recorded nothing" in p.stderr
    p = sp("run", "--", "/nonexistent/prog", check=False)
    eq(p.returncode, 127)


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
