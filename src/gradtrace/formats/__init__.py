"""Schema models of every file gradtrace reads back, one module per format, and their readers.

Each reader turns a corrupt, foreign, empty, truncated or newer-version file into one
`FormatError` line naming the file, the record and what is wrong; nothing is rendered from
a file that did not validate.
"""

from gradtrace.formats.base import FormatError, read_json, validate
from gradtrace.formats.monitor import read_monitor_log
from gradtrace.formats.probe import validate_probe
from gradtrace.formats.run import validate_run
from gradtrace.formats.store import read_store

__all__ = [
    "FormatError",
    "read_json",
    "read_monitor_log",
    "read_store",
    "validate",
    "validate_probe",
    "validate_run",
]
