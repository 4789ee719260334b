"""A corpus of corrupt result files: each valid sample broken in every way a reader can meet."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradtrace.report.sample import VARIANTS, run_record, write_samples

DEEP = "[" * 100_000 + "]" * 100_000


def _json(data: Any) -> str:
    return json.dumps(data)


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``data`` with the item at ``path`` replaced."""
    data = json.loads(json.dumps(data))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def json_mutations(valid: Any, wrong: dict[str, tuple[tuple[Any, ...], Any]]) -> dict[str, str]:
    """Texts of broken versions of a JSON document: syntax, foreign content, wrong types."""
    text = _json(valid)
    rng = random.Random(13)
    out = {
        "empty": "",
        "blank": "  \n ",
        "truncated-half": text[: len(text) // 2],
        "truncated-10": text[:10],
        "garbage": "".join(chr(rng.randrange(32, 127)) for _ in range(200)),
        "deep": DEEP,
        "foreign-object": _json({"hello": "world"}),
        "foreign-list": _json([1, 2, 3]),
        "empty-list": "[]",
        "string": _json("a probe"),
        "number": "42",
        "null": "null",
        "nulls": _json(dict.fromkeys(valid, None)) if isinstance(valid, dict) else "null",
        "newer-version": _json({**valid, "format_version": 99}),
        "bad-version": _json({**valid, "format_version": "one"}),
    }
    for name, (path, value) in wrong.items():
        out[name] = _json(_set(valid, path, value))
    return out


def _run_record() -> dict[str, Any]:
    return run_record(VARIANTS[0], seq_len=20, seed=0)


RUN_WRONG = {
    "status-unknown": (("status",), "great"),
    "status-number": (("status",), 1),
    "loss-curve-text": (("loss_curve",), "falling"),
    "loss-curve-triples": (("loss_curve",), [[1, 2, 3]]),
    "loss-value-text": (("loss_curve", 0, 1), "low"),
    "steps-text": (("steps",), "10"),
    "steps-bool": (("steps",), True),
    "steps-negative": (("steps",), -5),
    "profiles-number": (("profiles",), 3),
    "profile-g-text": (("profiles", "start", "profile", "layers", 0, "g", 0), "big"),
    "task-spec-list": (("task_spec",), [1]),
}
PROBE_WRONG = {
    "g-text": (("diagnosis", "profile", "layers", 0, "g", 0), "oops"),
    "g-bool": (("diagnosis", "profile", "layers", 0, "g", 0), True),
    "layers-object": (("diagnosis", "profile", "layers"), {"a": 1}),
    "verdict-unknown": (("diagnosis", "verdict"), "great"),
    "verdict-number": (("verdict",), 3),
    "eps-text": (("diagnosis", "eps"), "small"),
    "eps-out-of-range": (("diagnosis", "eps"), 5.0),
    "spectra-text": (("diagnosis", "spectra"), "round"),
    "radius-text": (("diagnosis", "spectra", 0, "spectral_radius"), "one"),
    "spec-text": (("spec",), "rnn"),
    "diagnosis-list": (("diagnosis",), [1]),
}


def _monitor_mutations(lines: list[str]) -> dict[str, str]:
    records = [json.loads(line) for line in lines]
    first = next(r for r in records if r.get("kind") == "step")  # the first step record
    body = "\n".join(lines) + "\n"
    return {
        "empty": "",
        "blank": "\n\n",
        "broken-middle": "\n".join([lines[0], "{not json", *lines[1:]]) + "\n",
        "list-line": "\n".join([lines[0], "[1, 2]"]) + "\n",
        "kind-unknown": _json({**first, "kind": "weather"}) + "\n" + body,
        "kind-missing": _json({k: v for k, v in first.items() if k != "kind"}) + "\n",
        "step-text": _json({**first, "step": "5"}) + "\n",
        "step-negative": _json({**first, "step": -1}) + "\n",
        "step-bool": _json({**first, "step": True}) + "\n",
        "norm-text": _json({**first, "global_norm": "big"}) + "\n",
        "newer-version": _json({**first, "format_version": 99}) + "\n",
        "deep-line": DEEP + "\n",
        "only-partial": lines[0][: len(lines[0]) // 2],
        "garbage-bytes": "\x00\x01\x02 not a log\n",
    }


StoreBreak = Callable[[sqlite3.Connection], None]

STORE_BREAKS: dict[str, StoreBreak] = {
    "newer-schema": lambda db: db.execute(
        "UPDATE meta SET value = '99' WHERE name = 'schema_version'"
    ),
    "schema-text": lambda db: db.execute(
        "UPDATE meta SET value = '\"one\"' WHERE name = 'schema_version'"
    ),
    "config-not-json": lambda db: db.execute("UPDATE runs SET config = 'not json'"),
    "config-list": lambda db: db.execute("UPDATE runs SET config = '[1, 2]'"),
    "record-status": lambda db: db.execute(
        "UPDATE runs SET record = json_set(record, '$.status', 'great')"
    ),
    "record-curve-text": lambda db: db.execute(
        "UPDATE runs SET record = json_set(record, '$.loss_curve', 'falling')"
    ),
    "record-truncated": lambda db: db.execute("UPDATE runs SET record = substr(record, 1, 40)"),
    "seq-len-text": lambda db: db.execute("UPDATE runs SET seq_len = 'ten'"),
    "status-unknown": lambda db: db.execute("UPDATE runs SET status = 'weird'"),
    "metric-text": lambda db: db.execute("UPDATE runs SET metric = 'good'"),
    "meta-not-json": lambda db: db.execute("UPDATE meta SET value = '{oops'"),
    "audit-not-object": lambda db: db.execute(
        "UPDATE json_records SET payload = '\"text\"' WHERE kind = 'audit'"
    ),
    "audit-verdict-number": lambda db: db.execute(
        "UPDATE json_records SET payload = json_set(payload, '$.verdict', 7) WHERE kind = 'audit'"
    ),
    "audit-deep": lambda db: db.execute(
        "UPDATE json_records SET payload = ? WHERE kind = 'audit'", ("[" * 5000 + "]" * 5000,)
    ),
    "foreign-tables": lambda db: db.executescript(
        "DROP TABLE runs; DROP TABLE meta; DROP TABLE json_records; CREATE TABLE users (x);"
    ),
}


def write_corpus(folder: Path) -> list[tuple[str, Path]]:
    """Write every corrupt file under ``folder``; (case id, path) of each."""
    samples = write_samples(folder / "valid")
    cases: list[tuple[str, Path]] = []

    def add(case: str, path: Path, text: str | bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        cases.append((case, path))

    probe = json.loads((samples / "probe.json").read_text())
    compare = {"results": [probe, probe]}
    for kind, valid, wrong in (
        ("run", _run_record(), RUN_WRONG),
        ("probe", probe, PROBE_WRONG),
        (
            "compare",
            compare,
            {"result-g-text": (("results", 1, "diagnosis", "profile", "layers", 0, "g", 0), "x")},
        ),
    ):
        for name, text in json_mutations(valid, wrong).items():
            add(f"{kind}.json {name}", folder / kind / f"{name}.json", text)
        add(f"{kind}.json latin-1", folder / kind / "latin-1.json", b'{"status": "\xe9"}')
    lines = (samples / "monitor.jsonl").read_text().splitlines()
    for name, text in _monitor_mutations(lines).items():
        add(f"monitor.jsonl {name}", folder / "monitor" / f"{name}.jsonl", text)
    store = samples / "study" / "results.sqlite"
    raw = store.read_bytes()
    rng = random.Random(13)
    for name, data in (
        ("empty", b""),
        ("garbage", bytes(rng.randrange(256) for _ in range(4096))),
        ("text", b"this is not a database\n" * 20),
        ("header-only", raw[:100]),
        ("truncated-half", raw[: len(raw) // 2]),
    ):
        add(f"results.sqlite {name}", folder / "stores" / name / "results.sqlite", data)
    for name, breaker in STORE_BREAKS.items():
        target = folder / "stores" / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(store, target / "results.sqlite")
        with sqlite3.connect(target / "results.sqlite") as db:
            breaker(db)
        db.close()
        cases.append((f"results.sqlite {name}", target / "results.sqlite"))
    return cases
