/* gitcfg ui: the runs page of `gitcfg ui` (live) and `gitcfg report` (one file).
 *
 * Plain JavaScript, no build step. Reads <script id="gitcfg-data" type="application/json">:
 * {"mode":"live"} fetches the JSON endpoints of docs/ui.md; {"mode":"report", ...} uses the
 * answers embedded in the page and computes on the client what they allow.
 * Every value that comes from runs is inserted as text (textContent via el()), never as HTML.
 */
(function () {
  "use strict";

  var DATA_TAG = document.getElementById("gitcfg-data"); // the server or the report inserts it
  var DATA = DATA_TAG ? JSON.parse(DATA_TAG.textContent || "{}") : { mode: "live" };
  var LIVE = DATA.mode !== "report";
  var AGGS = ["mean", "std", "min", "max", "median", "count"];
  var PAGE_ROWS = 200; // table rows drawn at a time ("Show 200 more")
  var MAX_CATEGORIES = 50; // a parallel-coordinates axis of text values shows at most this many
  var CURVE_POINTS = 500;
  var DEFAULT_CURVE_RUNS = 10;

  var S = {
    runs: null, // the /api/runs answer
    generation: null,
    where: null, // null: the server's selection (the command line's); a string once edited
    range: null,
    quick: "",
    sort: { key: null, desc: false },
    shown: null, // set of column keys shown, null until the first answer
    selected: new Set(),
    brush: null, // set of run ids kept by the parallel-coordinates brush, or null
    brushIntervals: {}, // column key -> the ranges brushed on its axis
    rowLimit: PAGE_ROWS,
    group: { by: null, aggs: ["mean", "std", "count"], over: "", metric: null, chart: "bar" },
    parallel: { metric: null },
    curves: { metric: null, x: "", log: false, smooth: 0, mode: "runs", groupKey: "" }, // x "": the server's choice
    route: { view: "runs", arg: "" },
  };
  var charts = {};

  // ---------------------------------------------------------------- DOM helpers

  /** el("td", {className: "num"}, "text", childNode): children are text or nodes, never HTML. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === undefined || value === null || value === false) return;
        if (name === "className") node.className = value;
        else if (name === "text") node.textContent = value;
        else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
        else if (name === "dataset") Object.assign(node.dataset, value);
        else if (value === true) node.setAttribute(name, "");
        else node.setAttribute(name, String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  /** append(node, child, ...): each child a node, text, or an array of them. */
  function append(node) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === undefined || child === null || child === false) continue;
      if (Array.isArray(child)) child.forEach(function (c) { append(node, c); });
      else if (typeof child === "object" && child.nodeType) node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }
  function $(id) { return document.getElementById(id); }

  // ---------------------------------------------------------------- values

  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function fmt(v) {
    if (v === undefined || v === null) return "";
    if (typeof v === "number") {
      if (!isFinite(v)) return String(v);
      if (Number.isInteger(v)) return String(v);
      var a = Math.abs(v);
      if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3).replace(/\.?0+e/, "e");
      return String(Number(v.toPrecision(4)));
    }
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  function ago(iso) {
    var t = Date.parse(iso);
    if (!isFinite(t)) return "";
    var s = Math.max(0, (Date.now() - t) / 1000);
    if (s < 60) return Math.round(s) + "s ago";
    if (s < 3600) return Math.round(s / 60) + "m ago";
    if (s < 86400) return Math.round(s / 3600) + "h ago";
    return Math.round(s / 86400) + "d ago";
  }
  function shortId(id) { return String(id || "").slice(0, 12); }
  function short(commit) { return commit ? String(commit).slice(0, 8) : ""; }

  /** The value of column `key` ("config.lr", "summary.acc", "status", ...) in a run row. */
  function cell(run, key) {
    if (key.indexOf("config.") === 0) return run.config ? run.config[key.slice(7)] : undefined;
    if (key.indexOf("summary.") === 0) return run.summary ? run.summary[key.slice(8)] : undefined;
    if (key === "tags") return (run.tags || []).join(", ");
    if (key === "age") return run.started;
    return run[key];
  }
  function shownText(run, key) {
    var v = cell(run, key);
    if (key === "age") return ago(v);
    if (key === "code") return short(v) + (run.dirty ? "+" : "");
    if (key === "id") return shortId(v);
    return fmt(v);
  }
  function sortValue(run, key) {
    var v = cell(run, key);
    if (key === "age") { var t = Date.parse(v); return isFinite(t) ? -t : null; }
    return v === undefined ? null : v;
  }
  function compare(a, b) {
    if (a === null && b === null) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "number") return -1;
    if (typeof b === "number") return 1;
    return fmt(a).localeCompare(fmt(b), undefined, { numeric: true });
  }
  function label(key) {
    if (key.indexOf("config.") === 0) return key.slice(7);
    if (key.indexOf("summary.") === 0) return key.slice(8);
    return key;
  }

  // ---------------------------------------------------------------- data sources

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v === null || v === undefined) return;
      parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }
  function getJSON(path, params) {
    return fetch(path + query(params || {}), { cache: "no-store" }).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        if (!res.ok && !(body && body.error)) {
          throw new Error(path + ": HTTP " + res.status + (text ? ": " + text.slice(0, 200) : ""));
        }
        if (body === null) throw new Error(path + ": not JSON");
        return body;
      });
    });
  }
  function errorText(error) {
    if (!error) return "";
    return typeof error === "string" ? error : error.message || JSON.stringify(error);
  }

  var source = LIVE ? {
    runs: function () {
      return getJSON("/api/runs", { where: S.where, range: S.range });
    },
    group: function (by, aggs, over) {
      return getJSON("/api/group", {
        by: by.join(","), agg: aggs.join(","), over: over || null, where: S.where, range: S.range,
      });
    },
    curves: function (ids, metric, x, groupKey) {
      return getJSON("/api/curves", {
        runs: ids.join(","), metric: metric, x: x, points: CURVE_POINTS, group: groupKey || null,
      });
    },
    run: function (id) { return getJSON("/api/run/" + encodeURIComponent(id)); },
    compare: function (ids) { return getJSON("/api/compare", { runs: ids.join(",") }); },
    fileURL: function (id, path) {
      return "/api/file/" + encodeURIComponent(id) + "/" +
        String(path).split("/").map(encodeURIComponent).join("/");
    },
  } : {
    runs: function () { return Promise.resolve(DATA.runs || { columns: [], runs: [] }); },
    group: function (by, aggs, over) {
      var g = embedded(DATA.groups, by.join(","), "groups");
      if (g && !over && g.by && sameList(g.by, by) && aggs.every(function (a) { return (g.aggs || []).indexOf(a) >= 0; })) {
        return Promise.resolve(g);
      }
      var answer = groupClientSide(allRuns(), by, aggs);
      if (over) answer.warning = "--over needs `gitcfg ui`; this report groups without it";
      return Promise.resolve(answer);
    },
    curves: function (ids, metric, x, groupKey) {
      var found = embedded(DATA.curves, metric, "series");
      if (found && x && found.x && found.x !== x) found = null;
      if (!found) {
        return Promise.resolve({ metric: metric, x: x, series: [], bands: [],
          error: { message: "this report holds no curves of " + metric + (x ? " over " + x : "") + " (open the runs with `gitcfg ui`)" } });
      }
      var wanted = new Set(ids);
      var series = (found.series || []).filter(function (s) { return wanted.has(s.run); });
      return Promise.resolve({ metric: found.metric || metric, x: found.x || x, series: series,
        bands: groupKey ? bandsClientSide(series, groupKey) : [], downsampled: found.downsampled, error: found.error || null });
    },
    run: function (id) {
      var embedded = DATA.run && DATA.run[id];
      if (embedded) return Promise.resolve(embedded);
      var row = allRuns().filter(function (r) { return r.id === id; })[0];
      if (!row) return Promise.resolve({ error: { message: "run " + id + " is not in this report" } });
      return Promise.resolve({
        id: row.id, name: row.name, status: row.status, partial: true,
        meta: { started: row.started, duration: row.duration, code: row.code, dirty: row.dirty,
          tags: row.tags, group: row.group, project: row.project },
        config: row.config || {}, amended: [], summary: row.summary || {}, metrics: [], files: [], media: [],
        patch: null, history: [],
      });
    },
    compare: function (ids) {
      var c = DATA.compare;
      if (c && c.runs && sameList(c.runs.map(function (r) { return r.id; }), ids)) return Promise.resolve(c);
      return Promise.resolve(compareClientSide(ids));
    },
    fileURL: null,
  };

  /** The embedded answer for `name` in a report's {name: answer} map (or a lone answer / a list). */
  function embedded(store, name, marker) {
    if (!store) return null;
    if (Array.isArray(store)) {
      return store.filter(function (a) { return a && (a.metric === name || (a.by || []).join(",") === name); })[0] || null;
    }
    if (marker in store) return store; // one answer, not a map
    return Object.prototype.hasOwnProperty.call(store, name) ? store[name] : null;
  }
  function embeddedNames(store) {
    if (!store) return [];
    if (Array.isArray(store)) return store.map(function (a) { return a && a.metric; }).filter(Boolean);
    if ("series" in store) return store.metric ? [store.metric] : [];
    return Object.keys(store);
  }

  function sameList(a, b) {
    return a.length === b.length && a.every(function (x, i) { return x === b[i]; });
  }
  function allRuns() { return (S.runs && S.runs.runs) || []; }

  // Client-side group and compare (report mode), the same arithmetic as gitcfg's aggregate.py.
  function aggregate(values, aggs) {
    var n = values.length, out = {};
    var mean = n ? values.reduce(function (a, b) { return a + b; }, 0) / n : null;
    var sorted = values.slice().sort(function (a, b) { return a - b; });
    aggs.forEach(function (agg) {
      if (agg === "count") out[agg] = n;
      else if (agg === "mean") out[agg] = mean;
      else if (agg === "std") {
        out[agg] = n < 2 ? null : Math.sqrt(values.reduce(function (a, v) { return a + (v - mean) * (v - mean); }, 0) / (n - 1));
      } else if (agg === "min") out[agg] = n ? sorted[0] : null;
      else if (agg === "max") out[agg] = n ? sorted[n - 1] : null;
      else if (agg === "median") {
        out[agg] = !n ? null : n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      }
    });
    return out;
  }
  function groupClientSide(runs, by, aggs) {
    var metrics = summaryKeys(); // row keys, as the server's answer has them
    var groups = new Map();
    runs.forEach(function (run) {
      var values = {};
      by.forEach(function (k) { var v = cell(run, k); values[k] = v === undefined ? null : v; });
      var id = JSON.stringify(by.map(function (k) { return values[k]; }));
      if (!groups.has(id)) groups.set(id, { values: values, runs: [] });
      groups.get(id).runs.push(run);
    });
    var list = [];
    groups.forEach(function (g) {
      var m = {};
      metrics.forEach(function (name) {
        var vals = g.runs.map(function (r) { return cell(r, name); }).filter(isNum);
        if (vals.length) m[name] = aggregate(vals, aggs);
      });
      list.push({ values: g.values, count: g.runs.length, metrics: m });
    });
    list.sort(function (a, b) {
      for (var i = 0; i < by.length; i++) {
        var c = compare(a.values[by[i]], b.values[by[i]]);
        if (c) return c;
      }
      return 0;
    });
    return { by: by, aggs: aggs, groups: list, warning: null, error: null };
  }
  /** Mean ± std bands per value of `key` from per-run curves (a report's): the x range cut into
   * 100 equal bins, each bin's mean and sample std (0 for one value) over the runs' points in it. */
  function bandsClientSide(series, key) {
    var byId = {};
    allRuns().forEach(function (r) { byId[r.id] = r; });
    var lo = Infinity, hi = -Infinity;
    series.forEach(function (s) { (s.x || []).forEach(function (x) { if (isNum(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); } }); });
    if (!(hi >= lo)) return [];
    var bins = hi > lo ? 100 : 1, width = (hi - lo) / bins || 1;
    var groups = new Map();
    series.forEach(function (s) {
      var run = byId[s.run];
      var value = run ? cell(run, key) : undefined;
      var name = label(key) + "=" + fmt(value === undefined ? null : value);
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push(s);
    });
    var bands = [];
    groups.forEach(function (list, name) {
      var sums = [];
      list.forEach(function (s) {
        (s.x || []).forEach(function (x, j) {
          var y = (s.y || [])[j];
          if (!isNum(x) || !isNum(y)) return;
          var b = Math.min(bins - 1, Math.floor((x - lo) / width));
          (sums[b] = sums[b] || []).push(y);
        });
      });
      var band = { label: name + " (" + list.length + " runs)", x: [], mean: [], lo: [], hi: [] };
      sums.forEach(function (ys, b) {
        if (!ys) return;
        var a = aggregate(ys, ["mean", "std"]);
        var sd = a.std === null ? 0 : a.std;
        band.x.push(lo + (b + 0.5) * width);
        band.mean.push(a.mean); band.lo.push(a.mean - sd); band.hi.push(a.mean + sd);
      });
      bands.push(band);
    });
    return bands;
  }

  function compareClientSide(ids) {
    var rows = ids.map(function (id) { return allRuns().filter(function (r) { return r.id === id; })[0]; })
      .filter(Boolean);
    var differing = [];
    ["config", "summary"].forEach(function (part) {
      var keys = new Set();
      rows.forEach(function (r) { Object.keys(r[part] || {}).forEach(function (k) { keys.add(k); }); });
      Array.from(keys).sort().forEach(function (k) {
        var values = rows.map(function (r) { return r[part] && k in r[part] ? r[part][k] : null; });
        var first = JSON.stringify(values[0]);
        if (values.some(function (v) { return JSON.stringify(v) !== first; })) differing.push({ key: part + "." + k, values: values });
      });
    });
    return { runs: rows.map(function (r) { return { id: r.id, name: r.name }; }), keys: differing,
      code_diff: null, note: "the code diff needs `gitcfg ui`" };
  }

  // ---------------------------------------------------------------- runs list

  function columns() { return (S.runs && S.runs.columns) || []; }
  function summaryKeys() {
    return columns().filter(function (c) { return c.kind === "summary"; }).map(function (c) { return c.key; });
  }
  function varyingConfigKeys() {
    return columns().filter(function (c) { return c.kind === "config" && c.varies; }).map(function (c) { return c.key; });
  }
  function configKeys() {
    return columns().filter(function (c) { return c.kind === "config"; }).map(function (c) { return c.key; });
  }
  function shownColumns() {
    return columns().filter(function (c) { return S.shown.has(c.key); });
  }

  /** The runs the table shows: the answer's, less the quick filter and the brush, sorted. */
  function visibleRuns() {
    var runs = allRuns();
    var cols = shownColumns();
    if (S.quick) {
      var needle = S.quick.toLowerCase();
      runs = runs.filter(function (run) {
        if (String(run.id).toLowerCase().indexOf(needle) === 0) return true;
        return cols.some(function (c) { return shownText(run, c.key).toLowerCase().indexOf(needle) >= 0; });
      });
    }
    if (S.brush) runs = runs.filter(function (run) { return S.brush.has(run.id); });
    if (S.sort.key) {
      var key = S.sort.key, sign = S.sort.desc ? -1 : 1;
      runs = runs.map(function (r, i) { return [r, i]; }).sort(function (a, b) {
        var va = sortValue(a[0], key), vb = sortValue(b[0], key);
        if (va === null || vb === null) return compare(va, vb) || a[1] - b[1];
        return sign * compare(va, vb) || a[1] - b[1];
      }).map(function (p) { return p[0]; });
    }
    return runs;
  }

  function loadRuns() {
    return source.runs().then(function (answer) {
      showWhereError(answer.error);
      if (answer.error && (S.runs || !answer.runs)) return; // keep the last good table under the error
      S.runs = answer;
      var known = new Set(columns().map(function (c) { return c.key; }));
      if (S.shown === null) {
        S.shown = new Set(columns().filter(function (c) {
          return c.varies || c.key === "id" || c.key === "name" || c.key === "status" || c.key === "age" || c.kind === "summary";
        }).map(function (c) { return c.key; }));
      } else {
        columns().forEach(function (c) { if (c.varies && !S.knownCols.has(c.key)) S.shown.add(c.key); });
      }
      S.knownCols = known;
      var ids = new Set(allRuns().map(function (r) { return r.id; }));
      S.selected.forEach(function (id) { if (!ids.has(id)) S.selected.delete(id); });
      var sel = answer.selection || {};
      if (S.where === null) $("where-input").value = sel.where || "";
      if (S.range === null) $("range-input").value = sel.range || "";
    });
  }

  function showWhereError(error) {
    var box = clear($("where-error"));
    if (!error) { box.hidden = true; return; }
    box.hidden = false;
    append(box, el("div", { className: "message" }, errorText(error)));
    if (error.expression !== undefined && error.expression !== null) {
      append(box, el("pre", { className: "expression" }, String(error.expression)));
      if (typeof error.column === "number") {
        append(box, el("pre", { className: "caret" }, " ".repeat(Math.max(0, error.column)) + "^"));
      }
    }
  }

  function renderRunsTable(container) {
    var cols = shownColumns();
    var runs = visibleRuns();
    var toolbar = el("div", { className: "toolbar" },
      columnChooser(),
      el("span", { id: "run-count", className: "note" },
        runs.length + " of " + allRuns().length + " runs" + (S.selected.size ? ", " + S.selected.size + " selected" : "")),
      el("button", { id: "curves-selected", disabled: !S.selected.size, onclick: function () { location.hash = "#curves"; } }, "Curves of selected"),
      el("button", { id: "compare-selected", disabled: S.selected.size < 2, onclick: function () {
        location.hash = "#compare/" + Array.from(S.selected).map(encodeURIComponent).join(",");
      } }, "Compare selected"),
      el("button", { id: "clear-selection", disabled: !S.selected.size, onclick: function () { S.selected.clear(); render(); } }, "Clear selection"));

    var allBox = el("input", { type: "checkbox", id: "select-all", title: "select the runs shown",
      onchange: function (e) {
        runs.forEach(function (r) { if (e.target.checked) S.selected.add(r.id); else S.selected.delete(r.id); });
        render();
      } });
    allBox.checked = runs.length > 0 && runs.every(function (r) { return S.selected.has(r.id); });
    var head = el("tr", null, el("th", null, allBox), cols.map(function (c) {
      var cls = "sortable kind-" + c.kind;
      if (S.sort.key === c.key) cls += S.sort.desc ? " sorted-desc" : " sorted-asc";
      return el("th", { className: cls, dataset: { key: c.key }, title: c.key + " (click to sort)",
        onclick: function () {
          if (S.sort.key === c.key) S.sort.desc = !S.sort.desc;
          else { S.sort.key = c.key; S.sort.desc = false; }
          render();
        } }, label(c.key));
    }));
    var body = el("tbody");
    runs.slice(0, S.rowLimit).forEach(function (run) {
      var box = el("input", { type: "checkbox", className: "select-run", dataset: { run: run.id },
        onchange: function (e) {
          if (e.target.checked) S.selected.add(run.id); else S.selected.delete(run.id);
          render();
        } });
      box.checked = S.selected.has(run.id);
      var tr = el("tr", { className: S.selected.has(run.id) ? "selected" : "", dataset: { run: run.id } }, el("td", null, box));
      cols.forEach(function (c) {
        var text = shownText(run, c.key);
        var v = cell(run, c.key);
        var td;
        if (c.key === "id" || c.key === "name") {
          td = el("td", { className: c.key === "id" ? "mono" : "" },
            el("a", { href: "#run/" + encodeURIComponent(run.id), title: String(run.id) }, text));
        } else {
          td = el("td", { className: (isNum(v) && c.key !== "age" ? "num" : "") + (c.key === "status" ? " st-" + text : "") +
            (c.key === "code" ? " mono" : ""), title: c.key === "age" ? String(v || "") : text }, text);
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    var table = el("table", { id: "runs-table", className: "data" }, el("thead", null, head), body);
    append(container, toolbar, el("div", { className: "table-wrap" }, table));
    if (runs.length > S.rowLimit) {
      append(container, el("div", { className: "more" },
        el("button", { id: "more-rows", onclick: function () { S.rowLimit += PAGE_ROWS; render(); } },
          "Show " + Math.min(PAGE_ROWS, runs.length - S.rowLimit) + " more"),
        el("span", { className: "note" }, " " + (runs.length - S.rowLimit) + " runs not shown")));
    }
    if (!allRuns().length) append(container, el("div", { className: "empty" }, "No runs selected."));
  }

  function columnChooser() {
    var box = el("div");
    ["meta", "config", "summary"].forEach(function (kind) {
      var cols = columns().filter(function (c) { return c.kind === kind; });
      if (!cols.length) return;
      append(box, el("strong", null, kind));
      cols.forEach(function (c) {
        var input = el("input", { type: "checkbox", dataset: { key: c.key }, onchange: function (e) {
          if (e.target.checked) S.shown.add(c.key); else S.shown.delete(c.key);
          render();
        } });
        input.checked = S.shown.has(c.key);
        append(box, el("label", null, input, " " + label(c.key) + (c.varies ? "" : " (constant)")));
      });
    });
    var d = el("details", { id: "column-chooser", className: "chooser", ontoggle: function () { S.chooserOpen = d.open; } },
      el("summary", null, "Columns"), box);
    d.open = !!S.chooserOpen; // stays open while columns are ticked (each tick re-renders)
    return d;
  }

  // ---------------------------------------------------------------- charts

  var chartDivs = {};
  var STALE = { stale: true }; // thrown when a newer render replaced this one's container
  function chartIn(container, id, height) {
    if (!document.body.contains(container)) throw STALE;
    var div = chartDivs[id];
    if (!div) {
      chartDivs[id] = div = el("div", { id: id, className: "chart" });
      if (height) div.style.height = height + "px";
    }
    container.appendChild(div);
    var chart = echarts.getInstanceByDom(div) || echarts.init(div, null, { renderer: "canvas" });
    charts[id] = chart;
    setTimeout(function () { chart.resize(); }, 0);
    return chart;
  }
  /** A tooltip made of DOM text nodes: run names never reach innerHTML. */
  function tooltipOf(lines) {
    var div = document.createElement("div");
    lines.forEach(function (line) { append(div, el("div", null, line)); });
    return div;
  }
  var PALETTE = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"];

  // ---------------------------------------------------------------- views

  var views = {};

  views.runs = function (container) { renderRunsTable(container); };

  views.group = function (container) {
    var cfg = configKeys();
    if (S.group.by === null) {
      var first = !LIVE && DATA.groups ? (DATA.groups.by ? DATA.groups : embedded(DATA.groups, Object.keys(DATA.groups)[0], "groups")) : null;
      var initial = (first && first.by) || varyingConfigKeys().slice(0, 1);
      S.group.by = initial.slice();
    }
    var byBox = el("div");
    cfg.concat(columns().filter(function (c) { return c.kind === "meta" && ["status", "group", "project", "code", "tags"].indexOf(c.key) >= 0; })
      .map(function (c) { return c.key; })).forEach(function (k) {
      var input = el("input", { type: "checkbox", dataset: { key: k }, onchange: function (e) {
        if (e.target.checked) { if (S.group.by.indexOf(k) < 0) S.group.by.push(k); }
        else S.group.by = S.group.by.filter(function (x) { return x !== k; });
        render();
      } });
      input.checked = S.group.by.indexOf(k) >= 0;
      append(byBox, el("label", null, input, " " + label(k)));
    });
    var aggBox = el("span");
    AGGS.forEach(function (a) {
      var input = el("input", { type: "checkbox", dataset: { agg: a }, onchange: function (e) {
        if (e.target.checked) S.group.aggs.push(a);
        else S.group.aggs = S.group.aggs.filter(function (x) { return x !== a; });
        render();
      } });
      input.checked = S.group.aggs.indexOf(a) >= 0;
      append(aggBox, el("label", null, input, " " + a));
    });
    var overInput = el("input", { id: "group-over", value: S.group.over, placeholder: "key", size: 10,
      onchange: function (e) { S.group.over = e.target.value.trim(); render(); } });
    var metrics = summaryKeys();
    if (!S.group.metric || metrics.indexOf(S.group.metric) < 0) S.group.metric = metrics[0] || null;
    var metricSelect = select("group-metric", metrics.map(function (k) { return [k, label(k)]; }), S.group.metric, function (v) { S.group.metric = v; render(); });
    var kindSelect = select("group-chart-kind", ["bar", "point"], S.group.chart, function (v) { S.group.chart = v; render(); });
    append(container, el("div", { className: "toolbar" },
      el("details", { className: "chooser", id: "group-by-chooser" }, el("summary", null,
        "group by: " + (S.group.by.map(label).join(", ") || "(nothing)")), byBox),
      el("span", null, "aggregates: ", aggBox),
      el("label", { title: "the key the runs of a group should differ in only (gitcfg log --over)" }, "--over ", overInput),
      el("label", null, "chart metric ", metricSelect), el("label", null, "as ", kindSelect)));
    if (!S.group.by.length) {
      append(container, el("div", { className: "empty" }, "Choose one or more keys to group by."));
      return null;
    }
    var aggs = S.group.aggs.length ? S.group.aggs : ["count"];
    return source.group(S.group.by, aggs, S.group.over).then(function (answer) {
      if (answer.error) { append(container, el("div", { className: "error", id: "group-error" }, errorText(answer.error))); return; }
      if (answer.warning) append(container, el("div", { className: "warning", id: "group-warning" }, String(answer.warning)));
      var groups = answer.groups || [];
      var by = answer.by || S.group.by;
      var groupLabel = function (g) {
        return by.map(function (k) { return label(k) + "=" + fmt(g.values[k]); }).join(", ");
      };
      var chart = chartIn(container, "group-chart", 360);
      var m = S.group.metric;
      var cats = groups.map(groupLabel);
      var means = groups.map(function (g) {
        var a = g.metrics && g.metrics[m];
        return a && isNum(a.mean) ? a.mean : null;
      });
      var errs = groups.map(function (g, i) {
        var a = g.metrics && g.metrics[m];
        if (!a || !isNum(a.mean) || !isNum(a.std)) return null;
        return [i, a.mean - a.std, a.mean + a.std];
      }).filter(Boolean);
      var hasMean = aggs.indexOf("mean") >= 0;
      chart.setOption({
        animation: false,
        title: { text: m ? label(m) + (hasMean ? ": mean ± std per group" : "") : "no numeric summary metric", textStyle: { fontSize: 13 } },
        tooltip: { trigger: "item", formatter: function (p) {
          var i = p.seriesId === "group-std" ? p.value[0] : p.dataIndex; // error bars skip groups without std
          var g = groups[i] || {};
          var a = (g.metrics && g.metrics[m]) || {};
          return tooltipOf([cats[i] || "", "n = " + g.count].concat(Object.keys(a).map(function (k) { return k + " = " + fmt(a[k]); })));
        } },
        grid: { left: 60, right: 20, top: 40, bottom: 80 },
        xAxis: { type: "category", data: cats, axisLabel: { rotate: cats.length > 6 ? 30 : 0, interval: 0 } },
        yAxis: { type: "value", scale: S.group.chart === "point" },
        series: [
          S.group.chart === "bar"
            ? { id: "group-mean", type: "bar", name: "mean", data: means, itemStyle: { color: PALETTE[0] } }
            : { id: "group-mean", type: "scatter", name: "mean", data: means, symbolSize: 10 },
          { id: "group-std", type: "custom", name: "± std", data: errs, z: 10,
            renderItem: function (params, api) {
              var x = api.value(0), lo = api.coord([x, api.value(1)]), hi = api.coord([x, api.value(2)]);
              var w = api.size([1, 0])[0] * 0.15;
              var style = { stroke: "#333", lineWidth: 1.5 };
              return { type: "group", children: [
                { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: style },
                { type: "line", shape: { x1: lo[0] - w, y1: lo[1], x2: lo[0] + w, y2: lo[1] }, style: style },
                { type: "line", shape: { x1: hi[0] - w, y1: hi[1], x2: hi[0] + w, y2: hi[1] }, style: style },
              ] };
            }, encode: { x: 0, y: [1, 2] } },
        ],
      }, true);
      var metricNames = [];
      groups.forEach(function (g) { Object.keys(g.metrics || {}).forEach(function (k) { if (metricNames.indexOf(k) < 0) metricNames.push(k); }); });
      var head = el("tr", null, by.map(function (k) { return el("th", { className: "kind-config" }, label(k)); }), el("th", null, "count"),
        metricNames.map(function (name) { return el("th", { className: "kind-summary" }, label(name)); }));
      var body = el("tbody");
      groups.forEach(function (g) {
        var tr = el("tr", null, by.map(function (k) { return el("td", null, fmt(g.values[k])); }), el("td", { className: "num" }, String(g.count)));
        metricNames.forEach(function (name) {
          var a = (g.metrics && g.metrics[name]) || {};
          var parts = [];
          if ("mean" in a) parts.push(fmt(a.mean) + ("std" in a ? " ± " + (a.std === null ? "–" : fmt(a.std)) : ""));
          else if ("std" in a) parts.push("std " + fmt(a.std));
          aggs.forEach(function (agg) {
            if (agg === "count" && a.count === g.count) return; // the count column says it
            if (agg !== "mean" && agg !== "std" && agg in a) parts.push(agg + " " + fmt(a[agg]));
          });
          tr.appendChild(el("td", { className: "num" }, parts.join("  ")));
        });
        body.appendChild(tr);
      });
      append(container, el("div", { className: "table-wrap" }, el("table", { id: "group-table", className: "data" }, el("thead", null, head), body)));
    });
  };

  /** A <select>; each option a value or a [value, text] pair. */
  function select(id, options, value, onchange) {
    var s = el("select", { id: id, onchange: function (e) { onchange(e.target.value); } });
    options.forEach(function (o) {
      var v = Array.isArray(o) ? o[0] : o;
      var opt = el("option", { value: v }, Array.isArray(o) ? o[1] : o);
      if (v === value) opt.selected = true;
      s.appendChild(opt);
    });
    return s;
  }

  views.parallel = function (container) {
    var metrics = summaryKeys().map(label);
    if (!S.parallel.metric || metrics.indexOf(S.parallel.metric) < 0) S.parallel.metric = metrics[0] || null;
    append(container, el("div", { className: "toolbar" },
      el("label", null, "metric ", select("parallel-metric", metrics, S.parallel.metric, function (v) { S.parallel.metric = v; render(); })),
      el("span", { className: "note" }, "Drag along an axis to keep only the runs in that range; the table below follows."),
      el("button", { id: "clear-brush", disabled: !S.brush, onclick: function () { S.brush = null; S.brushIntervals = {}; render(); } }, "Clear brush")));
    var runs = visibleRunsWithoutBrush();
    // An axis per varying config key, except free text (strings with more than 50 distinct
    // values, a note or a path): a category axis of hundreds of labels reads as nothing.
    var skipped = [];
    var keys = varyingConfigKeys().filter(function (k) {
      var seen = new Set();
      for (var i = 0; i < runs.length && seen.size <= MAX_CATEGORIES; i++) {
        var v = cell(runs[i], k);
        if (v !== undefined && v !== null && !isNum(v)) seen.add(fmt(v));
      }
      if (seen.size > MAX_CATEGORIES) { skipped.push(label(k)); return false; }
      return true;
    });
    var dims = keys.concat(S.parallel.metric ? ["summary." + S.parallel.metric] : []);
    var axes = dims.map(function (k, i) {
      var values = runs.map(function (r) { return cell(r, k); }).filter(function (v) { return v !== undefined && v !== null; });
      var numeric = values.length && values.every(isNum);
      var axis = { id: "axis-" + k, dim: i, name: label(k), nameTextStyle: { fontWeight: k.indexOf("summary.") === 0 ? "bold" : "normal" } };
      if (numeric) {
        var min = Math.min.apply(null, values), max = Math.max.apply(null, values);
        // A config key swept over decades (lr 1e-4 ... 1e-1) reads on a log axis; metrics never do.
        var few = new Set(values).size <= 20;
        axis.type = k.indexOf("config.") === 0 && few && min > 0 && max / min >= 100 ? "log" : "value";
        axis.scale = true;
        if (axis.type === "log") { // the powers of ten around the values, not a decade beyond them
          axis.min = Math.pow(10, Math.floor(Math.log10(min) + 1e-9));
          axis.max = Math.pow(10, Math.ceil(Math.log10(max) - 1e-9));
        }
      } else {
        var cats = Array.from(new Set(values.map(fmt))).sort(function (a, b) { return a.localeCompare(b, undefined, { numeric: true }); });
        axis.type = "category";
        axis.data = cats;
      }
      return axis;
    });
    var data = runs.map(function (r) {
      return { name: r.name || r.id, value: dims.map(function (k, i) {
        var v = cell(r, k);
        if (v === undefined || v === null) return null;
        return axes[i].type === "category" ? fmt(v) : v;
      }) };
    });
    var chart = chartIn(container, "parallel-chart", 420);
    chart.off("axisareaselected");
    var metricDim = S.parallel.metric ? dims.length - 1 : -1;
    var metricValues = metricDim < 0 ? [] : data.map(function (d) { return d.value[metricDim]; }).filter(isNum);
    chart.setOption({
      animation: false,
      parallelAxis: axes,
      // lines coloured by the metric: the good runs stand out where they cross the config axes
      visualMap: metricValues.length ? { type: "continuous", show: false, dimension: metricDim, seriesIndex: 0,
        min: Math.min.apply(null, metricValues), max: Math.max.apply(null, metricValues),
        inRange: { color: ["#313695", "#4575b4", "#74add1", "#fdae61", "#f46d43", "#d73027"] } } : [],
      parallel: { left: 60, right: 90, top: 40, bottom: 30, parallelAxisDefault: { nameLocation: "end", nameGap: 14 } },
      tooltip: { trigger: "item", formatter: function (p) {
        var run = runs[p.dataIndex];
        if (!run) return "";
        return tooltipOf([run.name || run.id].concat(dims.map(function (k) { return label(k) + " = " + fmt(cell(run, k)); })));
      } },
      series: [{ id: "parallel-runs", type: "parallel", name: "runs", data: data, smooth: false,
        progressive: 500, progressiveThreshold: 3000,
        lineStyle: { width: 1.5, opacity: 0.6 }, inactiveOpacity: 0.05, activeOpacity: 1,
        emphasis: { lineStyle: { width: 3, opacity: 1 } } }],
    }, true);
    chart.on("axisareaselected", function (e) {
      if (e && typeof e.parallelAxisId === "string" && e.parallelAxisId.indexOf("axis-") === 0) {
        S.brushIntervals[e.parallelAxisId.slice(5)] = e.intervals || [];
      }
      var series = chart.getModel().getSeries()[0];
      var indices = series.getRawIndicesByActiveState("active");
      S.brush = indices.length === runs.length ? null : new Set(indices.map(function (i) { return runs[i].id; }));
      renderBrushNote();
      var t = $("parallel-table");
      if (t) { clear(t); renderRunsTable(t); }
      var c = $("clear-brush");
      if (c) c.disabled = !S.brush;
    });
    // A redraw (new runs, a new metric) keeps the ranges brushed on the axes that are still there.
    dims.forEach(function (k) {
      var intervals = S.brushIntervals[k];
      if (intervals && intervals.length) {
        chart.dispatchAction({ type: "axisAreaSelect", parallelAxisId: "axis-" + k, intervals: intervals });
      }
    });
    if (skipped.length) {
      append(container, el("div", { className: "note", id: "parallel-skipped" },
        "No axis for " + skipped.join(", ") + ": more than " + MAX_CATEGORIES + " distinct texts."));
    }
    if (!dims.length) append(container, el("div", { className: "empty" }, "No config key varies among these runs."));
    var tableBox = el("div", { id: "parallel-table" });
    append(container, tableBox);
    renderRunsTable(tableBox);
    return null;
  };
  function visibleRunsWithoutBrush() {
    var keep = S.brush;
    S.brush = null;
    var runs = visibleRuns();
    S.brush = keep;
    return runs;
  }
  function renderBrushNote() {
    var note = $("brush-note");
    note.hidden = !S.brush;
    note.textContent = S.brush ? "parallel-coordinates brush keeps " + S.brush.size + " runs" : "";
  }

  function smooth(values, weight) {
    if (!weight) return values;
    var last = 0, debias = 0, out = [];
    values.forEach(function (v) {
      if (!isNum(v)) { out.push(v); return; }
      last = last * weight + (1 - weight) * v;
      debias = debias * weight + (1 - weight);
      out.push(last / debias);
    });
    return out;
  }

  var metricNamesOf = {}; // run id -> the metric names it logged (from /api/run/<id>)
  function curveMetrics(ids) {
    var names = [];
    var add = function (m) { if (m && names.indexOf(m) < 0) names.push(m); };
    if (!LIVE) {
      embeddedNames(DATA.curves).forEach(add);
      return Promise.resolve(names.length ? names : summaryKeys().map(label));
    }
    var first = ids[0];
    var known = first && metricNamesOf[first];
    var ask = !first || known ? Promise.resolve(known || []) : source.run(first).then(function (run) {
      return (metricNamesOf[first] = (run && run.metrics) || []);
    }, function () { return []; });
    return ask.then(function (logged) {
      logged.forEach(function (m) { add(String(m)); });
      if (!names.length) summaryKeys().map(label).forEach(add);
      return names;
    });
  }

  views.curves = function (container) {
    var c = S.curves;
    var visible = visibleRuns();
    var ids;
    var note;
    if (c.mode === "groups") {
      ids = visible.map(function (r) { return r.id; });
      note = "bands over the " + ids.length + " runs shown in the table";
    } else if (S.selected.size) {
      ids = Array.from(S.selected);
      note = ids.length + " selected runs";
    } else {
      ids = visible.slice(0, DEFAULT_CURVE_RUNS).map(function (r) { return r.id; });
      note = "no runs selected: the first " + ids.length + " runs of the table (select runs with the checkboxes)";
    }
    return curveMetrics(ids).then(function (metrics) { return drawCurves(container, metrics, ids, note); });
  };

  function drawCurves(container, metrics, ids, note) {
    if (!S.curves.metric || metrics.indexOf(S.curves.metric) < 0) S.curves.metric = metrics[0] || null;
    var c = S.curves;
    var xInput = el("input", { id: "curves-x", value: c.x, size: 10, list: "curves-x-options", placeholder: "auto",
      title: "_step, _time or a step_metric (empty: the step_metric the runs share, else _step)",
      onchange: function (e) { c.x = e.target.value.trim(); render(); } });
    var xList = el("datalist", { id: "curves-x-options" }, el("option", { value: "_step" }), el("option", { value: "_time" }));
    var logBox = el("input", { type: "checkbox", id: "curves-log", onchange: function (e) { c.log = e.target.checked; render(); } });
    logBox.checked = c.log;
    var smoothInput = el("input", { type: "range", id: "curves-smooth", min: 0, max: 0.99, step: 0.01, value: c.smooth,
      onchange: function (e) { c.smooth = Number(e.target.value); render(); } });
    var modeSelect = select("curves-mode", ["runs", "groups"], c.mode, function (v) { c.mode = v; render(); });
    var groupKeys = configKeys();
    if (!c.groupKey || groupKeys.indexOf(c.groupKey) < 0) c.groupKey = varyingConfigKeys()[0] || groupKeys[0] || "";
    var groupSelect = select("curves-group", groupKeys.map(function (k) { return [k, label(k)]; }), c.groupKey, function (v) { c.groupKey = v; render(); });
    append(container, xList, el("div", { className: "toolbar" },
      el("label", null, "metric ", select("curves-metric", metrics, c.metric, function (v) { c.metric = v; render(); })),
      el("label", null, "x ", xInput),
      el("label", null, logBox, " log y"),
      el("label", null, "smoothing ", smoothInput, el("span", { className: "note" }, String(c.smooth))),
      el("label", null, "show ", modeSelect),
      c.mode === "groups" ? el("label", null, "mean ± std by ", groupSelect) : null));
    if (!c.metric || !ids.length) {
      append(container, el("div", { className: "empty" }, !c.metric ? "No metric to show." : "No runs to show."));
      return null;
    }
    var noteBox = el("div", { className: "note", id: "curves-note" }, note);
    append(container, noteBox);
    var chart = chartIn(container, "curves-chart", 440);
    return source.curves(ids, c.metric, c.x || null, c.mode === "groups" ? c.groupKey : null).then(function (answer) {
      if (!c.x && answer.x) xInput.placeholder = String(answer.x);
      if (answer.error) {
        append(container, el("div", { className: "error", id: "curves-error" }, errorText(answer.error)));
      }
      if (answer.downsampled) noteBox.textContent = note + "; down-sampled on the server to at most " + CURVE_POINTS + " points per curve";
      var series = [];
      var names = {};
      allRuns().forEach(function (r) { names[r.id] = r.name; });
      if (c.mode === "groups") {
        (answer.bands || []).forEach(function (b, i) {
          var color = PALETTE[i % PALETTE.length];
          var mean = smooth(b.mean || [], c.smooth), lo = smooth(b.lo || [], c.smooth), hi = smooth(b.hi || [], c.smooth);
          var xs = b.x || [];
          var pair = function (ys) { return xs.map(function (x, j) { return [x, ys[j]]; }).filter(function (p) { return isNum(p[1]) && (!c.log || p[1] > 0); }); };
          var upper = pair(hi), lower = pair(lo);
          series.push({ id: "band-" + i, type: "custom", name: String(b.label) + " ± std", color: color, silent: true, data: upper.concat(lower), z: 1,
            renderItem: function (params, api) {
              if (params.dataIndex !== 0) return null;
              var pts = upper.map(function (p) { return api.coord(p); }).concat(lower.slice().reverse().map(function (p) { return api.coord(p); }));
              return { type: "polygon", shape: { points: pts }, style: { fill: color, opacity: 0.2 } };
            }, encode: { x: 0, y: 1 }, tooltip: { show: false } });
          series.push({ id: "mean-" + i, type: "line", name: String(b.label), color: color, data: pair(mean), showSymbol: false,
            lineStyle: { width: 2, color: color }, itemStyle: { color: color }, sampling: "lttb", z: 2 });
        });
      } else {
        (answer.series || []).forEach(function (s, i) {
          var ys = smooth(s.y || [], c.smooth);
          var data = (s.x || []).map(function (x, j) { return [x, ys[j]]; }).filter(function (p) { return isNum(p[1]) && (!c.log || p[1] > 0); });
          series.push({ id: "run-" + s.run, type: "line", name: String(s.name || names[s.run] || s.run), data: data,
            showSymbol: data.length < 30, sampling: "lttb", lineStyle: { width: 1.5 }, color: PALETTE[i % PALETTE.length] });
        });
      }
      chart.setOption({
        animation: false,
        legend: { type: "scroll", top: 0, data: series.filter(function (s) { return s.type === "line"; }).map(function (s) { return s.name; }) },
        grid: { left: 60, right: 40, top: 56, bottom: 72 },
        tooltip: { trigger: "item", formatter: function (p) {
          return tooltipOf([p.seriesName, (answer.x || c.x || "_step") + " = " + fmt(p.value[0]), (answer.metric || c.metric) + " = " + fmt(p.value[1])]);
        } },
        dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }],
        // The name under the axis (not after its last tick), the axis ending at the last point.
        xAxis: { type: "value", name: answer.x || c.x || "_step", nameLocation: "middle", nameGap: 26, scale: true,
          max: "dataMax" },
        yAxis: { type: c.log ? "log" : "value", name: answer.metric || c.metric, scale: true },
        series: series,
      }, true);
      if (!series.length && !answer.error) {
        append(container, el("div", { className: "note", id: "curves-empty" }, "These runs logged no " + c.metric + (c.x ? " over " + c.x : "") + "."));
      }
    });
  }

  /** {"code": {"commit": "ab"}} -> {"code.commit": "ab"}; lists stay values. */
  function flatten(obj, prefix, out) {
    out = out || {};
    Object.keys(obj || {}).forEach(function (k) {
      var v = obj[k];
      if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) flatten(v, prefix + k + ".", out);
      else out[prefix + k] = v;
    });
    return out;
  }

  /** A flat summary with each media reference ({"_type": ..., "path": ...} flattened to key._type,
   * key.path, ...) folded back into one entry: its type and a link to its file (none in a report). */
  function foldMedia(flat, runId) {
    var out = {};
    var refs = {};
    Object.keys(flat || {}).forEach(function (k) {
      var dot = k.lastIndexOf(".");
      if (dot > 0 && k.slice(dot + 1) === "_type") refs[k.slice(0, dot)] = true;
    });
    Object.keys(flat || {}).forEach(function (k) {
      var dot = k.lastIndexOf(".");
      var ref = dot > 0 ? k.slice(0, dot) : "";
      if (refs[ref]) {
        if (k.slice(dot + 1) !== "_type") return;
        var path = flat[ref + ".path"];
        var size = isNum(flat[ref + ".width"]) && isNum(flat[ref + ".height"]) ? " " + flat[ref + ".width"] + "×" + flat[ref + ".height"] : "";
        var target = typeof path === "string" ? (source.fileURL ? el("a", { href: source.fileURL(runId, path), target: "_blank", rel: "noopener" }, path) : path) : "";
        out[ref] = el("span", { className: "media-ref" }, String(flat[k]) + size + (target ? " " : ""), target);
      } else out[k] = flat[k];
    });
    return out;
  }

  /** A small image (an 8x8 sample is a dot) drawn scaled up by a whole factor to about
   * THUMB px, its pixels kept sharp by the CSS (image-rendering: pixelated); large ones are
   * bounded by max-width / max-height there. */
  var THUMB = 128;
  function thumbnailSize(e) {
    var img = e.target, side = Math.max(img.naturalWidth, img.naturalHeight);
    if (!side || side >= THUMB) return;
    var scale = Math.floor(THUMB / side);
    img.style.width = img.naturalWidth * scale + "px";
    img.style.height = img.naturalHeight * scale + "px";
  }

  function kvTable(obj, amended, id) {
    var keys = Object.keys(obj || {}).sort();
    var amendedSet = new Set(amended || []);
    if (!keys.length) return el("div", { className: "note" }, "(none)");
    return el("table", { className: "kv", id: id }, el("tbody", null, keys.map(function (k) {
      var isAmended = amendedSet.has(k) || amendedSet.has("config." + k);
      return el("tr", { className: isAmended ? "amended" : "" }, el("th", null, k),
        el("td", { className: "mono" }, obj[k] instanceof Node ? obj[k] : fmt(obj[k]), isAmended ? el("span", { className: "badge", title: "changed by gitcfg amend" }, "amended") : null));
    })));
  }
  function diffBlock(text, id) {
    var pre = el("pre", { className: "diff", id: id });
    String(text).split("\n").forEach(function (line) {
      var cls = "";
      if (/^(diff --git|\+\+\+ |--- |index )/.test(line)) cls = "file";
      else if (line[0] === "+") cls = "add";
      else if (line[0] === "-") cls = "del";
      else if (line.indexOf("@@") === 0) cls = "hunk";
      pre.appendChild(el("span", { className: cls }, line));
    });
    return pre;
  }

  views.run = function (container, id) {
    if (!id) { append(container, el("div", { className: "empty" }, "Choose a run in the table.")); return null; }
    return source.run(id).then(function (run) {
      if (run.error) { append(container, el("div", { className: "error", id: "run-error" }, errorText(run.error))); return; }
      var meta = run.meta || {};
      append(container, el("h2", { id: "run-title" }, String(run.name || run.id), " ",
        el("span", { className: "note mono" }, String(run.id)), " ",
        el("span", { className: "st-" + run.status }, String(run.status || ""))));
      if (run.partial) append(container, el("div", { className: "note" }, "This report embeds the table row of this run only; files, metrics and history need `gitcfg ui`."));
      var code = meta.code && typeof meta.code === "object" ? meta.code.commit : meta.code;
      append(container, el("div", { className: "cols" },
        el("div", null, el("h3", null, "Metadata"), kvTable(flatten(meta, ""), null, "run-meta")),
        el("div", null, el("h3", null, "Config"), kvTable(run.config, run.amended, "run-config")),
        el("div", null, el("h3", null, "Summary"), kvTable(foldMedia(run.summary, run.id), null, "run-summary"))));
      if (code) {
        append(container, el("div", null, "code commit ", el("span", { className: "mono", id: "run-code" }, String(code)),
          meta.code && meta.code.dirty ? " with uncommitted changes (diff.patch below)" : ""));
      }
      if (run.partial) return;
      var metrics = run.metrics || [];
      append(container, el("h3", null, "Metrics"), metrics.length ? el("div", { className: "metric-list", id: "run-metrics" }, metrics.map(function (m) {
        return el("button", { title: "curve of " + m, onclick: function () {
          S.selected = new Set([run.id]); S.curves.metric = String(m); S.curves.mode = "runs"; location.hash = "#curves";
        } }, String(m));
      })) : el("div", { className: "note" }, "(none)"));
      var files = run.files || [];
      append(container, el("h3", null, "Files"), files.length ? el("table", { className: "kv", id: "run-files" }, el("tbody", null, files.map(function (f) {
        var name = String(f.path);
        var link = source.fileURL ? el("a", { href: source.fileURL(run.id, name), target: "_blank", rel: "noopener" }, name) : name;
        return el("tr", null, el("td", { className: "mono" }, link), el("td", { className: "num" }, fmt(f.size)));
      }))) : el("div", { className: "note" }, "(none)"));
      var media = (run.media || []).filter(function (m) { return !m.type || /image/.test(m.type); });
      if (media.length) {
        append(container, el("h3", null, "Media"), el("div", { className: "media", id: "run-media" }, media.map(function (m) {
          var caption = String(m.key) + (m.step !== undefined && m.step !== null ? " @ step " + m.step : "");
          return el("figure", null, source.fileURL ? el("img", { src: source.fileURL(run.id, m.path), alt: caption, loading: "lazy", onload: thumbnailSize }) :
            el("div", { className: "note" }, String(m.path)), el("figcaption", null, caption));
        })));
      }
      append(container, el("h3", null, "Uncommitted changes (diff.patch)"),
        run.patch ? diffBlock(run.patch, "run-patch") : el("div", { className: "note" }, "(none: the code was clean)"));
      var history = run.history || [];
      append(container, el("h3", null, "History"), history.length ? el("table", { className: "data", id: "run-history" },
        el("thead", null, el("tr", null, el("th", null, "date"), el("th", null, "commit"), el("th", null, "author"), el("th", null, "message"))),
        el("tbody", null, history.map(function (h) {
          return el("tr", null, el("td", null, String(h.date || "")), el("td", { className: "mono" }, short(h.commit)),
            el("td", null, String(h.author || "")), el("td", null, String(h.message || "")));
        }))) : el("div", { className: "note" }, "(none)"));
    });
  };

  views.compare = function (container, arg) {
    var ids = arg ? arg.split(",").map(decodeURIComponent).filter(Boolean) : Array.from(S.selected);
    if (ids.length < 2) {
      append(container, el("div", { className: "empty" }, "Select two or more runs in the table (checkboxes), then Compare."));
      return null;
    }
    return source.compare(ids).then(function (answer) {
      if (answer.error) { append(container, el("div", { className: "error", id: "compare-error" }, errorText(answer.error))); return; }
      var runs = answer.runs || [];
      var keys = answer.keys || [];
      append(container, el("h2", null, "Compare " + runs.length + " runs"));
      var head = el("tr", null, el("th", null, "key"), runs.map(function (r) {
        return el("th", null, el("a", { href: "#run/" + encodeURIComponent(r.id) }, String(r.name || shortId(r.id))));
      }));
      var body = el("tbody", null, keys.map(function (k) {
        var key = String(k.key);
        var kind = key.indexOf("config.") === 0 ? "kind-config" : key.indexOf("summary.") === 0 ? "kind-summary" : "";
        return el("tr", null, el("th", { title: key, className: kind }, label(key)), (k.values || []).map(function (v) { return el("td", { className: "differs mono" }, fmt(v)); }));
      }));
      append(container, keys.length ? el("div", { className: "table-wrap" }, el("table", { className: "data", id: "compare-table" }, el("thead", null, head), body))
        : el("div", { className: "note", id: "compare-same" }, "These runs have the same config."));
      append(container, el("h3", null, "Code diff between their commits"));
      if (answer.code_diff) append(container, diffBlock(answer.code_diff, "compare-code-diff"));
      else if (answer.note) append(container, el("div", { className: "note" }, String(answer.note)));
      else if (answer.code_diff === "") append(container, el("div", { className: "note", id: "compare-same-code" }, "(the same code)"));
      else append(container, el("div", { className: "note" }, "(not available: a code commit of these runs is not in this clone)"));
    });
  };

  // ---------------------------------------------------------------- routing and rendering

  function parseRoute() {
    var h = decodeURI(location.hash.replace(/^#\/?/, ""));
    var slash = h.indexOf("/");
    var view = slash < 0 ? h : h.slice(0, slash);
    var arg = slash < 0 ? "" : location.hash.replace(/^#\/?/, "").slice(location.hash.replace(/^#\/?/, "").indexOf("/") + 1);
    if (!views[view]) view = "runs";
    if (view === "run") arg = decodeURIComponent(arg);
    S.route = { view: view, arg: arg };
  }

  var renderSeq = 0;
  function render() {
    var seq = ++renderSeq;
    var view = S.route.view;
    Array.prototype.forEach.call(document.querySelectorAll("#nav a"), function (a) {
      a.classList.toggle("active", a.dataset.view === view);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".view"), function (v) {
      v.hidden = v.id !== "view-" + view;
      if (v.hidden) clear(v); // one view in the document at a time: its ids are unique
    });
    renderBrushNote();
    var scroll = window.scrollY;
    // A live redraw must not throw the reader back to the top of a scrolled table.
    var wraps = Array.prototype.map.call(document.querySelectorAll("#view-" + view + " .table-wrap"), function (w) {
      return [w.scrollTop, w.scrollLeft];
    });
    // A fresh box per render: a slower, older render writes into its own detached box. Chart divs
    // and their instances live on in chartDivs across re-renders.
    var container = el("div", { className: "view-body" });
    append(clear($("view-" + view)), container);
    if (!S.runs) {
      append(container, el("div", { className: "empty" }, "Loading…"));
      return Promise.resolve();
    }
    var result;
    try { result = views[view](container, S.route.arg); }
    catch (e) { showFailure(e); }
    return Promise.resolve(result).then(function () {
      if (seq !== renderSeq) return;
      window.scrollTo(0, scroll);
      Array.prototype.forEach.call(document.querySelectorAll("#view-" + view + " .table-wrap"), function (w, i) {
        if (wraps[i]) { w.scrollTop = wraps[i][0]; w.scrollLeft = wraps[i][1]; }
      });
      document.body.dataset.view = view;
      document.body.dataset.rendered = String(seq);
    }).catch(showFailure);
  }
  function showFailure(e) {
    if (e === STALE) return;
    var box = $("view-" + S.route.view);
    append(box, el("div", { className: "error" }, "gitcfg ui: " + (e && e.message ? e.message : String(e))));
  }

  function renderStatus(version) {
    var box = clear($("status"));
    if (LIVE) {
      var tip = (version && version.tip) || (S.runs && S.runs.tip);
      append(box, el("span", { className: "live" }, "● live"), " ",
        version && version.live ? version.live + " running · " : "", tip ? "tip " + short(tip) : "no runs branch yet");
    } else {
      append(box, "report");
    }
  }

  function renderReportHeader() {
    var h = DATA.header || {};
    var box = clear($("report-header"));
    box.hidden = false;
    var order = ["range", "where", "group_by", "metrics", "generated", "tip", "runs", "downsampled", "note"];
    var keys = order.filter(function (k) { return k in h; }).concat(Object.keys(h).filter(function (k) { return order.indexOf(k) < 0; }))
      .filter(function (k) { return !(Array.isArray(h[k]) && !h[k].length); }); // no "warnings:" when there are none
    append(box, el("strong", null, "gitcfg report"), el("dl", null, keys.map(function (k) {
      var v = h[k];
      if (v === null || v === undefined || v === "") v = k === "where" ? "(no filter)" : k === "range" ? "(all runs)" : "–";
      return el("div", { className: "pair" }, el("dt", null, k.replace(/_/g, " ")), el("dd", null, Array.isArray(v) ? v.map(fmt).join(", ") : fmt(v)));
    })));
    var note = $("where-note");
    note.hidden = false;
    note.textContent = "A report holds the runs above; a new --where or range needs `gitcfg ui`. The filter box filters these runs by text.";
    $("where-form").hidden = true;
  }

  function refresh() {
    return loadRuns().then(function () {
      // Someone typing in a box of the view: redraw once they leave it, not under their cursor.
      var active = document.activeElement;
      var view = $("view-" + S.route.view);
      if (active && active !== document.body && view.contains(active) && /^(INPUT|SELECT)$/.test(active.tagName) &&
          active.type !== "checkbox") {
        S.pendingRender = true;
        return;
      }
      return render();
    }).catch(function (e) { showFailure(e); });
  }

  var polling = false;
  function poll() {
    if (polling) return;
    polling = true;
    getJSON("/api/version").then(function (v) {
      renderStatus(v);
      if (v.generation !== S.generation) {
        S.generation = v.generation;
        return refresh().then(function () { document.body.dataset.generation = String(v.generation); });
      }
    }).catch(function () {
      var box = clear($("status"));
      append(box, "server not answering");
    }).then(function () { polling = false; });
  }

  function start() {
    parseRoute();
    window.addEventListener("hashchange", function () { parseRoute(); S.rowLimit = PAGE_ROWS; render(); });
    // An open chooser (Columns, group keys) closes on a click outside it or on Escape.
    function closeChoosers(keep) {
      Array.prototype.forEach.call(document.querySelectorAll("details.chooser[open]"), function (d) {
        if (!keep || !d.contains(keep)) d.open = false;
      });
    }
    document.addEventListener("click", function (e) {
      if (document.contains(e.target)) closeChoosers(e.target); // a re-rendered box's old checkbox: no outside click
    });
    document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeChoosers(null); });
    window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
    $("where-form").addEventListener("submit", function (e) {
      e.preventDefault();
      if (!LIVE) return;
      S.where = $("where-input").value.trim();
      S.range = $("range-input").value.trim();
      refresh();
    });
    document.querySelector("main").addEventListener("focusout", function () {
      if (S.pendingRender) { S.pendingRender = false; setTimeout(render, 0); }
    });
    var quickTimer = null;
    $("quick-filter").addEventListener("input", function (e) {
      clearTimeout(quickTimer);
      quickTimer = setTimeout(function () { S.quick = e.target.value.trim(); S.rowLimit = PAGE_ROWS; render(); }, 120);
    });
    if (LIVE) {
      renderStatus(null);
      poll();
      setInterval(poll, 1000);
    } else {
      renderReportHeader();
      renderStatus(null);
      refresh().then(function () { document.body.dataset.generation = "report"; });
    }
  }

  window.gitcfgUI = { state: S, charts: charts, refresh: refresh };
  start();
})();
