// Probe lab: run real models on the server, overlay their gradient profiles, inspect one.
"use strict";

(function () {
  var form = document.getElementById("probe-form");
  var runs = [];  // {id, color, label, result}
  var selected = null;
  var nextId = 0;
  var $ = function (id) { return document.getElementById(id); };

  function fillSelect(select, values, chosen) {
    select.innerHTML = "";
    values.forEach(function (v) {
      var o = GT.el("option", {value: v, text: v});
      if (v === chosen) o.selected = true;
      select.appendChild(o);
    });
  }

  var schema = null;  // the server's constraints (/api/options): the form offers only these
  var labels = {};  // cell -> its name in words ("LRU", "minGRU")
  var defaults = {};  // the server's value of each field a request leaves out
  var FIELDS = ["r_min", "r_max", "max_phase", "state_size", "horizon"];  // frontier cells only

  // The work units of a request, as the server counts them (schema.work.formula).
  function workOf(req) {
    var w = schema.work, cost = w.cost[req.cell] || [1, 0, 0];
    var state = cost[1] ? (req.state_size || w.state_default[req.cell] || req.hidden_size) : 0;
    var perStep = req.batch_size * (cost[0] * req.hidden_size + cost[1] * state) + cost[2] * req.hidden_size;
    return req.seq_len * req.num_layers * req.hidden_size * perStep;
  }

  // The LRU ring must keep r_min < r_max (an unset one is the paper's default).
  function ringProblem(req) {
    if (req.cell !== "lru") return "";
    var d = schema.field_defaults;
    var lo = req.r_min === null ? d.r_min : req.r_min, hi = req.r_max === null ? d.r_max : req.r_max;
    return lo < hi ? "" : "The LRU ring needs r_min < r_max (r_min = " + lo + ", r_max = " + hi + ").";
  }

  // Offer only the options the server accepts for the chosen cell; explain the size limit.
  function applyConstraints() {
    if (!schema) return;
    var cell = $("cell").value;
    var allowed = function (select, values) {
      Array.from(select.options).forEach(function (o) { o.disabled = values.indexOf(o.value) < 0; });
      if (values.indexOf(select.value) < 0) select.value = values[0];
      select.disabled = values.length < 2;
    };
    allowed($("activation"), schema.activations_by_cell[cell]);
    allowed($("init"), schema.inits_by_cell[cell]);
    var init = $("init").value;
    $("forget_bias").disabled = schema.forget_bias_cells.indexOf(cell) < 0;
    if ($("forget_bias").disabled) $("forget_bias").value = "";
    $("layer_norm").disabled = schema.layer_norm_cells.indexOf(cell) < 0;
    if ($("layer_norm").disabled) $("layer_norm").checked = false;
    var shown = 0;
    FIELDS.forEach(function (f) {
      var applies = schema.fields_by_cell[f].indexOf(cell) >= 0;
      document.querySelector("#cell-fields [data-field=" + f + "]").hidden = !applies;
      $(f).disabled = !applies;
      if (!applies) $(f).value = "";
      shown += applies ? 1 : 0;
    });
    $("cell-fields").hidden = shown === 0;
    var d = schema.field_defaults;
    $("r_min").placeholder = String(d.r_min);
    $("r_max").placeholder = String(d.r_max);
    $("max_phase").placeholder = "2π";
    $("state_size").placeholder = cell === "lru" ? "H" : String(schema.work.state_default[cell] || "");
    $("horizon").placeholder = String(d.horizon);
    var noScale = schema.inits_without_scale.indexOf(init) >= 0;
    $("init_scale").disabled = noScale;
    if (noScale) $("init_scale").value = "";
    var least = schema.scale_minimum[init];
    $("init_scale").min = least === undefined ? "0" : String(least);
    $("init_scale").required = schema.scale_required.indexOf(init) >= 0;
    $("init_scale").placeholder = $("init_scale").required ? "needed (>= " + least + ")" : "auto";
    var req = request();
    var w = schema.work;
    var work = workOf(req);
    var tooBig = work > w.max;
    var ring = ringProblem(req);
    $("work-note").textContent = tooBig
      ? "Too large for the lab: work = " + w.formula + " = " + work.toExponential(2) + " > " + w.max.toExponential(0) +
        " (a, b, c = " + w.cost[cell].join(", ") + " for " + (labels[cell] || cell) + "); lower one of them."
      : ring;
    $("work-note").classList.toggle("error", tooBig || ring !== "");
    $("run-probe").disabled = tooBig || ring !== "" || busy;
  }

  function setCell(cell) {
    var changed = $("cell").value !== cell;
    $("cell").value = cell;
    if (changed && schema) $("activation").value = schema.activations_by_cell[cell][0];  // the cell's own
    document.querySelectorAll("#cell-seg button").forEach(function (b) {
      b.classList.toggle("on", b.dataset.value === cell);
    });
    applyConstraints();
  }

  // One button per cell the server offers (torch's, then the frontier's).
  function cellButtons(cells) {
    var seg = $("cell-seg");
    seg.innerHTML = "";
    cells.forEach(function (c) {
      var b = GT.el("button", {type: "button", "data-value": c, text: labels[c] || c});
      b.addEventListener("click", function () { setCell(c); });
      seg.appendChild(b);
    });
  }

  async function loadOptions() {
    var opts = await GT.api("/api/options");
    schema = opts.constraints;
    labels = opts.cell_labels || {};
    defaults = opts.defaults || {};
    cellButtons(opts.cells);
    fillSelect($("activation"), opts.activations, "tanh");
    fillSelect($("init"), opts.inits, "default");
    opts.tasks.forEach(function (t) { $("task").appendChild(GT.el("option", {value: t, text: "task: " + t})); });
    ["hidden_size", "num_layers", "seq_len", "batch_size"].forEach(function (k) {
      $(k).max = opts.bounds[k];
      $(k).title = "at most " + opts.bounds[k];
    });
    $("state_size").max = opts.bounds.hidden_size;  // ProbeRequest's bounds on the two
    $("horizon").max = opts.bounds.seq_len;
    setCell("rnn");
  }

  function request() {
    var num = function (id) { var v = $(id).value; return v === "" ? null : Number(v); };
    var req = {
      cell: $("cell").value,
      activation: $("activation").value,
      init: $("init").value,
      init_scale: num("init_scale"),
      forget_bias: $("forget_bias").disabled ? null : num("forget_bias"),
      hidden_size: num("hidden_size"),
      num_layers: num("num_layers"),
      seq_len: num("seq_len"),
      batch_size: num("batch_size"),
      seed: num("seed"),
      layer_norm: $("layer_norm").checked,
      residual: $("residual").checked,
      task: $("task").value || null,
    };
    FIELDS.forEach(function (f) { req[f] = $(f).disabled ? null : num(f); });
    return req;
  }

  function drawProfiles() {
    var relative = $("relative").checked;
    var traces = [];
    runs.forEach(function (run) {
      run.result.layers.forEach(function (layer, j) {
        var y = relative ? layer.relative : layer.g;
        var many = run.result.layers.length > 1;
        traces.push({
          x: y.map(function (_, k) { return k; }), y: y, mode: "lines",
          name: "#" + run.id + " " + run.label + (many ? " · " + layer.name : ""),
          legendgroup: "run" + run.id,
          line: {color: run.color, width: run.id === selected ? 3 : 2, dash: ["solid", "dot", "dash", "dashdot"][j % 4]},
        });
      });
    });
    var layout = GT.layout({
      title: relative ? "Relative gradient r<sub>k</sub> against lag" : "Gradient norm g against lag",
      x: "lag k = T − t", y: relative ? "r<sub>k</sub> = g<sub>T−k</sub> / g<sub>T</sub>" : "g<sub>T−k</sub>", ylog: true,
    });
    Object.assign(layout.yaxis, GT.decadeTicks([].concat.apply([], traces.map(function (t) { return t.y; }))));
    if (!traces.length) {
      layout.xaxis.visible = false;
      layout.yaxis.visible = false;
      layout.annotations = [{text: "Run a probe to see its profile", showarrow: false,
        xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: {color: "#6b7280", size: 14}}];
    }
    Plotly.react("profile-plot", traces, layout, GT.CONFIG);
  }

  function drawRuns() {
    var ul = $("runs");
    ul.innerHTML = "";
    if (!runs.length) { ul.appendChild(GT.el("li", {class: "note", text: "No probe yet."})); return; }
    runs.forEach(function (run) {
      var remove = GT.el("button", {type: "button", class: "small", title: "remove", text: "×"});
      remove.addEventListener("click", function (ev) {
        ev.stopPropagation();
        runs = runs.filter(function (r) { return r.id !== run.id; });
        if (selected === run.id) selected = runs.length ? runs[runs.length - 1].id : null;
        refresh();
      });
      var li = GT.el("li", {"data-run": String(run.id)}, [
        GT.el("span", {class: "swatch", style: "background:" + run.color}),
        GT.el("span", {class: "label", text: "#" + run.id + " " + run.label}),
        GT.badge(run.result.verdict), remove,
      ]);
      li.style.cursor = "pointer";
      if (run.id === selected) li.style.fontWeight = "600";
      li.addEventListener("click", function () { selected = run.id; refresh(); });
      ul.appendChild(li);
    });
  }

  function fmt(v, digits) {
    if (v === null || v === undefined) return "beyond T";
    return Number(v).toPrecision(digits || 4);
  }

  // Points on the circle |z| = r from angle a to b (radians).
  function arc(r, a, b, n) {
    var x = [], y = [];
    for (var i = 0; i <= n; i++) {
      var t = a + (b - a) * i / n;
      x.push(r * Math.cos(t)); y.push(r * Math.sin(t));
    }
    return {x: x, y: y};
  }

  // The LRU's initialization region r_min <= |λ| <= r_max, 0 <= arg λ <= max_phase, outlined.
  function ringTrace(ring) {
    var outer = arc(ring.r_max, 0, ring.max_phase, 180), inner = arc(ring.r_min, ring.max_phase, 0, 180);
    return {
      x: outer.x.concat(inner.x, [outer.x[0]]), y: outer.y.concat(inner.y, [outer.y[0]]),
      mode: "lines", fill: "toself", fillcolor: "rgba(221, 204, 119, 0.25)",
      line: {color: "#999933", width: 1, dash: "dot"}, hoverinfo: "skip",
      name: "init ring " + ring.r_min + " ≤ |λ| ≤ " + ring.r_max,
    };
  }

  function eigenTitle(layer, spectra) {
    if (spectra.some(function (s) { return s.kind === "lru"; })) return layer + ": λ of the LRU (exact)";
    if (spectra.some(function (s) { return s.gate === "J_t"; })) return layer + ": eigenvalues of J_t";
    return layer + ": recurrent matrix eigenvalues";
  }

  // One complex-plane view per layer with eigenvalues: the unit circle, the LRU's init ring
  // where known, and the eigenvalues (per gate block for LSTM and GRU); a note for the rest.
  function drawEigen(res) {
    var box = $("eigen-plots");
    Array.from(box.children).forEach(function (div) { Plotly.purge(div); });
    box.innerHTML = "";
    var groups = [], byLayer = {};
    res.spectra.forEach(function (s) {
      var layer = s.layer || s.name;
      if (!s.eigenvalues.length) return;
      if (!(layer in byLayer)) { byLayer[layer] = []; groups.push(layer); }
      byLayer[layer].push(s);
    });
    groups.forEach(function (layer, i) {
      var spectra = byLayer[layer];
      var div = GT.el("div", {id: "eigen-" + i, class: "plot eigen", "data-layer": layer});
      box.appendChild(div);
      var unit = arc(1, 0, 2 * Math.PI, 180);
      var traces = [{x: unit.x, y: unit.y, mode: "lines", name: "unit circle",
                     line: {color: "#555555", dash: "dash", width: 1.5}, hoverinfo: "skip"}];
      var reach = 1;
      spectra.forEach(function (s) { if (s.ring) traces.push(ringTrace(s.ring)); });
      spectra.forEach(function (s, j) {
        s.eigenvalues.forEach(function (e) { reach = Math.max(reach, Math.hypot(e[0], e[1])); });
        var what = s.kind === "lru" ? "λ" : (s.gate && s.gate !== "h" ? s.gate : "λ");
        traces.push({
          x: s.eigenvalues.map(function (e) { return e[0]; }), y: s.eigenvalues.map(function (e) { return e[1]; }),
          mode: "markers", name: what + " ρ=" + fmt(s.spectral_radius, 3), meta: s.kind,
          marker: {color: GT.color(j), size: 6, opacity: 0.8},
          hovertemplate: what + " = %{x:.4f} %{y:+.4f}i<extra></extra>",
        });
      });
      var lim = 1.08 * reach;
      var layout = GT.layout({title: eigenTitle(layer, spectra), x: "Re λ", y: "Im λ"});
      layout.xaxis.range = [-lim, lim];
      layout.yaxis.range = [-lim, lim];
      layout.yaxis.scaleanchor = "x";
      layout.yaxis.scaleratio = 1;
      layout.xaxis.constrain = "domain";
      layout.yaxis.constrain = "domain";
      Plotly.react(div, traces, layout, GT.CONFIG);
    });
    var missing = res.layers.map(function (l) { return l.name; }).filter(function (n) { return !(n in byLayer); });
    var why = res.not_computed || {};
    var notes = missing.map(function (n) {
      return n + ": " + (why["spectra: " + n] || "the diagnosis has no eigenvalues for it");
    });
    $("eigen-note").textContent = notes.length ? "No eigenvalue view for " + notes.join("; ") + "." : "";
    document.body.dataset.eigenPlots = String(groups.length);
  }

  function drawDetail() {
    var run = runs.find(function (r) { return r.id === selected; });
    $("detail").hidden = !run;
    if (!run) return;
    var res = run.result;
    $("detail-title").textContent = "#" + run.id + " " + run.label;
    var facts = $("facts");
    facts.innerHTML = "";
    facts.appendChild(GT.fact("verdict", res.verdict, GT.tone(res.verdict)));
    facts.appendChild(GT.fact("decay factor γ̂", res.decay_factor === null ? "n/a" : fmt(res.decay_factor)));
    facts.appendChild(GT.fact("horizon (r_k < " + res.eps + ")", res.horizon === null ? "beyond T=" + res.seq_len : res.horizon));
    facts.appendChild(GT.fact("time", res.seconds.toFixed(2) + " s"));
    drawEigen(res);
    var layers = $("layers-table");
    layers.innerHTML = "";
    var sensed = res.layers.some(function (l) { return l.sensitivity != null; });
    var columns = ["layer", "verdict", "γ̂", "horizon", "λ₁ per step"];
    if (sensed) columns.push("sensitivity rec/in");
    var note = "λ₁: largest Lyapunov exponent of the hidden-state dynamics; below 0 they contract.";
    if (sensed) note += " Sensitivity: of h_T to the recurrent over the input parameters (RMS); large: the curse of memory.";
    layers.appendChild(GT.table({title: "", columns: columns,
      rows: res.layers.map(function (l) {
        var row = [l.name, l.verdict, l.decay_factor, l.horizon === null ? "beyond T" : l.horizon, l.lyapunov];
        if (sensed) row.push(l.sensitivity == null ? "" : GT.fmtCell(l.sensitivity) + "×" + (l.over_sensitive ? " (over-sensitive)" : ""));
        return row;
      }),
      note: note}));
    var health = $("health-table");
    health.innerHTML = "";
    if (res.health.rows.length) health.appendChild(GT.table(res.health));
    else {
      var whyNot = Object.keys(res.not_computed || {}).filter(function (k) { return k.indexOf("health: ") === 0; })
        .map(function (k) { return k.slice(8) + ": " + res.not_computed[k]; });
      health.appendChild(GT.el("p", {class: "note", text: "No unit-health measurements" + (whyNot.length ? " (" + whyNot.join("; ") + ")." : ".")}));
    }
    var recs = $("recs");
    recs.innerHTML = "";
    if (!res.recommendations.length) recs.appendChild(GT.el("li", {text: "Nothing to change: the gradient reaches every step."}));
    res.recommendations.forEach(function (r) {
      recs.appendChild(GT.el("li", {}, [GT.el("strong", {text: r.finding + ":"}), " " + r.advice]));
    });
  }

  function refresh() {
    drawRuns(); drawProfiles(); drawDetail(); saveState();
    document.body.dataset.probes = String(runs.length);  // lets tests wait for a finished probe
  }

  function labelOf(req) {
    var cell = labels[req.cell] || req.cell;
    var own = req.activation || (req.cell === "exprnn" ? "modrelu" : "tanh");  // unset: the cell's
    var parts = [cell + (req.cell === "rnn" || req.cell === "exprnn" ? "/" + own : "")];
    if (req.init !== "default" || !schema || schema.inits_by_cell[req.cell].length > 1) parts.push(req.init);
    if (req.init_scale != null) parts.push("×" + req.init_scale);
    parts.push("H" + req.hidden_size, "T" + req.seq_len);
    if (req.num_layers > 1) parts.push("L" + req.num_layers);
    if (req.layer_norm) parts.push("LN");
    if (req.residual) parts.push("res");
    if (req.task) parts.push(req.task);
    if (req.r_min != null || req.r_max != null) {
      var d = schema ? schema.field_defaults : {};
      parts.push("|λ|∈[" + (req.r_min != null ? req.r_min : d.r_min) + ", " + (req.r_max != null ? req.r_max : d.r_max) + "]");
    }
    if (req.max_phase != null) parts.push("phase≤" + req.max_phase);
    if (req.state_size != null) parts.push("N" + req.state_size);
    if (req.horizon != null) parts.push("horizon " + req.horizon);
    return parts.join(" ");
  }

  var busy = false;
  var current = null;  // the running job's id

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // Run one probe as a job: poll its (estimated) progress; the cancel button stops it.
  async function runJob(req) {
    var job = await GT.api("/api/probe/jobs", req);
    current = job.id;
    $("probe-progress-row").hidden = false;
    while (job.state === "running") {
      $("probe-progress").value = job.progress;
      $("probe-progress-text").textContent = job.elapsed_s.toFixed(1) + " s of about " + job.expected_s.toPrecision(2) + " s (estimate)";
      await sleep(150);
      job = await GT.api("/api/probe/jobs/" + job.id);
    }
    current = null;
    $("probe-progress-row").hidden = true;
    if (job.state === "cancelled") throw new Error("probe cancelled after " + job.elapsed_s.toFixed(1) + " s");
    if (job.state === "failed") throw new Error(job.error);
    return job.result;
  }

  async function addProbe(req) {
    req = Object.assign({}, defaults, req);  // a saved or shared request may leave fields out
    var result = await runJob(req);
    var id = ++nextId;
    runs.push({id: id, color: GT.color(id - 1), label: labelOf(req), request: req, result: result});
    selected = id;
    refresh();
  }

  async function guarded(work) {
    var button = $("run-probe");
    var err = $("probe-error");
    err.innerHTML = "";
    busy = true;
    button.disabled = true;
    button.textContent = "Running...";
    try {
      await work();
    } catch (e) {
      err.appendChild(GT.el("div", {class: "error", text: e.message}));
    } finally {
      busy = false;
      button.textContent = "Run probe";
      applyConstraints();
    }
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    guarded(function () { return addProbe(request()); });
  });

  $("cancel-probe").addEventListener("click", function () {
    if (current !== null) fetch("/api/probe/jobs/" + current, {method: "DELETE"});
  });

  // The probes live in the address (#probes=[requests]): reload or share to run them again.
  function saveState() {
    var list = runs.map(function (r) { return r.request; });
    var hash = list.length ? "#probes=" + encodeURIComponent(JSON.stringify(list)) : "";
    history.replaceState(null, "", window.location.pathname + window.location.search + hash);
  }

  function savedRequests() {
    var m = window.location.hash.match(/^#probes=(.*)$/);
    if (!m) return [];
    try {
      var list = JSON.parse(decodeURIComponent(m[1]));
      return Array.isArray(list) ? list.slice(0, 20) : [];
    } catch (e) {
      return [];
    }
  }

  function exportRuns() {
    var data = {format: "gradtrace probe lab", version: 1,
                probes: runs.map(function (r) { return {label: r.label, request: r.request, result: r.result}; })};
    var blob = new Blob([JSON.stringify(data, null, 2)], {type: "application/json"});
    var a = GT.el("a", {href: URL.createObjectURL(blob), download: "gradtrace-probes.json"});
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  $("relative").addEventListener("change", drawProfiles);
  $("export-runs").addEventListener("click", exportRuns);
  form.addEventListener("input", applyConstraints);
  form.addEventListener("change", applyConstraints);
  $("clear-runs").addEventListener("click", function () { runs = []; selected = null; refresh(); });

  loadOptions().then(function () {
    var saved = savedRequests();
    refresh();
    if (saved.length) {
      guarded(async function () {
        for (var i = 0; i < saved.length; i++) await addProbe(saved[i]);
      });
    }
  }).catch(function (e) {
    $("probe-error").appendChild(GT.el("div", {class: "error", text: e.message}));
  });
})();
