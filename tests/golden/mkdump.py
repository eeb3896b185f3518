#!/usr/bin/env python3
"""Write tests/golden/golden.out: a small dump (docs/FORMAT.md, version 1)
whose every byte is fixed, for the golden-text tests (tests/golden/run.sh).

The dump is written directly from the format's description rather than
recorded by the runtime, so that nothing in it depends on the machine or on
the moment: ticks are nanoseconds (1 tick per ns, reference tick 0), the
wall clock at the reference tick is 2026-01-01 00:00:00 UTC, the pid,
thread ids and program path are constants. Functions are named by the
SITES section: the one module's path is relative ("golden_app"), which the
symbolizer never opens, so the names recorded here are the names shown.

The output is checked in; run this only to change what the dump holds:
    python3 tests/golden/mkdump.py tests/golden/golden.out
then regenerate the expected texts (tests/golden/run.sh --update) and read
the difference in review.
"""
import struct
import sys

MS = 1_000_000  # ticks (= ns) per ms
US = 1_000

SPAN, CUMUL, DATA = 1, 2, 3
T_I64, T_U64, T_F64, T_STR, T_BOOL = 1, 2, 3, 4, 5
FUNC, PROBE, NAME = 1, 2, 3


def pad8(b):
    return b + b"\0" * (-len(b) % 8)


def s(text):
    b = text.encode()
    return struct.pack("<H", len(b)) + b


# Sites, numbered from 1: (kind, name, module/line, offset, size, func, file)
SITES = [
    (FUNC, "handle_request", 0, 0x1100, 0x80, "", ""),   # 1
    (FUNC, "parse_header", 0, 0x1200, 0x40, "", ""),     # 2
    (PROBE, "db_query", 42, 0, 0, "handle_request", "app.c"),  # 3
    (FUNC, "render_row", 0, 0x1300, 0x60, "", ""),       # 4
    (FUNC, "checksum", 0, 0x1400, 0x20, "", ""),         # 5
    (NAME, "batch_job", 0, 0, 0, "", ""),                # 6
    (FUNC, "load_batch", 0, 0x1500, 0x90, "", ""),       # 7
    (FUNC, "write_report", 0, 0x1600, 0x70, "", ""),     # 8
]
BIAS = 0x400000


class Stream:
    """A trace's record stream: spans and cumulative records numbered in
    order, data entries attached to a span or to the trace."""

    def __init__(self):
        self.b = b""
        self.n = 0
        self.spans = 0
        self.iters = 0

    def span(self, site, parent, t0, t1, abandoned=False):
        head = (SPAN << 30) | (1 << 29 if abandoned else 0) | site
        self.b += struct.pack("<IIQQ", head, 0xFFFFFFFF if parent is None else parent, t0, t1)
        self.n += 1
        self.spans += 1
        return self.n - 1

    def cumul(self, site, parent, count, total, lo, hi):
        self.b += struct.pack("<IIQQQQ4I", (CUMUL << 30) | site, parent, count, total, lo, hi, 0, 0, 0, 0)
        self.n += 1
        self.spans += 1
        self.iters += count
        return self.n - 1

    def data(self, owner, key, vtype, value, trace_level=False):
        k = key.encode()
        sv = value.encode() if vtype == T_STR else b""
        if vtype == T_STR:
            v = 0
        elif vtype == T_F64:
            v = struct.unpack("<Q", struct.pack("<d", value))[0]
        else:
            v = value & 0xFFFFFFFFFFFFFFFF
        head = (DATA << 30) | (1 << 28 if trace_level else 0) | (vtype << 24) | (len(k) << 16) | len(sv)
        self.b += pad8(struct.pack("<IIQ", head, owner if not trace_level else 0, v) + k + sv)


def request(base, parse, query, rows, sums):
    """One handle_request trace starting at base; times in ticks."""
    st = Stream()
    root = st.span(1, None, base, base + 12 * MS)
    st.data(0, "user", T_I64, 7, trace_level=True)
    st.data(0, "path", T_STR, "/orders/42", trace_level=True)
    st.span(2, root, base + 100 * US, base + 100 * US + parse)
    q = st.span(3, root, base + 2 * MS, base + 2 * MS + query)
    st.data(q, "sql", T_STR, "SELECT * FROM orders")
    st.data(q, "rows", T_U64, len(rows))
    st.data(q, "cached", T_BOOL, 0)
    t = base + 2 * MS + query + 50 * US
    for d in rows:
        r = st.span(4, root, t, t + d)
        st.data(r, "ratio", T_F64, d / MS)
        t += d + 10 * US
    st.cumul(5, root, sums[0], sums[1], sums[2], sums[3])
    return st


def batch(base):
    st = Stream()
    root = st.span(6, None, base, base + 40 * MS)
    load = st.span(7, root, base + 1 * MS, base + 16 * MS)
    st.cumul(5, load, 250, 3 * MS, 10 * US, 30 * US)
    st.span(8, root, base + 17 * MS, base + 40 * MS, abandoned=True)
    return st


def main(path):
    traces = [
        # seq, tid, start, stream, flags
        (1, 101, 1 * MS, request(1 * MS, 1500 * US, 7 * MS, [400 * US, 650 * US, 300 * US], (1000, 500 * US, 400, 2 * US)), 0),
        (2, 102, 20 * MS, request(20 * MS, 900 * US, 8200 * US, [410 * US, 700 * US], (800, 420 * US, 380, 1800)), 0),
        (3, 101, 50 * MS, batch(50 * MS), 1),
    ]

    sections = []

    spans = sum(t[3].spans for t in traces)
    iters = sum(t[3].iters for t in traces)
    info = struct.pack("<QdQQQddQQQQQIIII",
                       4242,           # pid
                       1.0,            # ticks per ns
                       0,              # reference tick
                       1767225600 * 10**9,  # 2026-01-01 00:00:00 UTC
                       5 * 10**9,      # CLOCK_MONOTONIC at the reference tick
                       25.0,           # overhead per span, ns
                       spans * 25.0 / 1e6,  # total overhead, ms
                       spans, iters,
                       3,              # traces stored since start
                       0, 0,           # evicted, spans dropped
                       1000, 64,       # max traces, budget MiB
                       3, 0)           # clock source: clock_gettime
    info += s("/opt/golden/app") + s("/opt/golden/app --serve --port 8080")
    info = pad8(info) + struct.pack("<QQ", 0, 0)
    sections.append((1, info))

    build_id = bytes(range(0x10, 0x24))
    mods = struct.pack("<II", 1, 0)
    mods += pad8(struct.pack("<QQQIB3x", BIAS, BIAS, BIAS + 0x10000, 1, len(build_id)) + build_id)
    mods += pad8(s("golden_app"))
    sections.append((2, mods))

    sites = struct.pack("<II", len(SITES), 0)
    for kind, name, mod_line, off, size, func, file in SITES:
        addr = BIAS + off if kind == FUNC else 0
        sites += pad8(struct.pack("<B3xIQQII", kind, mod_line, off, addr, size, 0)
                      + s(name) + s(func) + s(file))
    sections.append((3, sites))

    for seq, tid, start, st, flags in traces:
        root_t1 = struct.unpack_from("<Q", st.b, 16)[0]
        body = struct.pack("<QQQQQQII", seq, tid, start, root_t1, 0, st.iters, st.n, flags)
        body = pad8(body + s("0af7651916cd43dd8448eb211c80319%x" % seq))
        body += struct.pack("<Q", len(st.b)) + st.b
        sections.append((4, body))

    payload = b""
    for kind, p in sections:
        assert len(p) % 8 == 0
        payload += struct.pack("<IIQ", kind, 0, len(p)) + p
    size = 64 + len(payload)
    header = b"SPANPROF" + struct.pack("<IIIIQIIQQQ", 1, 1, 64, 0x01020304, size, len(sections), 1, 4242, 0, 0)
    data = bytearray(header + payload)
    h = 0xCBF29CE484222325
    for i, byte in enumerate(data):
        if 48 <= i < 56:
            continue
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    struct.pack_into("<Q", data, 48, h)
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "golden.out")
