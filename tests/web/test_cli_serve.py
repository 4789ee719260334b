"""`gradtrace serve` validates its options, binds localhost by default and names a missing extra."""

from __future__ import annotations

import sys

import pytest

from gradtrace.cli.main import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_serve_binds_localhost_by_default_and_serves_the_data_folder(monkeypatch, tmp_path, capsys):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    code, out, _ = run(["serve", "--data", str(tmp_path), "--port", "8123"], capsys)
    assert code == 0
    ((app, options),) = calls
    assert options["host"] == "127.0.0.1" and options["port"] == 8123
    assert app.state.data_dir == tmp_path.resolve()
    assert "http://127.0.0.1:8123" in out


def test_serve_warns_when_told_to_listen_beyond_localhost(monkeypatch, tmp_path, capsys):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    code, _, err = run(["serve", "--host", "0.0.0.0", "--data", str(tmp_path)], capsys)
    assert code == 0 and "warning: listening on 0.0.0.0" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "error: --port: 70000 is not allowed; must be between 1 and 65535"),
        (["--data", "/no/such/folder"], "error: --data: '/no/such/folder' is not allowed;"),
    ],
)
def test_bad_serve_options_print_one_error_line_and_exit_2(args, message, capsys):
    code, _, err = run(["serve", *args], capsys)
    assert code == 2 and err.startswith(message) and err.count("\n") == 1


def test_without_the_web_extra_serve_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now fails
    code, _, err = run(["serve", "--data", str(tmp_path)], capsys)
    assert code != 0 and "pip install 'gradtrace[web]'" in err and err.count("\n") == 1


def test_serve_follow_serves_the_logs_folder_and_prints_the_live_url(monkeypatch, tmp_path, capsys):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(app))
    log = tmp_path / "runs" / "monitor.jsonl"
    log.parent.mkdir()
    code, out, _ = run(["serve", "--follow", str(log), "--port", "8124"], capsys)
    assert code == 0 and calls[0].state.data_dir == log.parent.resolve()
    assert "live view: http://127.0.0.1:8124/live?id=monitor.jsonl" in out  # not written yet
    code, out, _ = run(["serve", "--data", str(tmp_path), "--follow", str(log)], capsys)
    assert code == 0 and "/live?id=runs/monitor.jsonl" in out


@pytest.mark.parametrize(
    ("name", "message"),
    [("log.txt", "ends in .jsonl"), ("missing/log.jsonl", "in an existing folder")],
)
def test_serve_follow_refuses_what_is_no_log_in_one_line(name, message, tmp_path, capsys):
    code, _, err = run(["serve", "--follow", str(tmp_path / name)], capsys)
    assert code == 2 and err.startswith("error: --follow:") and message in err
    assert err.count("\n") == 1


def test_serve_follow_outside_data_is_refused(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    args = ["serve", "--data", str(tmp_path / "a"), "--follow", str(tmp_path / "b" / "m.jsonl")]
    code, _, err = run(args, capsys)
    assert code == 2 and "a log inside --data" in err
