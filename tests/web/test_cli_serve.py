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
