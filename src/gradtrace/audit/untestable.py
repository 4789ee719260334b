"""Claims this project cannot check by simulation, measurement or training, each with its reason."""

from __future__ import annotations

from typing import Any

from gradtrace.audit.claim import Finding, claim


def _untestable(reason: str, **evidence: Any) -> Finding:
    return Finding("untestable here", reason, {"reason": reason, **evidence})


@claim(
    id="translation-system-2016",
    seeds=("000",),
    text="In 2016 a production neural machine translation system built on LSTMs cut "
    "translation errors by about 60% against the phrase-based system it replaced.",
    method="none possible: it is a report about one production system and its evaluation",
    theme="untestable",
)
def translation_system_2016(ctx: Any) -> Finding:
    """A historical benchmark result of a system and data set we do not have."""
    return _untestable(
        "a result of one production system, its training data and human ratings; nothing "
        "here can rebuild or re-rate it"
    )


@claim(
    id="language-model-clip-norm",
    seeds=("000",),
    text="Language models reached top results with a maximum gradient norm as low as 0.25; "
    "1.0 and 5 are the common settings.",
    method="none at this scale: it is about language-modeling benchmarks",
    theme="untestable",
)
def language_model_clip_norm(ctx: Any) -> Finding:
    """A benchmark practice claim; the standard study compares the thresholds on adding only."""
    return _untestable(
        "needs language-modeling benchmarks; the standard study's LSTM clip-norm 0.25 / 1 / 5 "
        "ablation compares the thresholds on the adding problem only",
        related_study_variants=["LSTM (clip norm 0.25)", "LSTM", "LSTM (clip norm 5)"],
    )


@claim(
    id="history-and-citations",
    seeds=("003",),
    text="The LSTM was proposed in 1997 after the cause of vanishing gradients was identified "
    "in a 1991 thesis; the GRU followed in 2014.",
    method="none: dates and attributions are bibliographic facts, not measurements",
    theme="untestable",
)
def history_and_citations(ctx: Any) -> Finding:
    """Bibliographic facts."""
    return _untestable("dates and attributions are bibliographic, not measurable")


@claim(
    id="stuck-in-local-minima",
    seeds=("001",),
    text="Small gradients can leave the optimizer stuck in local minima.",
    method="none that can tell a local minimum from a plateau at this scale",
    theme="untestable",
)
def stuck_in_local_minima(ctx: Any) -> Finding:
    """Plateaus are measurable; certifying a local minimum is not."""
    return _untestable(
        "certifying a local minimum needs the loss surface's curvature at the end of training; "
        "the training claims show plateaus at the input-blind baseline (rnn-length-sensitivity), "
        "which are not necessarily minima"
    )


@claim(
    id="gru-smaller-datasets",
    seeds=("003",),
    text="GRUs do especially well against LSTMs on smaller data sets.",
    method="none: the tasks here draw fresh examples every step (no fixed data set size)",
    theme="untestable",
)
def gru_smaller_datasets(ctx: Any) -> Finding:
    """Needs tasks with a fixed, variable-size training set."""
    return _untestable(
        "the tasks generate new examples at every step, so the data-set size cannot be varied; "
        "gru-on-par-with-lstm compares the two on equal budgets"
    )


@claim(
    id="attention-made-transformers-dominant",
    seeds=("002",),
    text="Transformers came to dominate partly because attention avoids long recurrent "
    "gradient chains.",
    method="none: a statement about the history of the field",
    theme="untestable",
)
def attention_made_transformers_dominant(ctx: Any) -> Finding:
    """A causal claim about the field's history; attention-shortcut measures the mechanism."""
    return _untestable(
        "a claim about why the field moved; the mechanism (attention shortens gradient paths) "
        "is measured by attention-shortcut"
    )


@claim(
    id="repetitive-language-output",
    seeds=("002",),
    text="A language model with vanishing gradients produces short, repetitive outputs.",
    method="none at this scale: it needs a trained language model and a judgment of its text",
    theme="untestable",
)
def repetitive_language_output(ctx: Any) -> Finding:
    """A qualitative symptom of text generation."""
    return _untestable(
        "needs a language model trained to convergence and a measure of repetition in its "
        "samples; recency-bias measures the mechanism behind it"
    )
