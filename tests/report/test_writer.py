"""write_report writes one offline HTML file (plotly.js once, no network) and PNGs on request."""

from __future__ import annotations

import re

import pytest

from gradtrace.cli.main import main
from gradtrace.report import after_audit, after_study, write_report
from gradtrace.report.html import plotly_js
from gradtrace.report.sources import load_document


@pytest.mark.parametrize("name", ["study", "probe.json", "monitor.jsonl"])
def test_the_report_embeds_plotly_once_and_every_figure_as_json(samples, tmp_path, name):
    out = write_report(samples / name, out=tmp_path / "r.html")
    text = out.read_text("utf-8")
    figures = load_document(samples / name).figures()
    assert text.count("plotly.js v") == 1  # the library's banner: embedded exactly once
    assert text.count('class="gt-figure"') == len(figures) > 0
    own = text.replace(plotly_js(), "")  # what the report adds around the library
    assert not re.search(r"<script[^>]+src=", own)  # nothing loaded from anywhere
    assert not re.search(r"""(src|href)=["']https?:""", own)
    assert out.stat().st_size < 6_000_000


def test_png_export_writes_one_png_per_figure(samples, tmp_path):
    write_report(samples / "monitor.jsonl", out=tmp_path / "r.html", png_dir=tmp_path / "png")
    pngs = sorted(p.name for p in (tmp_path / "png").glob("*.png"))
    assert len(pngs) == len(load_document(samples / "monitor.jsonl").figures())
    assert "profiles-profiles.png" in pngs


def test_default_output_is_report_html_in_a_folder_and_name_html_beside_a_file(samples, tmp_path):
    import shutil

    shutil.copy(samples / "probe.json", tmp_path / "p.json")
    assert write_report(tmp_path / "p.json") == tmp_path / "p.html"


def test_after_study_and_after_audit_write_report_html_into_the_folder(samples, tmp_path):
    import shutil

    folder = tmp_path / "study"
    shutil.copytree(samples / "study", folder)
    assert after_study(folder) == folder / "report.html"
    (folder / "report.html").unlink()
    assert after_audit(folder) == folder / "report.html"


def test_after_study_never_raises_so_finished_results_are_never_lost(tmp_path, caplog):
    assert after_study(tmp_path / "no-such-study") is None
    assert "could not write the report" in caplog.text


def test_cli_report_writes_the_file_and_says_where(samples, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["report", str(samples / "probe.json"), "--out", str(tmp_path / "x.html")])
    assert e.value.code == 0
    assert (tmp_path / "x.html").is_file()
    assert "x.html" in capsys.readouterr().out


def test_cli_report_on_a_missing_path_prints_one_error_line_and_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["report", str(tmp_path / "nope")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: PATH: ") and "\n" not in err


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_cli_report_writes_vector_figures_with_format(samples, tmp_path, capsys, fmt, magic):
    folder = tmp_path / "figs"
    with pytest.raises(SystemExit) as e:
        main(["report", str(samples / "probe.json"), "--out", str(tmp_path / "x.html"),
              "--figures", str(folder), "--format", fmt])  # fmt: skip
    assert e.value.code == 0
    files = sorted(folder.glob(f"*.{fmt}"))
    assert files and all(f.read_bytes()[: len(magic)] == magic for f in files)
    assert f"{len(files)} {fmt.upper()} files" in capsys.readouterr().out
