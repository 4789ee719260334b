"""Every kind of result on disk becomes a report Document with the sections its records allow."""

from __future__ import annotations

import json

import pytest

from gradtrace.errors import InvalidValue
from gradtrace.report.sources import discover, kind_of, load_document
from gradtrace.report.sources.monitor import read_jsonl
from gradtrace.report.sources.tables import table_from_json


def keys(doc):
    return [s.key for s in doc.sections]


def test_a_study_folder_reports_audit_overview_tables_profiles_timelines_losses_environment(
    samples,
):
    doc = load_document(samples / "study")
    assert doc.kind == "study"
    assert keys(doc) == [
        "audit",
        "overview",
        "tables",
        "profiles",
        "timelines",
        "losses",
        "environment",
    ]
    overview = doc.sections[1]
    facts = {f.label: f.value for f in overview.facts}
    assert facts["runs"] == "16" and facts["solved"] == "8" and facts["unsolved"] == "8"
    tables = {t.title for t in doc.sections[2].tables}
    assert tables == {"Success matrix", "Technique"}


def test_study_loss_charts_carry_the_recorded_chance_baseline(samples):
    doc = load_document(samples / "study")
    losses = next(s for s in doc.sections if s.key == "losses")
    assert all(f.hlines and abs(f.hlines[0].y - 1 / 6) < 1e-12 for f in losses.figures)


def test_a_probe_json_reports_flow_spectra_health_advice_and_horizon(samples):
    doc = load_document(samples / "probe.json")
    assert keys(doc) == [
        "probe0-flow",
        "probe0-spectra",
        "probe0-health",
        "probe0-advice",
        "environment",
    ]
    facts = {f.label: f.value for f in doc.sections[0].facts}
    # 0.9**66 < 1e-3 <= 0.9**65: the horizon is lag 66
    assert facts["horizon (r_k < 0.001)"] == "66"
    assert facts["verdict"] == "vanishing"


def test_a_monitor_log_reports_norms_profiles_and_alerts(samples):
    doc = load_document(samples / "monitor.jsonl")
    assert keys(doc) == ["norms", "profiles", "alerts"]
    timeline = [f for f in doc.sections[1].figures if f.heatmap is not None]
    assert len(timeline) == 1 and timeline[0].heatmap.y == [1, 50, 100, 150, 200]
    (alerts,) = doc.sections[2].tables
    assert alerts.columns[:4] == ["step", "alert", "where", "finding"] and alerts.rows[0][0] == 200


def test_missing_kinds_of_records_simply_leave_their_sections_out(tmp_path):
    log = tmp_path / "steps.jsonl"
    log.write_text(json.dumps({"kind": "step", "step": 1, "global_norm": 0.5}) + "\n")
    assert keys(load_document(log)) == ["norms"]


def test_a_monitor_log_cut_mid_line_still_reads(tmp_path):
    log = tmp_path / "cut.jsonl"
    log.write_text('{"kind": "step", "step": 1, "global_norm": 1.0}\n{"kind": "st')
    assert len(read_jsonl(log)) == 1


def test_discover_finds_each_result_once_with_its_kind(samples):
    found = {f.title: f.kind for f in discover(samples)}
    assert found == {"monitor.jsonl": "monitor", "probe.json": "probe", "study": "study"}


def test_discover_does_not_follow_links_out_of_the_folder(samples, tmp_path):
    (tmp_path / "outside").symlink_to(samples, target_is_directory=True)
    assert discover(tmp_path) == []


@pytest.mark.parametrize("name", ["nothing.txt", "missing"])
def test_a_path_that_is_no_result_is_refused_in_one_line(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("hello")
    with pytest.raises(InvalidValue, match=r"^PATH: .* is not allowed; ") as e:
        load_document(path)
    assert "\n" not in str(e.value)
    assert kind_of(path) is None


@pytest.mark.parametrize(
    "data",
    [
        {"title": "T", "columns": ["a", "b"], "rows": [[1, 2]]},
        {"title": "T", "rows": [{"a": 1, "b": 2}]},
        [{"a": 1, "b": 2}],
    ],
    ids=["columns+rows", "dict rows", "list of dicts"],
)
def test_table_files_of_several_shapes_read_as_the_same_table(data):
    table = table_from_json(data, title="T")
    assert table.columns == ["a", "b"] and table.rows == [[1, 2]] and table.title == "T"


def test_report_takes_every_json_the_cli_writes(tmp_path, samples):
    """probe --compare --json, simulate --json (each command and the tour) and audit --json."""
    from gradtrace.simulate import decay_table, layer_gradients

    probe = json.loads((samples / "probe.json").read_text())
    compare = tmp_path / "compare.json"
    compare.write_text(json.dumps({"results": [probe, probe]}))
    assert kind_of(compare) == "probe" and "compare" in keys(load_document(compare))
    decay = tmp_path / "decay.json"
    decay.write_text(json.dumps(decay_table(until=1e-3).to_dict()))
    doc = load_document(decay)
    assert doc.kind == "simulate" and doc.sections[0].figures[0].y_log
    tour = tmp_path / "tour.json"
    part = {"notice": "look", "records": [layer_gradients(0.5, 5).to_dict()]}
    tour.write_text(json.dumps({"command": "tour", "params": {}, "results": {"parts": [part]}}))
    assert load_document(tour).sections[0].intro == "look"
    audit = tmp_path / "audit.json"
    claim = {"id": "decay-table", "seeds": ["000"], "claim": "c", "verdict": "confirmed",
             "summary": "s", "evidence": {}}  # fmt: skip
    audit.write_text(json.dumps({"results": [claim], "counts": {"confirmed": 1}}))
    table = load_document(audit).sections[0].tables[0]
    assert "source" in table.columns and "000" not in json.dumps(table.rows)


def test_study_summaries_order_t_numerically():
    from gradtrace.report.sources.study import _summary_rows, overview_section

    runs = [{"variant": "lstm", "task": "adding", "seq_len": t, "status": "solved"}
            for t in (100, 25, 200, 10, 50)]  # fmt: skip
    assert [row[2] for row in _summary_rows(runs)] == [10, 25, 50, 100, 200]
    intro = overview_section(runs).intro
    assert intro.index("T=25") < intro.index("T=100") < intro.index("T=200")


def test_gradtraces_own_layer_names_read_as_words_in_probe_reports(tmp_path, samples):
    probe = json.loads((samples / "probe.json").read_text())
    for layer in probe["diagnosis"]["profile"]["layers"]:
        layer["name"] = "layers.0.l0"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(probe))
    doc = load_document(path)
    text = json.dumps([t.rows for s in doc.sections for t in s.tables])
    assert "layers.0.l0" not in text and "layer 1" in text


def test_a_study_table_json_is_reported_and_the_results_browser_lists_only_runs(tmp_path):
    table = {"name": "technique", "title": "Technique", "columns": ["variant", "solved"],
             "rows": [["lstm", "yes"]], "notes": ["a note"], "records": []}  # fmt: skip
    path = tmp_path / "technique.json"
    path.write_text(json.dumps(table))
    doc = load_document(path)
    assert doc.kind == "table" and doc.sections[0].tables[0].rows == [["lstm", "yes"]]
    assert discover(tmp_path) == []


def test_a_probe_with_sensitivity_reports_the_curse_of_memory(tmp_path):
    import torch

    from gradtrace.diagnosis.probing import ProbeSpec, probe
    from gradtrace.models.spec import ModelSpec

    torch.manual_seed(0)
    result = probe(ProbeSpec(model=ModelSpec(cell="lru", hidden_size=8), seq_len=60))
    path = tmp_path / "lru.json"
    path.write_text(json.dumps(result.to_dict()))
    doc = load_document(path)
    (section,) = [s for s in doc.sections if s.key.endswith("-memory")]
    (table,) = section.tables
    (row,) = table.rows
    ratio = result.diagnosis.sensitivity[0].ratio
    assert row[1] == pytest.approx(ratio) and row[0] == "layer 1"
    assert row[4] == ("over-sensitive (curse of memory)" if ratio >= 10 else "ok")


def test_a_traced_profile_saved_with_to_json_reports_its_flow(tmp_path):
    import torch
    from torch import nn

    import gradtrace

    torch.manual_seed(0)
    rnn = nn.RNN(2, 8)
    with gradtrace.trace(rnn) as tr:
        rnn(torch.randn(70, 3, 2))[1].sum().backward()
    path = tmp_path / "my_profile.json"
    path.write_text(tr.profile.to_json())
    assert kind_of(path) == "probe"
    doc = load_document(path)
    assert keys(doc)[0] == "probe0-flow"
    facts = {f.label: f.value for f in doc.sections[0].facts}
    horizon = tr.profile.layer("rnn.l0").horizon()
    assert facts["verdict"] == tr.profile.verdict()
    assert facts["horizon (r_k < 0.001)"] == str(horizon if horizon is not None else "beyond T")
    bad = tmp_path / "layers.json"
    bad.write_text(json.dumps({"layers": [{"name": "x"}]}))
    assert kind_of(bad) is None
    with pytest.raises(InvalidValue, match="GradientProfile's to_json"):
        load_document(bad)
