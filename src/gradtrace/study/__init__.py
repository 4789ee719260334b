"""Many training runs from one spec: grid, presets, resumable SQLite store, executors, tables."""

from __future__ import annotations

from gradtrace._lazy import lazy_getattr

# public name -> module that defines it; imported on first use so the package stays light
_EXPORTS: dict[str, str] = {
    "StudySpec": "gradtrace.study.spec",
    "Variant": "gradtrace.study.spec",
    "Grid": "gradtrace.study.spec",
    "RunConfig": "gradtrace.study.expand",
    "expand": "gradtrace.study.expand",
    "config_key": "gradtrace.study.expand",
    "load_spec": "gradtrace.study.loading",
    "spec_from_dict": "gradtrace.study.loading",
    "SpecError": "gradtrace.study.loading",
    "dumps_toml": "gradtrace.study.toml_out",
    "PRESETS": "gradtrace.study.presets",
    "preset": "gradtrace.study.presets",
    "Store": "gradtrace.study.store",
    "open_store": "gradtrace.study.store",
    "STORE_NAME": "gradtrace.study.store",
    "run_study": "gradtrace.study.runner",
    "StudySummary": "gradtrace.study.runner",
    "RichProgress": "gradtrace.study.progress",
    "StudyTable": "gradtrace.study.tables",
    "build_tables": "gradtrace.study.tables",
    "study_tables": "gradtrace.study.tables",
    "render_tables": "gradtrace.study.table_io",
    "write_tables": "gradtrace.study.table_io",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
