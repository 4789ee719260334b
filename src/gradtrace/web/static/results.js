// Results browser: list what the data folder holds, show one result's sections.
"use strict";

(function () {
  var list = document.getElementById("result-list");
  var view = document.getElementById("result-view");
  var query = new URLSearchParams(window.location.search);
  var picked = (query.get("compare") || "").split(",").filter(Boolean);
  var compared = null;  // the last /api/compare answer

  function setQuery(key, value) {
    var q = new URLSearchParams(window.location.search);
    if (value) q.set(key, value); else q.delete(key);
    history.replaceState(null, "", "?" + q.toString());
  }

  function drawOverlay() {
    var select = document.getElementById("compare-chart");
    var chart = compared.charts.find(function (c) { return c.key === select.value; }) || compared.charts[0];
    if (!chart) return;
    var sources = compared.sources;
    var traces = chart.series.map(function (s, i) {
      var k = sources.indexOf(s.source);
      return {x: s.x, y: s.y, mode: "lines", name: s.name, legendgroup: s.source,
              line: {color: GT.color(k), dash: ["solid", "dot", "dash", "dashdot"][i % 4]}};
    });
    var layout = GT.layout({title: chart.title, x: chart.x_title, y: chart.y_title,
                            xlog: chart.x_log, ylog: chart.y_log});
    Plotly.react("compare-plot", traces, layout, GT.CONFIG);
    setQuery("chart", chart.key);
    document.body.dataset.overlay = String(traces.length);
  }

  async function overlay() {
    var err = document.getElementById("compare-error");
    err.innerHTML = "";
    if (!picked.length) { err.appendChild(GT.el("div", {class: "error", text: "tick at least one result"})); return; }
    document.getElementById("compare-card").hidden = false;
    try {
      var q = picked.map(function (id) { return "ids=" + encodeURIComponent(id); }).join("&");
      compared = await GT.api("/api/compare?" + q);
      var select = document.getElementById("compare-chart");
      var wanted = new URLSearchParams(window.location.search).get("chart");
      select.innerHTML = "";
      compared.charts.forEach(function (c) {
        var n = new Set(c.series.map(function (s) { return s.source; })).size;
        var o = GT.el("option", {value: c.key, text: c.title + " (" + n + " of " + compared.sources.length + ")"});
        if (c.key === wanted) o.selected = true;
        select.appendChild(o);
      });
      setQuery("compare", picked.join(","));
      drawOverlay();
    } catch (e) {
      err.appendChild(GT.el("div", {class: "error", text: e.message}));
    }
  }

  document.getElementById("compare-chart").addEventListener("change", drawOverlay);
  document.getElementById("compare-run").addEventListener("click", function () {
    picked = Array.from(document.querySelectorAll("#result-list input.pick:checked")).map(function (c) { return c.dataset.id; });
    overlay();
  });

  function renderSection(section, index) {
    var card = GT.el("div", {class: "card", id: "section-" + section.key}, [GT.el("h2", {text: section.title})]);
    if (section.intro) card.appendChild(GT.el("p", {class: "note", text: section.intro}));
    if (section.facts.length) {
      card.appendChild(GT.el("div", {class: "facts"}, section.facts.map(function (f) {
        return GT.fact(f.label, f.value, f.tone);
      })));
    }
    section.figures.forEach(function (fig, j) {
      var div = GT.el("div", {class: "plot", id: "fig-" + index + "-" + j}, []);
      card.appendChild(div);
      Plotly.newPlot(div, fig.data, fig.layout, GT.CONFIG);
    });
    section.tables.forEach(function (t) { card.appendChild(GT.table(t)); });
    if (section.key === "runs") {  // each run of a monitor log opens on its own
      card.querySelectorAll("tbody tr").forEach(function (tr) {
        var cell = tr.querySelector("td");
        var run = cell.textContent;
        cell.textContent = "";
        var a = GT.el("a", {href: "#", class: "run-link", text: run});
        a.addEventListener("click", function (ev) {
          ev.preventDefault();
          setQuery("run", run);
          show(view.dataset.loaded);
        });
        cell.appendChild(a);
      });
    }
    if (section.bullets.length) {
      card.appendChild(GT.el("ul", {class: "recs"}, section.bullets.map(function (b) {
        return GT.el("li", {text: b});
      })));
    }
    return card;
  }

  async function show(id) {
    list.querySelectorAll("a").forEach(function (a) { a.classList.toggle("on", a.dataset.id === id); });
    view.innerHTML = "";
    view.dataset.loaded = "";
    view.appendChild(GT.el("div", {class: "card"}, [GT.el("p", {class: "note", text: "Loading..."})]));
    try {
      var run = new URLSearchParams(window.location.search).get("run");
      var doc = await GT.api("/api/results/" + encodeURIComponent(id) + (run ? "?run=" + encodeURIComponent(run) : ""));
      view.innerHTML = "";
      var head = GT.el("div", {class: "card"}, [
        GT.el("h2", {text: doc.title}),
        GT.el("p", {class: "note", text: doc.kind + ": " + doc.source}),
        GT.el("a", {href: "/api/results/" + encodeURIComponent(id) + "/report", target: "_blank",
                    text: "Open as a self-contained HTML report"}),
      ]);
      view.appendChild(head);
      doc.sections.forEach(function (s, i) { view.appendChild(renderSection(s, i)); });
      view.dataset.run = run || "latest";
      view.dataset.loaded = id;
    } catch (err) {
      view.innerHTML = "";
      view.appendChild(GT.el("div", {class: "card"}, [GT.el("div", {class: "error", text: err.message})]));
    }
  }

  async function load() {
    try {
      var data = await GT.api("/api/results");
      list.innerHTML = "";
      if (!data.results.length) {
        list.appendChild(GT.el("p", {class: "note",
          text: "Nothing found in " + data.data_dir + ". Run a study, an audit, a probe with --json or a monitored training run with its output there."}));
        return;
      }
      data.results.forEach(function (r) {
        var pick = GT.el("input", {type: "checkbox", class: "pick", title: "tick to compare"});
        pick.dataset.id = r.id;
        pick.checked = picked.indexOf(r.id) >= 0;
        pick.addEventListener("click", function (ev) { ev.stopPropagation(); });
        var a = GT.el("a", {href: "?id=" + encodeURIComponent(r.id)}, [
          GT.el("div", {class: "kind"}, [pick, " " + r.kind]), GT.el("div", {text: r.title}),
        ]);
        a.dataset.id = r.id;
        a.addEventListener("click", function (ev) {
          ev.preventDefault();
          if (ev.target === pick) return;
          setQuery("run", null);
          setQuery("id", r.id);
          show(r.id);
        });
        list.appendChild(a);
      });
      var wanted = new URLSearchParams(window.location.search).get("id");
      if (wanted) show(wanted);
      if (picked.length) overlay();
    } catch (err) {
      list.innerHTML = "";
      list.appendChild(GT.el("div", {class: "error", text: err.message}));
    }
  }

  load();
})();
