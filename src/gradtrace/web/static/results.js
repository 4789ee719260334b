// Results browser: list what the data folder holds, show one result's sections.
"use strict";

(function () {
  var list = document.getElementById("result-list");
  var view = document.getElementById("result-view");

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
    view.appendChild(GT.el("div", {class: "card"}, [GT.el("p", {class: "note", text: "Loading..."})]));
    try {
      var doc = await GT.api("/api/results/" + encodeURIComponent(id));
      view.innerHTML = "";
      var head = GT.el("div", {class: "card"}, [
        GT.el("h2", {text: doc.title}),
        GT.el("p", {class: "note", text: doc.kind + ": " + doc.source}),
        GT.el("a", {href: "/api/results/" + encodeURIComponent(id) + "/report", target: "_blank",
                    text: "Open as a self-contained HTML report"}),
      ]);
      view.appendChild(head);
      doc.sections.forEach(function (s, i) { view.appendChild(renderSection(s, i)); });
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
        var a = GT.el("a", {href: "?id=" + encodeURIComponent(r.id)}, [
          GT.el("div", {class: "kind", text: r.kind}), GT.el("div", {text: r.title}),
        ]);
        a.dataset.id = r.id;
        a.addEventListener("click", function (ev) {
          ev.preventDefault();
          history.replaceState(null, "", "?id=" + encodeURIComponent(r.id));
          show(r.id);
        });
        list.appendChild(a);
      });
      var wanted = new URLSearchParams(window.location.search).get("id");
      if (wanted) show(wanted);
    } catch (err) {
      list.innerHTML = "";
      list.appendChild(GT.el("div", {class: "error", text: err.message}));
    }
  }

  load();
})();
