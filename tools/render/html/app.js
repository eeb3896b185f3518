// The page of spanprof ui / report: the list of traces (ProfilerList), one
// trace's spans (ProfilerDetail: tree, pie, flame graph). Data: the CLI's
// --json model, from the server (ui: /api/...) or embedded (report).
"use strict";
(function () {
  const EMBED = JSON.parse(document.getElementById("spanprof-data").textContent);
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  // The palette and color choice of render/pie.c, so that a name has the
  // same color here as in `spanprof pie --svg`.
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7",
    "#9c755f", "#17becf", "#1f3b73", "#8cd17d", "#d37295", "#499894", "#86bcb6", "#f1ce63"];
  const ENC = new TextEncoder();
  function nameColor(name) {
    let h = 2166136261;
    for (const b of ENC.encode(name)) h = Math.imul(h ^ b, 16777619) >>> 0;
    return (h >>> 8) % PALETTE.length;
  }
  function ink(hex) { // black or white text, whichever reads on hex
    const v = parseInt(hex.slice(1), 16), r = v >> 16, g = (v >> 8) & 255, b = v & 255;
    return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#111" : "#fff";
  }
  function byteCmp(a, b) { // strcmp order
    const x = ENC.encode(a), y = ENC.encode(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  }
  function assignColors(slices) { // pie.c's assign_colors
    const used = new Array(PALETTE.length).fill(false);
    const order = slices.slice().sort((a, b) => byteCmp(a.name, b.name));
    for (const s of order) {
      let c = nameColor(s.name);
      for (let k = 0; k < PALETTE.length && used[c]; k++) c = (c + 1) % PALETTE.length;
      used[c] = true;
      s.color = PALETTE[c];
    }
  }

  const S = {
    list: null, traces: [], sort: { col: "seq", dir: 1 }, sel: null, trees: {}, tree: null,
    zoom: null, mode: "list", recording: null, lastEnded: null, refreshes: 0, expanded: new Set(),
  };

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "class") e.className = attrs[k];
      else if (k === "text") e.textContent = attrs[k];
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  const ms = (ns) => (ns / 1e6).toFixed(ns >= 1e8 ? 1 : 3);
  function wall(ns) {
    const d = new Date(ns / 1e6), p = (n, w) => String(n).padStart(w || 2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:` +
      `${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  }
  function dataText(data) {
    if (!data) return "";
    return Object.keys(data).map((k) => `${k}=${typeof data[k] === "string" ? data[k] : JSON.stringify(data[k])}`)
      .join(" ");
  }
  function status(text) { $("status").textContent = text || ""; }

  function api(path, method) {
    const url = path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
    return fetch(url, { method: method || "GET", cache: "no-store" }).then((r) => {
      if (!r.ok) return r.json().catch(() => ({})).then((e) => { throw new Error(e.error || `HTTP ${r.status}`); });
      return r.json();
    });
  }

  // ---- the list (ProfilerList) ----
  const COLS = [
    { key: "file", label: "dump", multi: true, fmt: (i) => ((S.list.sources[i] || {}).path || "").split("/").pop() },
    { key: "seq", label: "#", num: true },
    { key: "name", label: "name" },
    { key: "id", label: "id" },
    { key: "duration_ns", label: "total ms", num: true, fmt: ms },
    { key: "cpu_ns", label: "cpu ms", num: true, fmt: ms, optional: true },
    { key: "start_ns", label: "start", fmt: wall },
    { key: "thread", label: "thread", num: true },
    { key: "spans", label: "spans", num: true },
    { key: "marks", label: "" },
  ];
  const isKept = (t) => !!(t.kept || t.kept_slow || t.slow);
  function marks(t) {
    const m = [];
    if (isKept(t)) m.push(["kept", "kept slow", "kept: slower than the threshold"]);
    if (t.unfinished) m.push(["unfinished", "unfinished", "closed by spanprof (open at exit or thread end)"]);
    if (t.dropped_spans) m.push(["truncated", "truncated", `${t.dropped_spans} spans dropped`]);
    return m;
  }
  function columns() {
    return COLS.filter((c) => (!c.optional || S.traces.some((t) => t[c.key] != null)) &&
      (!c.multi || (S.list.sources || []).length > 1));
  }
  function drawHeads() {
    const tr = $("heads");
    tr.textContent = "";
    for (const c of columns()) {
      const th = el("th", { class: c.num ? "num" : "", "data-col": c.key, text: c.label,
        onclick: () => { S.sort = { col: c.key, dir: S.sort.col === c.key ? -S.sort.dir : (c.num ? -1 : 1) }; drawList(); } });
      if (S.sort.col === c.key) th.dataset.dir = S.sort.dir;
      tr.append(th);
    }
  }
  function sortValue(t, col) {
    if (col === "marks") return (isKept(t) ? 4 : 0) + (t.unfinished ? 2 : 0) + (t.dropped_spans ? 1 : 0);
    if (col === "seq") return t.file * 1e15 + t.seq;
    return t[col];
  }
  function visible() {
    const name = $("fname").value.trim().toLowerCase();
    const min = parseFloat($("fmin").value);
    let v = S.traces.filter((t) => (!name || t.name.toLowerCase().includes(name)) &&
      (isNaN(min) || t.duration_ns >= min * 1e6));
    const { col, dir } = S.sort;
    v.sort((a, b) => {
      const x = sortValue(a, col), y = sortValue(b, col);
      const c = x == null ? (y == null ? 0 : -1) : y == null ? 1 : typeof x === "string" ? byteCmp(x, y) : x - y;
      return c * dir || sortValue(a, "seq") - sortValue(b, "seq");
    });
    return v;
  }
  function drawList() {
    drawHeads();
    const wrap = $("tablewrap"), top = wrap.scrollTop, body = $("rows");
    const cols = columns(), rows = visible();
    const frag = document.createDocumentFragment();
    for (const t of rows) {
      const tr = el("tr", { "data-key": t.key, "data-seq": t.seq, class: t.key === S.sel ? "selected" : "" });
      for (const c of cols) {
        const td = el("td", { class: c.num ? "num" : "" });
        if (c.key === "marks") {
          for (const [cls, label, title] of marks(t)) td.append(el("span", { class: "mf-profiler-mark " + cls, title, text: label }));
        } else {
          const v = t[c.key];
          td.textContent = v == null ? "" : c.fmt ? c.fmt(v) : v;
          if (c.key === "name" && Object.keys(t.data || {}).length) td.title = dataText(t.data);
        }
        tr.append(td);
      }
      frag.append(tr);
    }
    body.textContent = "";
    body.append(frag);
    wrap.scrollTop = top;
    $("count").textContent = rows.length === S.traces.length ? `${rows.length} traces` : `${rows.length} of ${S.traces.length} traces`;
  }
  $("rows").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-key]");
    if (tr) select(tr.dataset.key);
  });
  $("fname").addEventListener("input", drawList);
  $("fmin").addEventListener("input", drawList);

  function quantile(sorted, q) { // nearest rank, as `top`
    return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
  }
  function drawStats() {
    const box = $("stats");
    box.textContent = "";
    let rows = S.list && S.list.stats; // the runtime's stats, when the dump has them
    let caption = "per name (stats)";
    if (!Array.isArray(rows)) { // meanwhile: over the stored traces
      const by = new Map();
      for (const t of S.traces) (by.get(t.name) || by.set(t.name, []).get(t.name)).push(t.duration_ns);
      rows = [...by].map(([name, d]) => {
        d.sort((a, b) => a - b);
        return { name, stored: d.length, p50_ns: quantile(d, 0.5), p99_ns: quantile(d, 0.99) };
      });
      caption = "per name, over the stored traces";
    }
    if (!rows.length) return;
    const has = (k) => rows.some((r) => r[k] != null);
    const cols = [["name", "name"], ["seen", "seen"], ["stored", "stored"], ["evicted", "evicted"],
      ["p50_ns", "p50 ms"], ["p99_ns", "p99 ms"]].filter(([k]) => has(k));
    const tb = el("tbody");
    for (const r of rows)
      tb.append(el("tr", null, ...cols.map(([k]) => el("td", { class: k === "name" ? "" : "num",
        text: r[k] == null ? "" : k.endsWith("_ns") ? ms(r[k]) : r[k] }))));
    box.append(el("table", null, el("caption", { text: caption }),
      el("thead", null, el("tr", null, ...cols.map(([k, l]) => el("th", { class: k === "name" ? "" : "num", text: l })))), tb));
  }
  function drawSource() {
    const l = S.list, src = l.sources || [];
    const first = src[0] || {};
    let text = l.live ? `process ${l.pid}` : src.map((s) => s.path).join(", ");
    if (first.program) text += ` \u2014 ${first.program}`;
    $("source").textContent = text;
    $("source").title = first.cmdline || "";
  }
  function drawState() {
    const st = typeof S.list.recording === "boolean" ? S.list.recording : S.recording;
    const e = $("state");
    e.dataset.state = st == null ? "unknown" : st ? "on" : "off";
    e.textContent = "recording: " + (st == null ? "?" : st ? "on" : "off");
  }

  function setList(list) {
    S.list = list;
    S.traces = list.traces || [];
    const ended = (list.sources || []).reduce((a, s) => a + ((s.counts || {}).ended || 0), 0);
    if (S.recording == null && S.lastEnded != null && ended > S.lastEnded) S.recording = true;
    S.lastEnded = ended;
    document.body.dataset.ended = ended;
    drawSource();
    drawStats();
    drawList();
    if (list.live) { $("controls").hidden = false; drawState(); }
    // A trace evicted meanwhile keeps its detail (its tree is here); Clear
    // and an empty list close it.
    if (S.sel && (S.cleared || !S.traces.length) && !S.traces.some((t) => t.key === S.sel)) {
      S.sel = null;
      S.tree = null;
      drawDetail();
    }
    S.cleared = false;
    document.body.dataset.refreshes = ++S.refreshes;
  }

  function refresh() {
    return api("/api/traces").then((l) => { status(""); setList(l); }, (e) => status(e.message));
  }
  function tick() {
    refresh().finally(() => setTimeout(tick, 1000));
  }
  function control(cmd) {
    status("");
    api("/api/ctl?cmd=" + cmd, "POST").then(() => {
      if (cmd !== "clear") S.recording = cmd === "enable";
      else S.cleared = true;
      return refresh();
    }, (e) => status(e.message));
  }
  $("enable").addEventListener("click", () => control("enable"));
  $("disable").addEventListener("click", () => control("disable"));
  $("clear").addEventListener("click", () => control("clear"));

  // ---- one trace (ProfilerDetail) ----
  function prepare(trace) { // totals, self times, parents, paths
    const stack = [[trace.root, null, "0"]];
    while (stack.length) {
      const [n, parent, path] = stack.pop();
      n.parent = parent;
      n.path = path;
      n.total = n.kind === "cumulative" ? n.total_ns : n.duration_ns;
      n.children = n.children || [];
      for (let i = 0; i < n.children.length; i++) stack.push([n.children[i], n, path + "/" + i]);
    }
    const post = [];
    const st = [trace.root];
    while (st.length) { const n = st.pop(); post.push(n); for (const c of n.children) st.push(c); }
    for (const n of post) {
      if (n.kind !== "cumulative") continue;
      const kids = n.children.reduce((a, c) => a + c.total, 0);
      n.self_ns = Math.max(0, n.total - kids);
    }
    return trace;
  }
  function nodeAt(path) {
    let n = S.tree.root;
    for (const i of path.split("/").slice(1)) { n = n.children[+i]; if (!n) return S.tree.root; }
    return n;
  }
  function select(key) {
    if (key !== S.sel) S.expanded = new Set();
    S.sel = key;
    for (const tr of $("rows").children) tr.classList.toggle("selected", tr.dataset.key === key);
    const have = S.trees[key];
    const done = (t) => {
      if (S.sel !== key) return;
      if (!t) return status(`trace ${key} could not be read`); // report: said on stderr when written
      S.tree = prepare(t);
      S.zoom = S.tree.root;
      drawDetail();
    };
    if (have) return done(have);
    if (EMBED) return done(EMBED.trees[key]);
    api("/api/trace?key=" + encodeURIComponent(key)).then((t) => { S.trees[key] = t; done(t); }, (e) => status(e.message));
  }
  function zoom(n) { S.zoom = n; drawDetail(); }

  function hottest(root) { // the path of largest children from root
    const hot = new Set([root]);
    for (let n = root; n.children.length;) {
      n = n.children.reduce((a, c) => (c.total > a.total ? c : a));
      hot.add(n);
    }
    return hot;
  }
  function traceInfo(t) {
    const src = (S.list.sources || [])[(S.traces.find((x) => x.key === S.sel) || {}).file || 0] || {};
    const lt = S.traces.find((x) => x.key === S.sel) || {};
    const info = el("div", { class: "mf-profiler-info" });
    const add = (k, v) => { info.append(el("b", { text: k + " " }), v, "  "); };
    add("id", t.id || "\u2014");
    add("start", wall(t.start_ns));
    add("total", ms(t.duration_ns) + " ms");
    const cpu = lt.cpu_ns != null ? lt.cpu_ns : t.cpu_ns;
    if (cpu != null) add("cpu", ms(cpu) + " ms");
    if (t.voluntary_switches != null)
      add("switches", `${t.voluntary_switches} voluntary, ${t.involuntary_switches} involuntary`);
    add("thread", String(t.thread));
    if (t.dropped_spans) add("dropped spans", String(t.dropped_spans));
    const data = dataText(t.data);
    const box = el("div", null, info);
    if (data) box.append(el("div", { class: "mf-profiler-info" }, el("b", { text: "data " }), el("span", { class: "mf-profiler-data", text: data })));
    // the design's overhead figures: the profiler's own cost, to judge the numbers by
    if (src.overhead_per_span_ns != null) {
      const est = (lt.spans || 0) * 2 * src.overhead_per_span_ns;
      box.append(el("div", { class: "mf-profiler-info mf-profiler-overhead" },
        el("b", { text: "overhead " }), `${src.overhead_per_span_ns.toFixed(1)} ns per span boundary; ` +
        `\u2248${(est / 1e3).toFixed(2)} \u00B5s in this trace; ${(+src.total_overhead_ms).toFixed(3)} ms in all`));
    }
    return box;
  }
  function breadcrumb() {
    const path = [];
    for (let n = S.zoom; n; n = n.parent) path.unshift(n);
    const bc = el("nav", { class: "mf-profiler-breadcrumb", "aria-label": "zoom path" });
    path.forEach((n, i) => {
      if (i) bc.append(el("span", { class: "sep", text: "\u203A" }));
      bc.append(el("a", { "data-path": n.path, text: n.name, onclick: () => zoom(n) }));
    });
    return bc;
  }
  function drawDetail() {
    const box = $("detail");
    box.textContent = "";
    if (!S.tree) { box.append(el("p", { class: "mf-profiler-empty", text: "Click a trace to see its spans." })); return; }
    const t = S.tree;
    box.append(el("h2", { text: `${t.name} #${t.seq}` }), traceInfo(t));
    const modes = el("span", { class: "mf-profiler-mode" });
    for (const m of ["list", "pie"])
      modes.append(el("button", { type: "button", "data-mode": m, "aria-pressed": String(S.mode === m), text: m,
        onclick: () => { S.mode = m; drawDetail(); } }));
    box.append(el("div", { class: "mf-profiler-bar" }, modes, breadcrumb()));
    box.append(S.mode === "pie" ? drawPie(S.zoom) : drawTree(S.zoom));
    box.append(drawFlame(S.zoom));
    box.dataset.zoom = S.zoom.path;
  }

  function drawTree(root) {
    const hot = hottest(root);
    const tb = el("tbody");
    const table = el("table", { class: "mf-profiler-tree" },
      el("thead", null, el("tr", null, el("th", { class: "num", text: "total ms" }), el("th", { class: "num", text: "self ms" }),
        el("th", { class: "num", text: "% parent" }), el("th", { text: "span" }))), tb);
    const rows = [];
    const add = (n, depth) => { // iterative: any depth
      const st = [[n, depth]];
      while (st.length) {
        const [x, d] = st.pop();
        rows.push([x, d]);
        const open = x === root || S.expanded.has(x.path) || (!S.expanded.has("!" + x.path) && d < 3);
        x.open = open;
        if (open) for (let i = x.children.length - 1; i >= 0; i--) st.push([x.children[i], d + 1]);
      }
    };
    add(root, 0);
    for (const [n, d] of rows) {
      const pct = n.parent && n !== root ? (n.parent.total ? 100 * n.total / n.parent.total : 0) : 100;
      const name = el("span", { class: "mf-profiler-name", text: n.name, title: "zoom to " + n.name, onclick: () => zoom(n) });
      const toggle = el("span", { class: "toggle", text: n.children.length ? (n.open ? "\u25BE" : "\u25B8") : "",
        onclick: () => {
          if (!n.children.length || n === root) return;
          if (n.open) { S.expanded.delete(n.path); S.expanded.add("!" + n.path); }
          else { S.expanded.add(n.path); S.expanded.delete("!" + n.path); }
          drawDetail();
        } });
      const label = el("td", { style: `padding-left:${6 + 16 * d}px` }, toggle, name);
      if (n.kind === "cumulative")
        label.append(el("span", { class: "mf-profiler-cum",
          text: `\u00D7${n.count}  min/avg/max ${ms(n.min_ns)}/${ms(n.avg_ns)}/${ms(n.max_ns)} ms` }));
      const data = dataText(n.data);
      if (data) label.append(el("span", { class: "mf-profiler-data mf-profiler-loc", text: data }));
      if (n.file) label.append(el("span", { class: "mf-profiler-loc", text: `${n.file}:${n.line}` }));
      else if (n.function && n.function !== n.name) label.append(el("span", { class: "mf-profiler-loc", text: n.function }));
      if (n.abandoned) label.append(el("span", { class: "mf-profiler-mark unfinished", text: "abandoned" }));
      tb.append(el("tr", { class: "mf-profiler-node" + (hot.has(n) ? " hot" : ""), "data-path": n.path, "data-name": n.name },
        el("td", { class: "num", text: ms(n.total) }), el("td", { class: "num", text: ms(n.self_ns || 0) }),
        el("td", { class: "num" }, pct.toFixed(1) + "%", el("span", { class: "mf-profiler-pct" }, el("i", { style: `width:${Math.min(100, pct)}%` }))),
        label));
    }
    return table;
  }

  // The slices of render/pie.c's pie_build: one per child name, one for
  // the self time, those under 3% merged into "other" when there are two.
  function slices(node) {
    const by = new Map();
    for (const c of node.children) by.set(c.name, (by.get(c.name) || 0) + c.total);
    let s = [...by].map(([name, ns]) => ({ name, ns }));
    if (node.self_ns) s.push({ name: "(self)", ns: node.self_ns });
    const total = s.reduce((a, x) => a + x.ns, 0);
    s.sort((a, b) => b.ns - a.ns || byteCmp(a.name, b.name));
    const small = s.filter((x) => total && 100 * x.ns / total < 3);
    if (small.length >= 2) {
      s = s.slice(0, s.length - small.length);
      s.push({ name: "other", ns: small.reduce((a, x) => a + x.ns, 0) });
    }
    assignColors(s);
    for (const x of s) x.pct = total ? 100 * x.ns / total : 0;
    return { s, total };
  }
  const tip = $("tip");
  function showTip(e, text) { tip.hidden = false; tip.textContent = text; tip.style.left = e.clientX + 12 + "px"; tip.style.top = e.clientY + 12 + "px"; }
  function hideTip() { tip.hidden = true; }
  function drawPie(node) {
    const { s, total } = slices(node);
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "-1.05 -1.05 2.1 2.1");
    svg.setAttribute("data-total-ns", total);
    let a = -Math.PI / 2;
    const legend = el("tbody");
    for (const x of s) {
      const frac = total ? x.ns / total : 0;
      let shape;
      if (frac >= 0.9999) {
        shape = document.createElementNS(NS, "circle");
        shape.setAttribute("r", "1");
      } else {
        const b = a + frac * 2 * Math.PI;
        shape = document.createElementNS(NS, "path");
        shape.setAttribute("d", `M0 0 L${Math.cos(a)} ${Math.sin(a)} A1 1 0 ${b - a > Math.PI ? 1 : 0} 1 ${Math.cos(b)} ${Math.sin(b)} Z`);
        a = b;
      }
      shape.setAttribute("class", "mf-profiler-slice");
      shape.setAttribute("fill", x.color);
      shape.setAttribute("data-name", x.name);
      shape.setAttribute("data-ns", x.ns);
      const label = `${x.name}: ${ms(x.ns)} ms (${x.pct.toFixed(1)}%)`;
      shape.addEventListener("mousemove", (e) => showTip(e, label));
      shape.addEventListener("mouseleave", hideTip);
      const child = node.children.find((c) => c.name === x.name);
      if (child) shape.addEventListener("click", () => { hideTip(); zoom(child); });
      svg.append(shape);
      legend.append(el("tr", null, el("td", null, el("i", { style: `background:${x.color}` })), el("td", { text: x.name }),
        el("td", { class: "num", text: ms(x.ns) + " ms" }), el("td", { class: "num", text: x.pct.toFixed(1) + "%" })));
    }
    return el("div", { class: "mf-profiler-pie", "data-total-ns": node.total }, svg,
      el("table", { class: "mf-profiler-legend" }, el("caption", { text: `${node.name}: ${ms(node.total)} ms` }), legend));
  }

  // An icicle: the zoomed span on top, its children below in their order,
  // widths by total time; click a cell to zoom.
  function drawFlame(root) {
    const area = el("div", { class: "mf-profiler-flame-area" });
    const H = 18, MAXD = 60;
    let depthMax = 0, cells = 0;
    const st = [[root, 0, 0, 1]];
    while (st.length && cells < 4000) {
      const [n, d, x, w] = st.pop();
      if (w < 0.001 || d > MAXD) continue;
      depthMax = Math.max(depthMax, d);
      cells++;
      const name = n.kind === "cumulative" ? `${n.name} \u00D7${n.count}` : n.name;
      const pct = root.total ? 100 * n.total / root.total : 0;
      const cell = el("div", { class: "mf-profiler-flame-cell", "data-path": n.path, text: name,
        style: `left:${100 * x}%;width:${100 * w}%;top:${d * H}px;background:${PALETTE[nameColor(n.name)]};` +
          `color:${ink(PALETTE[nameColor(n.name)])}` });
      const label = `${n.name}: ${ms(n.total)} ms (${pct.toFixed(1)}%)`;
      cell.addEventListener("mousemove", (e) => showTip(e, label));
      cell.addEventListener("mouseleave", hideTip);
      cell.addEventListener("click", () => { hideTip(); zoom(n); });
      area.append(cell);
      let cx = x;
      for (const c of n.children) {
        const cw = n.total ? w * Math.min(1, c.total / n.total) : 0;
        st.push([c, d + 1, cx, cw]);
        cx += cw;
      }
    }
    area.style.height = (depthMax + 1) * H + "px";
    return el("div", { class: "mf-profiler-flame" }, el("h3", { text: "flame graph" }), area);
  }

  // ---- start ----
  if (EMBED) {
    setList(EMBED.list);
  } else {
    refresh().then(() => { if (S.list && S.list.live) setTimeout(tick, 1000); });
  }
})();
