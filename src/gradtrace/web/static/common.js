// gradtrace lab: helpers shared by the three pages (fetching, plotting, small DOM builders).
"use strict";

var GT = window.GT || {};
window.GT = GT;

// gradtrace.plotting.PALETTE, the same ten colours in the same order (a test holds them equal):
// Paul Tol's colour-blind-safe "muted" scheme plus a dark grey.
GT.PALETTE = ["#332288", "#CC6677", "#117733", "#88CCEE", "#882255", "#DDCC77", "#44AA99",
              "#AA4499", "#999933", "#555555"];
GT.color = function (i) { return GT.PALETTE[i % GT.PALETTE.length]; };

GT.TONES = {
  healthy: "good", solved: "good", pass: "good", supported: "good",
  vanishing: "bad", exploding: "bad", "non-finite": "bad", diverged: "bad", failed: "bad",
  fail: "bad", refuted: "bad", unsolved: "warn", partly: "warn", mixed: "warn",
  "over-sensitive (curse of memory)": "bad",
};
GT.tone = function (word) { return GT.TONES[String(word).trim().toLowerCase()] || "neutral"; };

// Build an element: GT.el("div", {class: "x"}, [children or text]).
GT.el = function (tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (k === "text") node.textContent = attrs[k];
    else node.setAttribute(k, attrs[k]);
  });
  (children || []).forEach(function (c) {
    node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  });
  return node;
};

// POST/GET JSON; throws an Error whose message is the server's one-line "detail".
GT.api = async function (url, body) {
  var options = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  };
  var response = await fetch(url, options);
  var data = await response.json().catch(function () { return {}; });
  if (!response.ok) {
    var detail = typeof data.detail === "string" ? data.detail : response.status + " " + response.statusText;
    throw new Error(detail);
  }
  return data;
};

GT.AXIS = {gridcolor: "#e5e7eb", linecolor: "#9ca3af", zeroline: false, showline: true,
           ticks: "outside", tickcolor: "#9ca3af"};

// A Plotly layout in the lab's style.
GT.layout = function (opts) {
  opts = opts || {};
  return {
    title: {text: opts.title || "", x: 0.01, xanchor: "left", font: {size: 15}},
    font: {family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#1f2937"},
    paper_bgcolor: "white", plot_bgcolor: "white",
    // automargin and a standoff keep axis titles clear of the tick labels; the legend sits
    // to the right of the plot (Plotly widens the margin for it), clear of both axis titles
    margin: {l: 56, r: 16, t: opts.title ? 44 : 16, b: 44},
    xaxis: Object.assign({}, GT.AXIS, {title: {text: opts.x || "", standoff: 8}, automargin: true,
                                        type: opts.xlog ? "log" : "linear"}, opts.xaxis || {}),
    yaxis: Object.assign({}, GT.AXIS, {title: {text: opts.y || "", standoff: 8}, automargin: true,
                                        type: opts.ylog ? "log" : "linear",
                                        exponentformat: opts.ylog ? "power" : "B"}, opts.yaxis || {}),
    legend: {orientation: "v", x: 1.02, xanchor: "left", y: 1, yanchor: "top", font: {size: 11}},
    hoverlabel: {namelength: -1},
    showlegend: opts.showlegend !== false,
  };
};
GT.CONFIG = {responsive: true, displaylogo: false};

// A linear axis of log10 values labelled as powers of ten: cheaper to redraw than a log axis and
// able to show magnitudes beyond the double range (1e-400 is just -400 here).
GT.powerAxis = function (logs) {
  var lo = Math.min.apply(null, logs), hi = Math.max.apply(null, logs);
  var step = Math.max(1, Math.ceil((hi - lo) / 8));
  var vals = [], text = [];
  for (var k = Math.ceil(lo / step) * step; k <= hi; k += step) {
    vals.push(k);
    text.push(k === 0 ? "1" : k === 1 ? "10" : "10<sup>" + k + "</sup>");
  }
  var pad = Math.max(0.2, 0.04 * (hi - lo));
  return {type: "linear", tickvals: vals, ticktext: text, range: [lo - pad, hi + pad]};
};

// On a log axis spanning 1.5+ decades, label whole decades only (at most ~8 labels).
GT.decadeTicks = function (values) {
  var lo = Infinity, hi = -Infinity;
  values.forEach(function (v) {
    if (v > 0) { var l = Math.log10(v); if (l < lo) lo = l; if (l > hi) hi = l; }
  });
  if (!(hi - lo >= 1.5)) return {};
  return {dtick: Math.max(1, Math.ceil((hi - lo) / 8))};
};

GT.fact = function (label, value, tone) {
  return GT.el("div", {class: "fact " + (tone || "")}, [
    GT.el("div", {class: "label", text: label}), GT.el("div", {class: "value", text: String(value)}),
  ]);
};

GT.badge = function (word) {
  var tone = GT.tone(word);
  return tone === "neutral" ? document.createTextNode(String(word))
    : GT.el("span", {class: "badge " + tone, text: String(word)});
};

GT.fmtCell = function (v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") {
    if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
    return Number(v.toPrecision(4)).toString();
  }
  return String(v);
};

var BADGE_COLUMNS = ["verdict", "status", "result", "outcome", "solved"];

// A table from {title, columns, rows, note}.
GT.table = function (t) {
  var wrap = GT.el("div", {}, []);
  if (t.title) wrap.appendChild(GT.el("h3", {text: t.title}));
  var head = GT.el("tr", {}, t.columns.map(function (c) { return GT.el("th", {text: c}); }));
  var body = t.rows.map(function (row) {
    return GT.el("tr", {}, row.map(function (v, i) {
      var col = String(t.columns[i] || "").toLowerCase();
      var wantsBadge = BADGE_COLUMNS.some(function (w) { return col.indexOf(w) >= 0; });
      var td = GT.el("td", {class: typeof v === "number" ? "num" : ""}, []);
      td.appendChild(wantsBadge ? GT.badge(GT.fmtCell(v)) : document.createTextNode(GT.fmtCell(v)));
      return td;
    }));
  });
  wrap.appendChild(GT.el("div", {class: "table-wrap"}, [
    GT.el("table", {}, [GT.el("thead", {}, [head]), GT.el("tbody", {}, body)]),
  ]));
  if (t.note) wrap.appendChild(GT.el("p", {class: "note", text: t.note}));
  return wrap;
};

// Mark the current page in the top navigation.
document.addEventListener("DOMContentLoaded", function () {
  var path = window.location.pathname === "/" ? "/simulator" : window.location.pathname;
  document.querySelectorAll("nav.top a.page").forEach(function (a) {
    if (a.getAttribute("href") === path) a.classList.add("active");
  });
});
