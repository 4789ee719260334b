"""Tables fit a terminal: prose moves below, wide tables split with their key columns."""

from __future__ import annotations

import io

from rich.console import Console

from gradtrace.terminal import fit_table

SENTENCE = "vanishes beyond T=50 although clipping keeps every step finite, see the profile"


def _render(group, width):
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(group)
    return console.export_text()


def test_a_prose_column_that_would_be_squeezed_moves_below_the_table():
    columns = ["technique", "variant", "longest T (adding)", "time/step", "limitation observed"]
    rows = [["orthogonal init", f"rnn-orth-{i}", "T=100", "1.02x", SENTENCE] for i in range(3)]
    text = _render(fit_table("t", columns, rows, 80, keys=2, prose=columns[-1:]), 80)
    assert max(map(len, text.splitlines())) <= 80
    assert " ".join(text.split()).count(SENTENCE) == 3  # whole sentences, wrapped at words
    assert "orthogonal init / rnn-orth-2:" in text


def test_a_prose_column_with_room_stays_in_the_table_at_120_columns():
    columns = ["technique", "variant", "longest T (adding)", "time/step", "limitation observed"]
    rows = [["orthogonal init", f"rnn-orth-{i}", "T=100", "1.02x", SENTENCE] for i in range(3)]
    text = _render(fit_table("t", columns, rows, 120, keys=2, prose=columns[-1:]), 120)
    assert max(map(len, text.splitlines())) <= 120
    assert "rnn-orth-2:" not in text and len(text.splitlines()) <= 5 + 2 * len(rows)


def test_a_table_wider_than_the_terminal_splits_and_repeats_its_keys():
    columns = ["task", "variant", *(f"T={t}" for t in range(10, 210, 10))]
    rows = [["adding", "lstm-chrono", *("1200 steps" for _ in columns[2:])]]
    text = _render(fit_table("matrix", columns, rows, 80, keys=2), 80)
    assert "matrix (1/" in text and text.count("lstm-chrono") >= 2
    assert max(map(len, text.splitlines())) <= 80
    assert all(c in text for c in columns)
