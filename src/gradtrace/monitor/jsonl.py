"""The JSONL sink: one JSON object per line, appended and flushed record by record.

Every line has "step" and "kind" ("run" | "step" | "profile" | "alert" | "gap"). Each run opens
with a run marker (see ``gradtrace.monitor.runs``), so a rerun appending to the same file is a
new, marked run. A file deleted, moved or truncated while training runs is noticed on the next
write (one ``os.stat``), recreated, and the gap marked in it. Non-finite floats are written as
the strings "nan", "inf", "-inf" so every line is valid JSON (``read_jsonl`` turns them back).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from gradtrace.monitor.alerts import Alert
from gradtrace.monitor.history import History
from gradtrace.monitor.records import ProfileRecord, StepRecord, from_json_safe, json_safe
from gradtrace.monitor.runs import gap_record, new_run_id, run_record, select_run
from gradtrace.monitor.sinks import Sink


class JsonlSink(Sink):
    """Appends the monitor's records to ``path`` as JSON lines, readable while training runs.

    Args:
        path: the file (created with its folders; an existing file is appended to).
        run_id: the id written in this run's marker (default: start time and random digits).
    """

    def __init__(self, path: str | Path, *, run_id: str | None = None) -> None:
        self.path = Path(path)
        self.run_id = run_id or new_run_id()
        self._file: IO[str] | None = None
        self._ident: tuple[int, int] | None = None  # (device, inode) of the open file
        self._end = 0  # the file's size after our last write
        self._parts = 0  # files this run has opened (more than one after a deletion)
        # records in the open file, and their first and last step
        self._lost: tuple[int, int | None, int | None] = (0, None, None)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_file"], state["_ident"] = None, None  # a copy reopens (and marks) on first write
        return state

    def _open(self, step: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self.path.open("a+", encoding="utf-8")
        size = f.seek(0, os.SEEK_END)
        if size:
            f.seek(size - 1)
            if f.read(1) != "\n":  # a line cut short by a run that crashed: end it
                f.write("\n")
        self._file = f
        st = os.fstat(f.fileno())
        self._ident = (st.st_dev, st.st_ino)
        self._parts += 1
        self._emit(run_record(self.run_id, step, continued=self._parts > 1, part=self._parts))

    def _check(self, step: int) -> None:
        """Reopen the file if it went away; mark the records that went with it."""
        try:
            st = os.stat(self.path)
            gone = (st.st_dev, st.st_ino) != self._ident
            reason = "the file was moved or replaced" if gone else "the file was truncated"
            lost = gone or st.st_size < self._end
        except FileNotFoundError:
            lost, reason = True, "the file was deleted"
        if not lost:
            return
        records, first, last = self._lost
        if self._file is not None:
            self._file.close()
            self._file = None
        self._open(step)
        self._emit(gap_record(self.run_id, step, records=records, first=first, last=last,
                              reason=reason))  # fmt: skip
        self._lost = (0, None, None)

    def _emit(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(json.dumps(record, allow_nan=False) + "\n")
        self._file.flush()
        self._end = self._file.tell()

    def _write(self, kind: str, step: int, payload: dict) -> None:
        if self._file is None:
            self._open(step)
        else:
            self._check(step)
        record = {"step": step, "kind": kind, **json_safe(payload)}
        record["step"], record["kind"] = step, kind
        self._emit(record)
        records, first, _ = self._lost
        self._lost = (records + 1, step if first is None else min(first, step), step)

    def write_step(self, rec: StepRecord) -> None:
        """Append a "step" line."""
        self._write("step", rec.step, rec.to_dict())

    def write_profile(self, rec: ProfileRecord) -> None:
        """Append a "profile" line."""
        self._write("profile", rec.step, rec.to_dict())

    def write_alert(self, alert: Alert) -> None:
        """Append an "alert" line (with its full message)."""
        fields = alert.to_dict()
        # the line's "kind" is "alert"; the alert's own kind (exploding, vanishing, ...) is "alert"
        self._write(
            "alert", alert.step, {**fields, "alert": fields.get("kind"), "message": alert.message}
        )

    def close(self, history: History) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_jsonl(
    path: str | Path, *, kind: str | None = None, run: str | None = "latest"
) -> list[dict]:
    """Read a monitor's JSONL file, non-finite floats restored.

    Args:
        kind: only records of this kind ("step", "profile", "alert", "run", "gap").
        run: "latest" (default: the last run appended), a run id, or None for every run.

    A last line cut short by a writer that is still running is ignored.
    """
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(from_json_safe(record))
    records = select_run(records, run)
    return [r for r in records if kind is None or r.get("kind") == kind]
