"""A monitor log with several runs and a gap: the report shows the latest run and names the gap."""

from __future__ import annotations

import json

from gradtrace.monitor.runs import gap_record, run_record
from gradtrace.report.sources.monitor import monitor_document


def _step(step, norm):
    return {"step": step, "kind": "step", "global_norm": norm, "layers": {"rnn": norm}}


def test_the_latest_run_is_reported_with_its_gap_and_an_older_run_on_request(tmp_path):
    path = tmp_path / "m.jsonl"
    lines = [run_record("old", 0), _step(0, 1.0), _step(1, 2.0), run_record("new", 0)]
    lines += [_step(0, 5.0), run_record("new", 7, continued=True)]
    lines += [gap_record("new", 7, records=6, first=1, last=6, reason="the file was deleted")]
    lines += [_step(7, 6.0)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    doc = monitor_document(path)
    sections = {s.key: s for s in doc.sections}
    facts = {f.label: f for f in sections["runs"].facts}
    assert facts["runs in this log"].value == "2" and facts["run shown"].value == "new"
    gap = facts["gap at step 7: the file was deleted"]
    assert gap.value == "up to 6 records (steps 1-6)" and gap.tone == "warn"
    norms = {f.label: f.value for f in sections["norms"].facts}
    assert norms["steps logged"] == "2" and norms["last step"] == "7"
    table = sections["runs"].tables[0]
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in table.rows] == [
        ("old", 2, 0, 1, 0),
        ("new", 2, 0, 7, 1),
    ]
    older = monitor_document(path, run="old")
    norms = {f.label: f.value for f in next(s for s in older.sections if s.key == "norms").facts}
    assert norms["steps logged"] == "2" and norms["last step"] == "1"


def test_a_log_of_one_run_without_markers_has_no_runs_section(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(_step(0, 1.0)) + "\n")
    assert [s.key for s in monitor_document(path).sections] == ["norms"]
