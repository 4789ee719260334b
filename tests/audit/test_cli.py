"""`gradtrace audit`: the table, --json, stored results, one-line errors, a broken check."""

from __future__ import annotations

import dataclasses
import json

import pytest

from gradtrace.audit.claim import Finding
from gradtrace.audit.registry import CLAIMS
from gradtrace.audit.runner import AUDIT_JSON, load_results, run_audit
from gradtrace.cli.main import main

FAST = ["--claim", "decay-table", "--claim", "sigmoid-derivative-peak"]


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture
def no_report(monkeypatch):
    """Keep the report writer out of the CLI tests that are not about it."""
    import gradtrace.report as report

    monkeypatch.setattr(report, "after_audit", lambda out_dir: None, raising=False)


def test_audit_prints_a_table_and_stores_every_result(tmp_path, capsys, no_report):
    code, out, err = run_cli(["audit", *FAST, "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert "decay-table" in out and "nuanced" in out and "sigmoid-derivative-peak" in out
    assert "confirmed" in out and "2 claims at budget quick" in out
    assert {r.id for r in load_results(tmp_path)} == {"decay-table", "sigmoid-derivative-peak"}
    data = json.loads((tmp_path / AUDIT_JSON).read_text())
    assert data["counts"] == {"confirmed": 1, "nuanced": 1}


def test_json_output_is_the_audit_report(tmp_path, capsys, no_report):
    code, out, _ = run_cli(["audit", *FAST, "--out", str(tmp_path), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert [r["id"] for r in data["results"]] == ["sigmoid-derivative-peak", "decay-table"]
    cells = data["results"][1]["evidence"]["cells"]
    assert cells[0] == {**cells[0], "gamma": 0.9, "steps": 10, "printed": "0.348"}


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--claim", "no-such-claim"], ["--claim", "no-such-claim", "decay-table"]),
        (["--budget", "huge"], ["--budget", "quick, standard, full"]),
        (["--study", "/nonexistent/study"], ["--study", "results.sqlite"]),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, names, tmp_path, capsys):
    code, _, err = run_cli(["audit", *args, "--out", str(tmp_path)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    for name in names:
        assert name in err


def test_list_shows_the_claims_without_running_them(tmp_path, capsys):
    code, out, _ = run_cli(
        ["audit", "--list", "--claim", "decay-table", "--out", str(tmp_path)], capsys
    )
    assert code == 0 and "decay-table" in out
    text = " ".join(out.split())
    assert "causes-and-fixes article" in text and "000" not in out  # titles, not file names
    assert not (tmp_path / AUDIT_JSON).exists()


def test_a_failing_report_hook_costs_one_line_not_the_results(tmp_path, capsys, monkeypatch):
    import gradtrace.report as report

    def broken(out_dir):
        raise RuntimeError("no figures\ntoday")

    monkeypatch.setattr(report, "after_audit", broken, raising=False)
    code, _, err = run_cli(["audit", *FAST, "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "report: not written (RuntimeError: no figures today)" in err
    assert (tmp_path / AUDIT_JSON).is_file()


def test_the_report_hook_writes_the_report_path(tmp_path, capsys, monkeypatch):
    import gradtrace.report as report

    target = tmp_path / "report.html"
    monkeypatch.setattr(report, "after_audit", lambda out_dir: target, raising=False)
    code, out, _ = run_cli(["audit", *FAST, "--out", str(tmp_path)], capsys)
    assert code == 0 and f"report:  {target}" in out.replace("\n", "")


def test_a_check_that_raises_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    def boom(ctx) -> Finding:
        raise ZeroDivisionError("broken check")

    spec = CLAIMS["decay-table"]
    monkeypatch.setitem(CLAIMS, "decay-table", dataclasses.replace(spec, check=boom))
    report = run_audit(claims=["decay-table", "sigmoid-derivative-peak"], out_dir=tmp_path)
    by_id = {r.id: r for r in report.results}
    assert by_id["decay-table"].verdict == "error"
    assert "ZeroDivisionError: broken check" in by_id["decay-table"].error
    assert by_id["sigmoid-derivative-peak"].verdict == "confirmed"
    assert {r.id for r in load_results(tmp_path)} == set(by_id)
