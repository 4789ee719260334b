"""Every reader refuses every corrupt result file in one line naming it: report, web, CLI, store."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from file_corpus import write_corpus
from guard import time_limit

from gradtrace.cli.main import cli
from gradtrace.errors import InvalidValue
from gradtrace.report.sources import load_document
from gradtrace.study.store import Store
from gradtrace.web.app import create_app


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corrupt")
    return root, write_corpus(root)


def _target(path):
    """What a user names: the study folder for a store, the file otherwise."""
    return path.parent if path.name == "results.sqlite" else path


def test_the_corpus_covers_every_format(corpus):
    _, cases = corpus
    kinds = {case.split()[0] for case, _ in cases}
    assert kinds == {"run.json", "probe.json", "compare.json", "monitor.jsonl", "results.sqlite"}
    assert len(cases) >= 80


def test_the_report_refuses_every_corrupt_file_in_one_line_naming_it(corpus):
    _, cases = corpus
    accepted, wrong = [], []
    for case, path in cases:
        try:
            with time_limit(20):
                load_document(_target(path))
        except InvalidValue as e:
            message = str(e)
            if "\n" in message or path.name not in message or " is not allowed; " not in message:
                wrong.append(f"{case}: {message}")
        else:
            accepted.append(case)
    assert not accepted, f"rendered as if fine: {accepted}"
    assert not wrong, wrong


def test_the_web_api_answers_4xx_with_the_same_line(corpus):
    root, cases = corpus
    client = TestClient(create_app(root), base_url="http://localhost")
    answers = {}
    for i, (case, path) in enumerate(cases):
        rid = _target(path).relative_to(root).as_posix()
        urls = [f"/api/results/{rid}"] + ([f"/api/results/{rid}/report"] if i % 4 == 0 else [])
        for url in urls:
            response = client.get(url)
            answers[(case, url)] = response.status_code
            assert 400 <= response.status_code < 500, (case, url, response.text[:300])
            detail = response.json()["detail"]
            assert "\n" not in detail and detail, (case, detail)
    assert len(answers) > len(cases)


def test_the_cli_report_and_tables_exit_2_in_one_line(corpus, tmp_path):
    _, cases = corpus
    runner = CliRunner()
    for case, path in cases:
        commands = [["report", str(_target(path)), "--out", str(tmp_path / "r.html")]]
        if path.name == "results.sqlite" and "audit" not in case:  # tables read no audit
            commands.append(["tables", str(path.parent)])
            if "meta" not in case:  # audit --study reads the runs, first of all
                commands.append(["audit", "--study", str(path.parent), "--list"])
        for argv in commands:
            with time_limit(20):
                result = runner.invoke(cli, argv)
            assert result.exit_code == 2, (case, argv[0], result.output[-300:])
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and " is not allowed; " in lines[0], (case, result.stderr)
    assert not (tmp_path / "r.html").exists()


def test_a_study_or_audit_never_writes_into_a_corrupt_store(corpus):
    _, cases = corpus
    for case, path in cases:
        if path.name != "results.sqlite" or path.stat().st_size == 0:
            continue  # an empty file may become a new store
        before = path.read_bytes()
        try:
            with Store(path) as store:
                store.rows()
                store.get_json("audit")
        except InvalidValue as e:
            assert "\n" not in str(e) and path.name in str(e), case
        else:
            pytest.fail(f"{case}: opened for writing")
        assert path.read_bytes() == before, case


def test_the_report_is_written_only_to_an_html_file(corpus, tmp_path):
    root, _ = corpus
    result = CliRunner().invoke(
        cli, ["report", str(root / "valid" / "probe.json"), "--out", "r.txt"]
    )
    assert result.exit_code == 2
    assert (
        result.stderr == "error: --out: 'r.txt' is not allowed; an HTML file name ending in .html\n"
    )
