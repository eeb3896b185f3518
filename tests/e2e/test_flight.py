#!/usr/bin/env python3
"""The flight recorder end to end (TAP): the store is the SPANPROF_OUTPUT file,
so what a program committed survives however it ends.

usage: test_flight.py SPANPROF FLIGHT_PROG

flight_prog (tests/hooks/flight_prog.c) runs 4 threads that each print a
trace's id ("T<thread>-<n>") on stdout right after the trace has ended;
every id read from that pipe before the process died names a committed
trace, which must be in the file, intact: its tree is req > parse, handle >
db, and its data n is the id's number.
"""
import json
import os
import random
import re
import shutil
import signal
import struct
import time
import subprocess
import sys
import tempfile

SPANPROF, PROG = map(os.path.abspath, sys.argv[1:3])
TMP = tempfile.mkdtemp(prefix="sp-flight-")
results = []
HANG = 60  # generous: a hang fails instead of blocking the suite


def case(fn):
    results.append(fn)
    return fn


def env(**kw):
    """The environment of a run that records from its start: only such a
    program gets a flight file (see recording_off_at_start_...)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e["SPANPROF_ENABLED"] = "1"
    e.update(kw)
    return e


def sp(*args, check=True):
    p = subprocess.run([SPANPROF, *args], capture_output=True, text=True, timeout=HANG, cwd=TMP)
    if check and p.returncode != 0:
        raise AssertionError(f"spanprof {args} exited {p.returncode}: {p.stderr.strip()}")
    return p


def eq(a, b, what=""):
    if a != b:
        raise AssertionError(f"{what}: {a!r} != {b!r}")


def shape(n):
    return (n["name"], [shape(c) for c in n.get("children", [])])


ID = re.compile(r"T(\d+)-(\d+)$")


def check_committed(t, what):
    """A committed trace of flight_prog, whole."""
    m = ID.match(t["id"])
    assert m, (what, t["id"])
    eq(t.get("unfinished"), None, (what, t["id"]))
    eq(t["data"], {"n": int(m.group(2))}, (what, t["id"]))
    if "root" not in t:
        return  # listed only: its tree was decoded by list
    eq(shape(t["root"]), ("req", [("parse", []), ("handle", [("db", [])])]), (what, t["id"]))


def check_listed(t, what):
    """What list --json says of a committed trace of flight_prog."""
    m = ID.match(t["id"])
    assert m, (what, t["id"])
    eq(t.get("unfinished"), None, (what, t["id"]))
    eq(t["data"], {"n": int(m.group(2))}, (what, t["id"]))


def traces_of(path, trees=8):
    """Every trace of the file (list --json, which decodes each), with the
    whole tree (show --json) of the unfinished ones and of `trees` others
    picked at random."""
    listed = json.loads(sp("list", "-f", path, "--json").stdout)
    pick = {t["seq"] for t in random.sample(listed, min(trees, len(listed)))}
    out = []
    for t in listed:
        if t.get("unfinished") or t["seq"] in pick:
            full = json.loads(sp("show", "-f", path, str(t["seq"]), "--json").stdout)
            eq(full.get("unfinished"), t.get("unfinished"), "list and show agree")
            out.append(full)
        else:
            out.append(t)
    return out


def run_until(mode, path, lines, extra=None):
    """Start flight_prog MODE; read ids until `lines` were read (or it ended);
    returns (ids read, return code, stderr)."""
    p = subprocess.Popen([PROG, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env(**{"SPANPROF_OUTPUT": path, "SPANPROF_MAX_TRACES": "100000",
                                    "SPANPROF_BUFFER_MB": "16", **(extra or {})}))
    ids = []
    buf = b""
    while lines is None or len(ids) < lines:
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        *done, buf = buf.split(b"\n")
        ids += [d.decode() for d in done]
    if mode == "kill":
        p.send_signal(signal.SIGKILL)
    # what was printed before the death (the pipe keeps it)
    rest, err = p.communicate(timeout=HANG)
    ids += [d.decode() for d in (buf + rest).split(b"\n") if d]
    return ids, p.returncode, err.decode()


def check_after_death(path, ids, what):
    ts = traces_of(path)
    listed = sp("list", "-f", path).stdout
    assert "did not exit cleanly" in listed, (what, listed[-300:])
    committed = {t["id"]: t for t in ts if not t.get("unfinished")}
    unfinished = [t for t in ts if t.get("unfinished")]
    missing = [i for i in ids if i not in committed]
    assert not missing, (what, f"{len(missing)} printed ids not in the file, e.g. {missing[:5]}")
    for t in committed.values():
        check_committed(t, what)
    threads = [t["thread"] for t in unfinished]
    eq(len(threads), len(set(threads)), (what, "at most one unfinished trace per thread"))
    return unfinished


@case
def sigkill_at_random_moments_loses_no_committed_trace():
    rng = random.Random(10)
    for k in range(20):
        path = os.path.join(TMP, f"kill{k}.out")
        ids, rc, err = run_until("kill", path, rng.randint(1, 4000))
        eq(rc, -signal.SIGKILL, f"kill {k}: {err}")
        check_after_death(path, ids, f"kill {k}")
        os.unlink(path)


@case
def abort_segv_and__exit_leave_the_open_trace_unfinished():
    for mode in ("abort", "segv", "_exit"):
        path = os.path.join(TMP, f"{mode}.out")
        ids, rc, err = run_until(mode, path, None)
        eq(rc, {"abort": -signal.SIGABRT, "segv": -signal.SIGSEGV, "_exit": 0}[mode], (mode, err))
        eq(len([i for i in ids if i.endswith("-200")]), 4, mode)
        unfinished = check_after_death(path, ids, mode)
        dying = [t for t in unfinished if t["id"] == "open-end"]
        eq(len(dying), 1, (mode, [t["id"] for t in unfinished]))
        eq(shape(dying[0]["root"]), ("req", [("dying", [])]), mode)
        assert dying[0]["root"]["abandoned"], mode
        show = sp("show", "-f", path, str(dying[0]["seq"])).stdout
        assert "unfinished" in show.splitlines()[0], show


@case
def a_normal_exit_closes_the_file_and_it_is_read_whole():
    path = os.path.join(TMP, "exit.out")
    ids, rc, err = run_until("exit", path, None)
    eq((rc, err), (0, ""))
    ts = traces_of(path)
    assert "did not exit cleanly" not in sp("list", "-f", path).stdout
    # Every thread had committed T<k>-0 .. T<k>-200 before exit() began;
    # what the others commit while the process exits is not stored (the
    # file is closed), as it was not in a dump written at exit.
    stored = {t["id"] for t in ts}
    before = {f"T{k}-{n}" for k in range(4) for n in range(201)}
    eq(sorted(before - stored)[:5], [], "committed before the exit")
    eq(sorted(stored - set(ids) - {"open-end"})[:5], [], "only what was committed")
    for t in ts:
        if t["id"] != "open-end":
            check_committed(t, "exit")
    eq([t.get("unfinished") for t in ts if t["id"] == "open-end"], [None], "closed at exit, not unfinished")


@case
def live_reading_while_8_threads_commit_is_consistent():
    path = os.path.join(TMP, "live.out")
    p = subprocess.Popen([PROG, "kill", "8"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env(SPANPROF_OUTPUT=path, SPANPROF_MAX_TRACES="300", SPANPROF_BUFFER_MB="2"))
    try:
        os.read(p.stdout.fileno(), 1)  # it has committed a trace
        drain = subprocess.Popen(["cat"], stdin=p.stdout, stdout=subprocess.DEVNULL)
        seen = 0
        for r in range(100):
            ts = json.loads(sp("list", "-p", str(p.pid), "--json").stdout)
            assert ts, f"run {r}: no traces"
            eq([t["seq"] for t in ts], sorted({t["seq"] for t in ts}), f"run {r}: one each, in order")
            for t in ts:
                check_committed(t, f"run {r}")
            seen += len(ts)
            if r % 10 == 0:  # whole trees too
                t = ts[len(ts) // 2]
                show = sp("show", "-p", str(p.pid), str(t["seq"]), "--json", check=False)
                if show.returncode == 0:
                    check_committed(json.loads(show.stdout), f"show, run {r}")
                else:  # evicted between the two reads: said so in one line
                    eq(len(show.stderr.splitlines()), 1, show.stderr)
        assert p.poll() is None, "the program still runs"
    finally:
        p.kill()
        p.wait()
        drain.wait()


@case
def a_full_filesystem_falls_back_to_memory_with_one_line():
    mnt = os.path.join(TMP, "small")
    os.mkdir(mnt)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt], capture_output=True, text=True)
    if m.returncode != 0:
        print(f"# SKIP cannot mount a small tmpfs: {m.stderr.strip()}")
        return
    try:
        path = os.path.join(mnt, "full.out")
        ids, rc, err = run_until("exit", path, None, {"SPANPROF_MAX_TRACES": "50"})
        eq(rc, 0, err)
        lines = err.splitlines()
        eq(len(lines), 1, err)
        assert lines[0].startswith("spanprof: cannot reserve") and "No space" in lines[0], lines[0]
        ts = traces_of(path)  # the dump written at exit, as before
        eq(len(ts), 50)
        for t in ts:
            if t["id"] != "open-end":
                check_committed(t, "full")
    finally:
        subprocess.run(["umount", mnt])


@case
def a_symlink_at_the_output_path_is_neither_followed_nor_replaced():
    target = os.path.join(TMP, "precious")
    open(target, "w").write("precious")
    path = os.path.join(TMP, "planted.out")
    os.symlink(target, path)
    ids, rc, err = run_until("exit", path, None)
    eq(rc, 0, err)
    lines = err.splitlines()
    eq(len(lines), 1, err)
    assert "symbolic link" in lines[0] and lines[0].startswith("spanprof: "), lines[0]
    assert os.path.islink(path)
    eq(open(target).read(), "precious")


@case
def a_fork_child_has_its_own_file_and_exec_keeps_nothing():
    path = os.path.join(TMP, "fork.out")
    p = subprocess.run([PROG, "fork"], capture_output=True, text=True, env=env(SPANPROF_OUTPUT=path), timeout=HANG)
    # LeakSanitizer's note on the parent's threads in a fork child is not ours
    noise = re.compile(r"^==\d+==Running thread \d+ was not suspended")
    eq((p.returncode, [l for l in p.stderr.splitlines() if not noise.match(l)]), (0, []))
    child = int(p.stdout)
    eq([t["name"] for t in json.loads(sp("list", "-f", path, "--json").stdout)], ["parent"])
    eq([t["name"] for t in json.loads(sp("list", "-f", f"{path}.{child}", "--json").stdout)], ["child"])
    path = os.path.join(TMP, "exec.out")
    p = subprocess.run([PROG, "exec"], capture_output=True, text=True, env=env(SPANPROF_OUTPUT=path), timeout=HANG)
    eq(p.returncode, 0, p.stderr)
    assert "exec.out" not in p.stdout, p.stdout
    # the exec'd image ran (its maps and fds were listed) and the trace
    # recorded before it is in the file, which stays as the process left it
    assert "/bin/" in p.stdout or "/usr/" in p.stdout, p.stdout
    eq([t["name"] for t in json.loads(sp("list", "-f", path, "--json").stdout)], ["before-exec"])


def header(path):
    """(traces committed, commands acknowledged) from a flight file's header
    (docs/FORMAT.md: offsets 160 and 384)."""
    with open(path, "rb") as f:
        b = f.read(400)
    return struct.unpack_from("<Q", b, 160)[0], struct.unpack_from("<Q", b, 384)[0]


def wait_for(cond, what):
    deadline = time.monotonic() + HANG
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@case
def two_hundred_commands_through_the_file_all_take_effect_in_order():
    path = os.path.join(TMP, "ctl.out")
    p = subprocess.Popen([PROG, "kill", "1"], stdout=subprocess.PIPE, env=env(SPANPROF_OUTPUT=path))
    drain = None
    try:
        os.read(p.stdout.fileno(), 1)  # it records
        drain = subprocess.Popen(["cat"], stdin=p.stdout, stdout=subprocess.DEVNULL)
        rng = random.Random(200)
        enabled, at_disable = True, None
        for i in range(200):
            cmd = rng.choice(["enable", "disable", "clear"])
            if i % 10 == 5:  # sent while the program is stopped: queued, taken when it resumes
                os.kill(p.pid, signal.SIGSTOP)
                c = subprocess.Popen([SPANPROF, "ctl", str(p.pid), cmd], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
                os.kill(p.pid, signal.SIGCONT)
                out, err = c.communicate(timeout=HANG)
                eq(c.returncode, 0, (i, cmd, err))
            else:
                sp("ctl", str(p.pid), cmd)
            committed, done = header(path)
            eq(done, i + 1, f"command {i + 1} ({cmd}) acknowledged, in order")
            if cmd == "enable" and not enabled:
                wait_for(lambda: header(path)[0] > committed, f"traces after enable {i + 1}")
            if cmd == "disable" and enabled:
                at_disable = committed
            enabled = cmd == "enable" or (enabled and cmd != "disable")
            if not enabled:
                # at most the one trace open at the disable ends after it
                assert header(path)[0] <= at_disable + 1, (i, cmd, header(path), at_disable)
            if cmd == "clear" and not enabled:
                ts = json.loads(sp("list", "-p", str(p.pid), "--json").stdout)
                assert len(ts) <= 1, (i, [t["id"] for t in ts])
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()
        if drain:
            drain.wait()


@case
def a_server_killed_mid_command_shows_its_commands_and_the_one_in_flight():
    path = os.path.join(TMP, "server.out")
    p = subprocess.Popen([PROG, "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=env(SPANPROF_OUTPUT=path))
    try:
        for k in range(5):
            p.stdin.write(f"get key{k}\n")
            p.stdin.flush()
            eq(p.stdout.readline(), f"ok get key{k}\n")
        p.stdin.write("wait for-ever\n")
        p.stdin.flush()
        # In flight: its id is in the thread's record in the file, and the
        # process sleeps (the only sleep after that is the read inside
        # "execute").
        def in_flight():
            with open(f"/proc/{p.pid}/stat") as st:
                state = st.read().rsplit(")", 1)[1].split()[0]
            return state == "S" and b"wait for-ever" in open(path, "rb").read(1 << 20)
        wait_for(in_flight, "the command in flight")
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    finally:
        p.kill()
        p.wait()
    listed = sp("list", "-f", path).stdout
    assert "did not exit cleanly" in listed, listed
    ts = json.loads(sp("list", "-f", path, "--json").stdout)
    eq([(t["id"], t.get("unfinished")) for t in ts], [(f"get key{k}", None) for k in range(5)] +
       [("wait for-ever", True)])
    for t in ts[:5]:
        eq(shape(json.loads(sp("show", "-f", path, str(t["seq"]), "--json").stdout)["root"]),
           ("command", [("parse", []), ("execute", [("lookup", [])])]))
    last = json.loads(sp("show", "-f", path, str(ts[5]["seq"]), "--json").stdout)
    eq(last.get("unfinished"), True)
    eq(shape(last["root"]), ("command", [("parse", []), ("execute", [("lookup", [])])]))
    assert last["root"]["abandoned"] and last["root"]["children"][1]["abandoned"]
    assert not last["root"]["children"][0].get("abandoned"), "parse had ended"
    show = sp("show", "-f", path, str(ts[5]["seq"])).stdout
    assert "wait for-ever" in show and "unfinished" in show.splitlines()[0], show


@case
def a_scribbled_or_truncated_flight_file_never_crashes_the_reader():
    # An unclean file (no checksum: every field is read) with committed and
    # unfinished traces, then bytes flipped where the reader looks.
    path = os.path.join(TMP, "scribble.out")
    ids, rc, err = run_until("abort", path, None, {"SPANPROF_MAX_TRACES": "64", "SPANPROF_BUFFER_MB": "1"})
    eq(rc, -signal.SIGABRT, err)
    good = open(path, "rb").read()
    hdr = struct.unpack_from("<QQQQ", good, 64)  # data off, size, ring off, capacity..
    data_off = hdr[0]
    rng = random.Random(11)
    bad = os.path.join(TMP, "bad.out")
    for k in range(150):
        b = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            at = rng.choice([rng.randrange(0, 1024), rng.randrange(8192, 8192 + 4096),
                             rng.randrange(0, data_off), rng.randrange(data_off, data_off + 65536)])
            b[at] = rng.randrange(256)
        if k % 10 == 0:
            b = b[:rng.randrange(len(b))]
        open(bad, "wb").write(b)
        for cmd in (["list", "--json"], ["show", "last", "--json"]):
            p = subprocess.run([SPANPROF, *cmd, "-f", bad], capture_output=True, timeout=HANG)
            assert p.returncode in (0, 1), (k, cmd, p.returncode, p.stderr[-300:])
            if p.returncode == 1:
                lines = p.stderr.decode().splitlines()
                assert lines and all(l.startswith("spanprof: ") for l in lines), (k, cmd, p.stderr[-300:])
            else:
                json.loads(p.stdout)


def threads_named(pid):
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except FileNotFoundError:
            pass  # a thread that just ended
    return names


@case
def recording_off_at_start_makes_no_file_and_no_thread_then_dumps_at_exit():
    """A program merely linked with spanprof (nothing set, or only
    SPANPROF_SIGNAL) must not see a file appear in its directory nor an
    extra thread; switched on later (flight_prog server calls
    sp_set_enabled), it records in memory and writes a dump at exit."""
    for extra in ({}, {"SPANPROF_SIGNAL": "SIGUSR2"}):
        cwd = tempfile.mkdtemp(dir=TMP)
        e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
        e.update(extra)
        p = subprocess.Popen([PROG, "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=e, cwd=cwd)
        try:
            for k in range(3):
                p.stdin.write(f"get key{k}\n")
                p.stdin.flush()
                eq(p.stdout.readline(), f"ok get key{k}\n", extra)
            # It has recorded 3 traces: still no file, and no control thread
            # reading one.
            eq(os.listdir(cwd), [], (extra, "files while running"))
            names = threads_named(p.pid)
            assert "spanprof-fl" not in names, (extra, names)
            eq("spanprof-ctl" in names, bool(extra), (extra, names))
            p.stdin.close()
            eq(p.wait(timeout=HANG), 0, extra)
        finally:
            p.kill()
            p.wait()
        eq(os.listdir(cwd), ["spanprof.out"], (extra, "files after exit"))
        out = os.path.join(cwd, "spanprof.out")
        with open(out, "rb") as f:
            eq(struct.unpack("<I", f.read(12)[8:12])[0], 1, (extra, "a dump, format 1"))
        ts = json.loads(sp("list", "-f", out, "--json").stdout)
        eq([t["id"] for t in ts], [f"get key{k}" for k in range(3)], extra)


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
    sys.stdout.flush()
shutil.rmtree(TMP, ignore_errors=True)
sys.exit(1 if failed else 0)
