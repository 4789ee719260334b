"""Claims this project cannot check by simulation, measurement or training, each with its reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradtrace.audit.claim import Finding, claim


def untestable_claim(
    *,
    id: str,
    seeds: tuple[str, ...],
    text: str,
    method: str,
    doc: str,
    reason: str,
    **evidence: Any,
) -> Callable[[Any], Finding]:
    """A registered check (theme "untestable") that always answers "untestable here" and why."""

    def check(ctx: Any) -> Finding:
        return Finding("untestable here", reason, {"reason": reason, **evidence})

    check.__name__ = check.__qualname__ = id.replace("-", "_")
    check.__doc__ = doc
    return claim(id=id, seeds=seeds, text=text, method=method, theme="untestable")(check)


translation_system_2016 = untestable_claim(
    id="translation-system-2016",
    seeds=("000",),
    text="In 2016 a production neural machine translation system built on LSTMs cut "
    "translation errors by about 60% against the phrase-based system it replaced.",
    method="none possible: it is a report about one production system and its evaluation",
    doc="A historical benchmark result of a system and data set we do not have.",
    reason="a result of one production system, its training data and human ratings; nothing "
    "here can rebuild or re-rate it",
)

history_and_citations = untestable_claim(
    id="history-and-citations",
    seeds=("003",),
    text="The LSTM was proposed in 1997 after the cause of vanishing gradients was identified "
    "in a 1991 thesis; the GRU followed in 2014.",
    method="none: dates and attributions are bibliographic facts, not measurements",
    doc="Bibliographic facts.",
    reason="dates and attributions are bibliographic, not measurable",
)
