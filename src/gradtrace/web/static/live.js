// Live view: poll a monitor JSONL log from a byte offset and grow the charts without a reload.
"use strict";

(function () {
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(window.location.search);
  var interval = Math.max(100, Number(params.get("interval")) || 1000);
  var state = null;  // {id, offset, run, steps: [...], gaps: [...], verdict}
  var timer = null;

  function fresh(id) {
    return {id: id, offset: 0, file: null, run: null, runs: 0, x: [], norm: [], clipped: [], loss: [], lr: [],
            gaps: [], verdict: null, polls: 0};
  }

  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }

  function take(records) {
    records.forEach(function (r) {
      if (r.kind === "run") {
        if (r.run !== state.run && !r.continued) {  // a new run: show it alone (the latest)
          var keep = state;
          state = fresh(keep.id);
          state.offset = keep.offset; state.file = keep.file;
          state.runs = keep.runs + 1; state.polls = keep.polls;
        }
        state.run = r.run;
      } else if (r.kind === "step") {
        state.x.push(r.step);
        state.norm.push(num(r.global_norm));
        state.clipped.push(num(r.global_norm_clipped));
        state.loss.push(num(r.loss));
        state.lr.push(r.lr && r.lr.length ? num(r.lr[0]) : null);
      } else if (r.kind === "gap") {
        state.gaps.push(r);
      } else if (r.kind === "profile") {
        state.verdict = r.verdict;
      }
    });
  }

  function draw() {
    var facts = $("live-facts");
    facts.innerHTML = "";
    facts.appendChild(GT.fact("steps", state.x.length));
    facts.appendChild(GT.fact("last step", state.x.length ? state.x[state.x.length - 1] : "-"));
    facts.appendChild(GT.fact("run", state.run || "-"));
    if (state.verdict) facts.appendChild(GT.fact("latest verdict", state.verdict, GT.tone(state.verdict)));
    var notes = $("live-notes");
    notes.innerHTML = "";
    state.gaps.forEach(function (g) {
      var steps = g.missing_steps ? " (steps " + g.missing_steps[0] + "-" + g.missing_steps[1] + ")" : "";
      notes.appendChild(GT.el("div", {class: "error gap", text: "gap at step " + g.step + ": " + g.reason +
        "; up to " + g.missing_records + " records" + steps + " may be missing"}));
    });
    var normLayout = GT.layout({title: "Global gradient norm", x: "training step", y: "||grad||", ylog: true});
    Plotly.react("live-norm", [
      {x: state.x, y: state.norm, mode: "lines", name: "before clipping", line: {color: GT.color(0)}},
      {x: state.x, y: state.clipped, mode: "lines", name: "after clipping", line: {color: GT.color(1), dash: "dot"}},
    ], normLayout, GT.CONFIG);
    var lossLayout = GT.layout({title: "Loss", x: "training step", y: "loss", showlegend: false});
    Plotly.react("live-loss", [{x: state.x, y: state.loss, mode: "lines", name: "loss",
                                line: {color: GT.color(2)}}], lossLayout, GT.CONFIG);
    var lrLayout = GT.layout({title: "Learning rate (first param group)", x: "training step",
                              y: "learning rate", showlegend: false});
    Plotly.react("live-lr", [{x: state.x, y: state.lr, mode: "lines", name: "learning rate",
                              line: {color: GT.color(3)}}], lrLayout, GT.CONFIG);
    document.body.dataset.liveSteps = String(state.x.length);
    document.body.dataset.livePolls = String(state.polls);
  }

  async function poll() {
    if (!state) return;
    var current = state;
    try {
      var url = "/api/live/" + encodeURIComponent(current.id) + "?offset=" + current.offset;
      if (current.file) url += "&file=" + encodeURIComponent(current.file);
      var data = await GT.api(url);
      if (state !== current && state.id !== current.id) return;  // another log was chosen meanwhile
      var first = data.records[0];
      var continued = first && first.kind === "run" && first.continued && first.run === state.run;
      if (data.reset && !continued) {  // a different file now: start over from its first line
        var polls = state.polls;
        state = fresh(current.id);
        state.polls = polls;
      }  // the same run's file recreated after a deletion: keep what was shown, mark the gap
      take(data.records);
      state.offset = data.offset;
      state.file = data.file;
      state.polls += 1;
      draw();
      var waiting = document.getElementById("live-waiting");
      if (waiting) waiting.remove();
    } catch (err) {  // one line that updates (a log not written yet, a deleted file), not one per poll
      var note = document.getElementById("live-waiting");
      if (!note) {
        note = GT.el("div", {class: "error", id: "live-waiting"});
        $("live-notes").appendChild(note);
      }
      note.textContent = (/no result/.test(err.message) ? "waiting for " + current.id + " to appear: " : "") + err.message;
    }
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = $("follow").checked ? setInterval(poll, interval) : null;
  }

  function choose(id) {
    document.querySelectorAll("#log-list a").forEach(function (a) { a.classList.toggle("on", a.dataset.id === id); });
    $("live-title").textContent = id;
    history.replaceState(null, "", "?id=" + encodeURIComponent(id) + (params.get("interval") ? "&interval=" + interval : ""));
    state = fresh(id);
    poll().then(schedule);
  }

  async function load() {
    try {
      var data = await GT.api("/api/results");
      var logs = data.results.filter(function (r) { return r.kind === "monitor"; });
      var list = $("log-list");
      list.innerHTML = "";
      if (!logs.length) list.appendChild(GT.el("p", {class: "note", text: "No monitor log in " + data.data_dir + " yet."}));
      logs.forEach(function (r) {
        var a = GT.el("a", {href: "?id=" + encodeURIComponent(r.id)}, [GT.el("div", {text: r.title})]);
        a.dataset.id = r.id;
        a.addEventListener("click", function (ev) { ev.preventDefault(); choose(r.id); });
        list.appendChild(a);
      });
      var wanted = params.get("id");
      if (wanted) choose(wanted);
    } catch (err) {
      $("log-list").appendChild(GT.el("div", {class: "error", text: err.message}));
    }
  }

  $("follow").addEventListener("change", schedule);
  load();
})();
