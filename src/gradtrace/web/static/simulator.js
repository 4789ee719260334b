// Simulator page: sliders -> GTSim (computed here, no server round trip) -> facts, chart, table.
"use strict";

(function () {
  var S = window.GTSim;
  var EPS = 1e-3;
  var $ = function (id) { return document.getElementById(id); };
  var state = {mode: "time"};
  var MODES = {
    time: {factorLabel: "Decay factor γ", stepsLabel: "Time steps T", stepsMin: 1, stepsMax: 200, steps: 50, factor: 0.9},
    layers: {factorLabel: "Weight scale w", stepsLabel: "Layers L", stepsMin: 1, stepsMax: 50, steps: 5, factor: 0.5},
  };
  var updates = 0;

  function read() {
    var factor = Number($("factor").value);
    var steps = Number($("steps").value);
    var activation = $("activation").value;
    var peak = S.PEAK_DERIVATIVE[activation];
    return {factor: factor, steps: steps, activation: activation, peak: peak, effective: factor * peak};
  }

  function drawFacts(s, items) {
    var facts = $("facts");
    facts.innerHTML = "";
    items.forEach(function (f) {
      var node = GT.fact(f[0], f[1], f[2]);
      if (f[3]) node.id = f[3];
      facts.appendChild(node);
    });
  }

  function timeMode(s) {
    var curve = S.decayCurve(s.effective, s.steps);
    var last = curve[curve.length - 1];
    var until = S.stepsUntil(s.effective, EPS);
    var regime = S.regimeOf(s.effective);
    var untilText = until.steps === null ? "never"
      : until.steps + " steps";
    drawFacts(s, [
      ["effective factor per step", S.formatValue(s.effective), "", "fact-effective"],
      ["left after T = " + s.steps + " steps", last[2], GT.tone(regime), "fact-final"],
      [regime === "exploding" ? "steps until above 1/eps = 1000" : "steps until below eps = 0.001",
       untilText, "", "fact-until"],
      ["regime", regime, GT.tone(regime), "fact-regime"],
    ]);
    $("formula").textContent =
      "g_k / g_0 = (γ · max|φ'|)^k = (" + S.formatParam(s.factor) + " × " + S.formatParam(s.peak) + ")^k\n" +
      "k = " + s.steps + ":  " + S.formatValue(s.effective) + "^" + s.steps + " = " + last[2];
    var x = curve.map(function (_, k) { return k; });
    var logs = curve.map(function (c) { return c[1]; });  // log10 g_k, exact beyond the double range
    var traces = [
      {x: x, y: logs, mode: "lines", name: "g_k / g_0", line: {color: GT.color(0), width: 3},
       text: curve.map(function (c) { return c[2]; }), hovertemplate: "k = %{x}<br>%{text}<extra></extra>"},
      {x: [0, s.steps], y: [0, 0], mode: "lines", name: "1", line: {color: "#9ca3af", dash: "dot", width: 1.5}, hoverinfo: "skip"},
      {x: [0, s.steps], y: [-3, -3], mode: "lines", name: "eps = 0.001", line: {color: "#dc2626", dash: "dot", width: 1.5}, hoverinfo: "skip"},
    ];
    var layout = GT.layout({title: "Gradient reaching k steps back", x: "steps back k", y: "g_k / g_0 (log scale)"});
    Object.assign(layout.yaxis, GT.powerAxis(logs.concat([0, -3])));
    return {traces: traces, layout: layout};
  }

  function layersMode(s) {
    var result = S.layerGradients(s.effective, s.steps, 10);
    var first = result.layers[0];
    drawFacts(s, [
      ["effective factor per layer", S.formatValue(s.effective), "", "fact-effective"],
      ["layer 1 gets (× layer " + s.steps + ")", first.text, GT.tone(result.verdict), "fact-final"],
      ["verdict (band 10×)", result.verdict, GT.tone(result.verdict === "stable" ? "healthy" : result.verdict), "fact-regime"],
    ]);
    $("formula").textContent =
      "gradient at layer i ∝ (w · max|φ'|)^(L − i) = (" + S.formatParam(s.factor) + " × " + S.formatParam(s.peak) + ")^(" + s.steps + " − i)\n" +
      "layer 1: " + S.formatValue(s.effective) + "^" + (s.steps - 1) + " = " + first.text;
    var traces = [{
      x: result.layers.map(function (l) { return l.layer; }),
      y: result.layers.map(function (l) { return l.log10; }),
      text: result.layers.map(function (l) { return l.text; }),
      mode: "lines+markers", name: "gradient at layer i", line: {color: GT.color(0), width: 3}, marker: {size: 8},
      hovertemplate: "layer %{x}<br>%{text}<extra></extra>",
    }];
    var layout = GT.layout({title: "Gradient reaching each layer (last layer = 1)", x: "layer i (1 = farthest from the loss)", y: "relative gradient (log scale)", showlegend: false});
    layout.xaxis.dtick = s.steps > 20 ? 5 : 1;
    Object.assign(layout.yaxis, GT.powerAxis(traces[0].y.concat([0])));
    return {traces: traces, layout: layout};
  }

  function drawTable(s) {
    var factors = S.SEED_FACTORS.slice();
    var current = s.effective;
    var known = factors.some(function (f) { return Math.abs(f - current) < 1e-12; });
    if (!known) factors.push(current);
    factors.sort(function (a, b) { return b - a; });
    var head = GT.el("tr", {}, [GT.el("th", {text: "factor γ"})].concat(
      S.SEED_STEPS.map(function (k) { return GT.el("th", {text: "after " + k + " steps"}); }),
      [GT.el("th", {text: "regime"})]));
    var rows = factors.map(function (f) {
      var isCurrent = Math.abs(f - current) < 1e-12;
      var cells = [GT.el("td", {class: "num", text: S.formatValue(f) + (isCurrent ? " (current)" : "")})];
      S.SEED_STEPS.forEach(function (k) { cells.push(GT.el("td", {class: "num", text: S.magnitude(f, k)[2]})); });
      var regime = GT.el("td", {}, [GT.badge(S.regimeOf(f))]);
      cells.push(regime);
      var tr = GT.el("tr", {class: isCurrent ? "current" : ""}, cells);
      return tr;
    });
    var table = GT.el("table", {id: "decay"}, [GT.el("thead", {}, [head]), GT.el("tbody", {}, rows)]);
    var wrap = $("decay-table");
    wrap.innerHTML = "";
    wrap.appendChild(table);
  }

  // Recompute and redraw everything; returns nothing. Benchmarks time this function.
  function update() {
    var s = read();
    $("factor-val").textContent = S.formatParam(s.factor);
    $("steps-val").textContent = String(s.steps);
    var fig = state.mode === "time" ? timeMode(s) : layersMode(s);
    Plotly.react("sim-plot", fig.traces, fig.layout, GT.CONFIG);
    drawTable(s);
    updates += 1;
    document.body.dataset.updates = String(updates);
  }

  function setMode(mode) {
    state.mode = mode;
    var m = MODES[mode];
    document.querySelectorAll("#mode-seg button").forEach(function (b) {
      b.classList.toggle("on", b.dataset.mode === mode);
    });
    $("factor-name").textContent = m.factorLabel;
    $("steps-name").textContent = m.stepsLabel;
    $("steps").min = m.stepsMin;
    $("steps").max = m.stepsMax;
    $("steps").value = m.steps;
    $("factor").value = m.factor;
    update();
  }

  document.querySelectorAll("#mode-seg button").forEach(function (b) {
    b.addEventListener("click", function () { setMode(b.dataset.mode); });
  });
  // slider events arrive faster than frames: redraw at most once per frame
  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; update(); });
  }
  ["factor", "steps"].forEach(function (id) { $(id).addEventListener("input", schedule); });
  $("activation").addEventListener("change", update);
  window.simUpdate = update;
  window.simSetMode = setMode;
  setMode("time");
})();
