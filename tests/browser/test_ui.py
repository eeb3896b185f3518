#!/usr/bin/env python3
"""test_ui.py - `spanprof ui` and `spanprof report` in a real browser.

usage: test_ui.py SPANPROF DATAGRID THREADS SHOTS_DIR
Prints TAP. The HTTP checks (token, methods, malformed requests) need only
the server; the page checks drive Debian's headless Chromium with Selenium
(chromium, chromium-driver, python3-selenium) and are reported SKIP where
those are missing, never passed. Every wait is for a state of the page
(WebDriverWait on an element or a value), never for a time. Screenshots
of each state, in light and dark, go to SHOTS_DIR for review.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

try:
    import selenium  # noqa: F401
except ImportError:
    # python3-selenium is Debian's: run with Debian's python3 if the one
    # on PATH (a pyenv, a venv) lacks it.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])

SPANPROF, DATAGRID, THREADS = map(os.path.abspath, sys.argv[1:4])
SHOTS = os.path.abspath(sys.argv[4])
os.makedirs(SHOTS, exist_ok=True)
TMP = tempfile.mkdtemp(prefix="sp-ui-")
TIMEOUT = 60  # seconds to wait for a state; a loaded machine is slow, not wrong


def clean_env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPANPROF_")}
    e.update(extra)
    return e


def sp(*args):
    p = subprocess.run([SPANPROF, *args], env=clean_env(), capture_output=True, text=True)
    assert p.returncode == 0, f"spanprof {args}: {p.returncode} {p.stderr}"
    return p.stdout


def sp_json(*args):
    return json.loads(sp(*args, "--json"))


def eq(a, b, what=""):
    assert a == b, f"{what}: {a!r} != {b!r}"


def until(what, fn, limit=TIMEOUT):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    """spanprof ui ARGS: its URL from its first line of output."""

    def __init__(self, *args):
        self.p = subprocess.Popen([SPANPROF, "ui", *args], env=clean_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().strip()
        if not line and self.p.wait() == 1:
            err = self.p.stderr.read()
            if "ui is unavailable" in err:  # built without libmicrohttpd
                raise Skip(err.strip())
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{32})", line)
        assert m, f"ui printed {line!r} ({self.p.stderr.read() if self.p.poll() is not None else ''})"
        self.url, self.port, self.token = line, int(m.group(1)), m.group(2)

    def request(self, method, path, token=True, body=None, headers=None):
        if token:
            path += ("&" if "?" in path else "?") + "token=" + self.token
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def raw(self, data):
        """Send bytes as they are; the status of the answer (0: none)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        try:
            s.sendall(data)
            head = s.recv(64)
        except OSError:
            head = b""
        s.close()
        m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        return int(m.group(1)) if m else 0

    def stop(self):
        """Ctrl-C: a clean exit, status 0."""
        self.p.send_signal(signal.SIGINT)
        rc = self.p.wait(timeout=TIMEOUT)
        self.p.stdout.close()
        self.p.stderr.close()
        eq(rc, 0, "ui's exit status after SIGINT")


# ---- the browser ----
driver = None
why_no_browser = None


def browser():
    global driver, why_no_browser
    if driver or why_no_browser:
        return driver
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        why_no_browser = "python3-selenium is not installed"
        return None
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    drv = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not chrome or not drv:
        why_no_browser = "chromium and chromium-driver are not installed"
        return None
    o = webdriver.ChromeOptions()
    o.binary_location = chrome
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1500,950", f"--user-data-dir={TMP}/chrome", "--no-first-run"):
        o.add_argument(a)
    driver = webdriver.Chrome(service=Service(drv), options=o)
    driver.set_page_load_timeout(TIMEOUT)
    return driver


class Skip(Exception):
    pass


def need_browser():
    d = browser()
    if not d:
        raise Skip(why_no_browser)
    return d


def wait(d, what, fn):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(d, TIMEOUT, poll_frequency=0.05).until(lambda _: fn(), message=f"waiting for {what}")


def css(d, sel):
    from selenium.webdriver.common.by import By
    return d.find_elements(By.CSS_SELECTOR, sel)


def js(d, code, *args):
    return d.execute_script(code, *args)


def scheme(d, dark):
    d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                      {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})


def shot(d, name):
    """The state in light and in dark."""
    for dark in (False, True):
        scheme(d, dark)
        d.save_screenshot(os.path.join(SHOTS, f"{name}-{'dark' if dark else 'light'}.png"))
    scheme(d, False)


def rows(d):
    return js(d, "return [...document.querySelectorAll('#rows tr')].map(r => r.dataset.key)")


def tree_names(d):
    return js(d, "return [...document.querySelectorAll('.mf-profiler-tree .mf-profiler-node')]"
                 ".map(r => [r.dataset.path, r.dataset.name])")


def refreshes(d):
    return int(js(d, "return document.body.dataset.refreshes || 0"))


def click_row(d, key):
    css(d, f'#rows tr[data-key="{key}"]')[0].click()


def open_trace(d, key, root_name):
    click_row(d, key)
    wait(d, f"the tree of {key}", lambda: (tree_names(d) or [[None, None]])[0] == ["0", root_name] and
         css(d, ".mf-profiler-detail h2")[0].text.endswith("#" + key.split(":")[1]))


def check_list_and_tree(d, dump, what):
    """The page shows dump's traces, one row each, and a row's tree."""
    traces = sp_json("list", "-f", dump)
    wait(d, "the rows", lambda: len(rows(d)) == len(traces))
    eq(rows(d), [f"0:{t['seq']}" for t in traces], f"{what}: one row per trace, in order")
    names = js(d, "return [...document.querySelectorAll('#rows tr')].map(r => r.children[1].textContent)")
    eq(names, [t["name"] for t in traces], f"{what}: names")
    pick = traces[len(traces) // 2]
    tree = sp_json("show", "-f", dump, str(pick["seq"]))
    open_trace(d, f"0:{pick['seq']}", tree["root"]["name"])
    top = [n for p, n in tree_names(d) if p.count("/") == 1]
    eq(top, [c["name"] for c in tree["root"]["children"]], f"{what}: the root's children")
    return traces, pick, tree


# ---- cases ----
cases = []


def case(fn):
    cases.append(fn)
    return fn


def record_dump():
    path = os.path.join(TMP, "dg.out")
    if not os.path.exists(path):
        subprocess.run([DATAGRID], env=clean_env(SPANPROF_ENABLED="1", SPANPROF_OUTPUT=path), check=True,
                       stdout=subprocess.DEVNULL)
    return path


@case
def http_token_methods_and_malformed_requests():
    s = Server("-f", record_dump())
    try:
        eq(s.request("GET", "/", token=False)[0], 403, "the page without the token")
        eq(s.request("GET", "/api/traces", token=False)[0], 403, "the API without the token")
        eq(s.request("GET", "/api/traces?token=" + "0" * 32, token=False)[0], 403, "a wrong token")
        eq(s.request("POST", "/api/ctl?cmd=clear", token=False)[0], 403, "control without the token")
        st, body = s.request("GET", "/")
        eq(st, 200, "the page")
        assert b"mf-profiler-list" in body, "the page is the embedded one"
        st, body = s.request("GET", "/api/traces")
        eq(st, 200, "GET /api/traces")
        eq(len(json.loads(body)["traces"]), 24, "traces")
        st, body = s.request("GET", "/api/trace?key=0:3")
        eq((st, json.loads(body)["seq"]), (200, 3), "one trace")
        eq(s.request("GET", "/api/trace?key=0:999")[0], 404, "no such trace")
        eq(s.request("GET", "/api/trace?key=..%2F..%2Fetc")[0], 400, "a malformed key")
        eq(s.request("GET", "/../../etc/passwd")[0], 404, "no path reaches the file system")
        eq(s.request("POST", "/api/traces")[0], 405, "reads are GET")
        eq(s.request("GET", "/api/ctl?cmd=clear")[0], 405, "control is POST")
        eq(s.request("POST", "/api/ctl?cmd=clear")[0], 409, "control without -p")
        eq(s.request("DELETE", "/")[0], 405, "other methods")
        # malformed and oversized: 4xx, and the server goes on
        tok = s.token.encode()
        eq(s.raw(b"GET /?token=" + tok + b" HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"), 400, "a bad header")
        eq(s.raw(b"GET /?token=" + tok + b" HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n"), 400,
           "a bad Content-Length")
        eq(s.raw(b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414, "a URL too long")
        eq(s.raw(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 200000 + b"\r\n\r\n"), 431, "headers too large")
        eq(s.raw(b"POST /api/ctl?cmd=enable&token=" + tok + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                 + b"z" * 65536), 413, "a body too large")
        s.raw(b"\x00\xff GARBAGE\r\n\r\n")
        eq(s.request("GET", "/api/traces")[0], 200, "still serving after all that")
    finally:
        s.stop()


@case
def ui_on_a_dump_list_tree_zoom_pie():
    d = need_browser()
    dump = record_dump()
    s = Server("-f", dump)
    try:
        d.get(s.url)
        traces, pick, tree = check_list_and_tree(d, dump, "ui -f")
        shot(d, "1-list-detail")
        # sorting by total ms: longest first, then back
        css(d, 'th[data-col="duration_ns"]')[0].click()
        by_dur = sorted(traces, key=lambda t: (-t["duration_ns"], t["seq"]))
        wait(d, "sorted by total", lambda: rows(d) == [f"0:{t['seq']}" for t in by_dur])
        # the filter: minimum ms
        cut = by_dur[4]["duration_ns"]
        js(d, "const e = document.getElementById('fmin'); e.value = arguments[0]; e.dispatchEvent(new Event('input'))",
           str(cut / 1e6))
        wait(d, "filtered by min ms", lambda: len(rows(d)) == sum(t["duration_ns"] >= cut for t in traces))
        js(d, "const e = document.getElementById('fmin'); e.value = ''; e.dispatchEvent(new Event('input'))")
        # zoom: click a span, the breadcrumb shows the path
        child = max(tree["root"]["children"], key=lambda c: c["duration_ns"])
        idx = tree["root"]["children"].index(child)
        # collapse and expand: the span's children go and come back
        under = lambda: [p for p, _ in tree_names(d) if p.startswith(f"0/{idx}/") and p.count("/") == 2]  # noqa: E731
        eq(len(under()), len(child["children"]), "the span's children, expanded")
        css(d, f'.mf-profiler-node[data-path="0/{idx}"] .toggle')[0].click()
        wait(d, "collapsed", lambda: under() == [])
        css(d, f'.mf-profiler-node[data-path="0/{idx}"] .toggle')[0].click()
        wait(d, "expanded again", lambda: len(under()) == len(child["children"]))
        hot = js(d, "return [...document.querySelectorAll('.mf-profiler-node.hot')].map(r => r.dataset.path)")
        eq(hot[:2], ["0", f"0/{idx}"], "the hottest path goes through the largest child")
        css(d, f'.mf-profiler-node[data-path="0/{idx}"] .mf-profiler-name')[0].click()
        crumbs = lambda: [a.text for a in css(d, ".mf-profiler-breadcrumb a")]  # noqa: E731
        wait(d, "the breadcrumb", lambda: crumbs() == [tree["root"]["name"], child["name"]])
        eq(tree_names(d)[0], [f"0/{idx}", child["name"]], "the zoomed span is the tree's root")
        shot(d, "2-zoomed")
        # pie mode: the slices add up to the zoomed span
        css(d, 'button[data-mode="pie"]')[0].click()
        wait(d, "the pie", lambda: css(d, ".mf-profiler-pie .mf-profiler-slice"))
        sl = js(d, "return [...document.querySelectorAll('.mf-profiler-slice')].map(s => [s.dataset.name, +s.dataset.ns])")
        eq(sum(ns for _, ns in sl), child["duration_ns"], "the slices add up to the zoomed span")
        names = {c["name"] for c in child["children"]} | {"(self)", "other"}
        assert all(n in names for n, _ in sl), sl
        # the colors of `pie --svg` for the same span
        svg = os.path.join(TMP, "pie.svg")
        sp("pie", "-f", dump, str(pick["seq"]), "--zoom", f"{tree['root']['name']}/{child['name']}", "--svg", svg)
        svg_text = open(svg).read()
        page_colors = js(d, "return Object.fromEntries([...document.querySelectorAll('.mf-profiler-slice')]"
                            ".map(s => [s.dataset.name, s.getAttribute('fill')]))")
        for name, color in page_colors.items():
            assert re.search(re.escape(color) + r'"[^>]*>(?:(?!</g>).)*?' + re.escape(name), svg_text, re.S) or \
                color in svg_text, f"{name}: {color} not in pie --svg"
        # hover shows ms and %
        from selenium.webdriver.common.action_chains import ActionChains
        ActionChains(d).move_to_element(css(d, ".mf-profiler-slice")[0]).perform()
        wait(d, "the tooltip", lambda: re.search(r" ms \(\d+\.\d%\)$", js(d, "return document.getElementById('tip').textContent")))
        shot(d, "3-pie")
        # the breadcrumb back to the root; the flame graph zooms too
        css(d, ".mf-profiler-breadcrumb a")[0].click()
        wait(d, "back at the root", lambda: len(css(d, ".mf-profiler-breadcrumb a")) == 1)
        css(d, 'button[data-mode="list"]')[0].click()
        css(d, f'.mf-profiler-flame-cell[data-path="0/{idx}"]')[0].click()
        wait(d, "zoomed from the flame graph", lambda: crumbs() == [tree["root"]["name"], child["name"]])
        shot(d, "4-flame-zoom")
    finally:
        s.stop()


@case
def ui_on_a_live_program_enable_disable_clear():
    d = need_browser()
    out = os.path.join(TMP, "live.out")
    prog = subprocess.Popen([DATAGRID, "100000000"], stdout=subprocess.DEVNULL,
                            env=clean_env(SPANPROF_SIGNAL="SIGUSR2", SPANPROF_OUTPUT=out))
    s = None
    try:
        # ui -p asks for a first dump: it fails until the runtime listens
        def start():
            p = subprocess.run([SPANPROF, "list", "-p", str(prog.pid), "--json"], env=clean_env(),
                               capture_output=True)
            return p.returncode == 0
        until("the program's control handler", start)
        s = Server("-p", str(prog.pid))
        d.get(s.url)
        wait(d, "the controls", lambda: css(d, "#controls")[0].is_displayed())
        wait(d, "an empty list (off until enable)", lambda: refreshes(d) >= 1)
        eq(rows(d), [], "off until enable")
        css(d, "#enable")[0].click()
        wait(d, "recording on", lambda: css(d, "#state")[0].get_attribute("data-state") == "on")
        wait(d, "traces after Enable", lambda: len(rows(d)) >= 3)
        # a row stays selected, and the list keeps its scroll, across refreshes
        key = rows(d)[-1]
        click_row(d, key)
        wait(d, "the tree", lambda: tree_names(d) and tree_names(d)[0][1] == "navigate_cell")
        wait(d, "enough rows to scroll", lambda: js(d, "const w = document.getElementById('tablewrap');"
                                                       "return w.scrollHeight > w.clientHeight + 100"))
        js(d, "document.getElementById('tablewrap').scrollTop = 60")
        n = refreshes(d)
        wait(d, "two refreshes", lambda: refreshes(d) >= n + 2)
        eq(js(d, "return document.getElementById('tablewrap').scrollTop"), 60, "scroll kept")
        if key in rows(d):  # not evicted meanwhile
            eq(css(d, "#rows tr.selected")[0].get_attribute("data-key"), key, "selection kept")
        eq(tree_names(d)[0], ["0", "navigate_cell"], "the detail kept")
        eq(css(d, ".mf-profiler-detail h2")[0].text, "navigate_cell #" + key.split(":")[1], "the detail's trace")
        shot(d, "5-live-recording")
        css(d, "#disable")[0].click()
        wait(d, "recording off", lambda: css(d, "#state")[0].get_attribute("data-state") == "off")
        n = refreshes(d)
        ended = lambda: int(js(d, "return +document.body.dataset.ended"))  # noqa: E731
        wait(d, "a refresh after Disable", lambda: refreshes(d) >= n + 1)
        stopped_at = ended()
        n = refreshes(d)
        wait(d, "three more refreshes", lambda: refreshes(d) >= n + 3)
        # only the command in flight at Disable may end after it
        assert ended() <= stopped_at + 1, f"still recording: {stopped_at} -> {ended()}"
        shot(d, "6-live-disabled")
        css(d, "#clear")[0].click()
        wait(d, "an empty list after Clear", lambda: rows(d) == [] and
             "Click a trace" in css(d, ".mf-profiler-detail")[0].text)
        shot(d, "7-live-cleared")
        css(d, "#enable")[0].click()
        before = ended()
        wait(d, "recording again after Enable", lambda: ended() > before + 2 and len(rows(d)) > 0)
    finally:
        if s:
            s.stop()
        prog.kill()
        prog.wait()


@case
def report_from_file_shows_the_same_list_and_tree():
    dump = record_dump()
    out = os.path.join(SHOTS, "report.html")
    eq(sp("report", "-f", dump, "-o", out).strip(), f"{out} (24 traces)", "report's output")
    html = open(out, encoding="utf-8").read()
    # self-contained: nothing to load (no src=, href=, url(), @import)
    m = re.search(r"""<[a-z]+\s[^>]*\b(src|href)\s*=|url\(|@import|\bfetch\(["']http""", html)
    assert not m, f"the report loads something: {m and m.group(0)}"
    d = need_browser()
    d.get("file://" + out)
    check_list_and_tree(d, dump, "report")
    eq(css(d, "#controls")[0].is_displayed(), False, "no control buttons in a report")
    shot(d, "8-report")
    # several dumps: a row per trace of each, told apart by a dump column
    two = os.path.join(TMP, "two.html")
    eq(sp("report", "-f", dump, "-f", dump, "-o", two).strip(), f"{two} (48 traces)", "report of two dumps")
    d.get("file://" + two)
    wait(d, "48 rows", lambda: len(rows(d)) == 48)
    eq(sorted(rows(d)), sorted(f"{f}:{q}" for f in (0, 1) for q in range(1, 25)), "keys of two dumps")
    assert css(d, 'th[data-col="file"]'), "no dump column"
    open_trace(d, "1:5", "navigate_cell")


@case
def report_of_500_traces():
    """Size linear in the traces; it opens (the time is printed, not
    asserted: the machine may be loaded). samples/threads, one worker:
    light requests, so that 520 of them are quick even under ASan."""
    def dump(n):
        path = os.path.join(TMP, f"threads-{n}.out")
        subprocess.run([THREADS, "1", str(n)], env=clean_env(SPANPROF_ENABLED="1", SPANPROF_OUTPUT=path),
                       check=True, stdout=subprocess.DEVNULL)
        return path, len(sp_json("list", "-f", path))
    small, n_small = dump(50)
    big, n = dump(520)
    assert n >= 500, n
    small_html, big_html = os.path.join(TMP, "small.html"), os.path.join(SHOTS, "report-500.html")
    sp("report", "-f", small, "-o", small_html)
    sp("report", "-f", big, "-o", big_html)
    per_small = os.path.getsize(small_html) / n_small
    per_big = os.path.getsize(big_html) / n
    assert per_big < per_small * 1.2, f"bytes per trace: {per_small:.0f} ({n_small}) vs {per_big:.0f} ({n})"
    d = need_browser()
    t0 = time.monotonic()
    d.get("file://" + big_html)
    wait(d, f"{n} rows", lambda: len(rows(d)) == n)
    print(f"# report of {n} traces: {os.path.getsize(big_html)} bytes, shown in {time.monotonic() - t0:.2f} s")


def main():
    print(f"1..{len(cases)}")
    failed = 0
    for i, fn in enumerate(cases, 1):
        name = fn.__name__
        try:
            fn()
            print(f"ok {i} - {name}")
        except Skip as e:
            print(f"ok {i} - {name} # SKIP {e}")
        except Exception as e:  # noqa: BLE001
            failed += 1
            print(f"not ok {i} - {name}")
            for line in f"{type(e).__name__}: {e}".splitlines():
                print("# " + line)
        sys.stdout.flush()
    if driver:
        driver.quit()
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
