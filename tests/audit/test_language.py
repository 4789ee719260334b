"""The language-model claims: the stdlib corpus, the repetition measure, both checks end to end."""

from __future__ import annotations

import math

import pytest

from gradtrace.audit import language
from gradtrace.audit.budget import TINY
from gradtrace.audit.claim import VERDICTS
from gradtrace.audit.context import Context
from gradtrace.audit.registry import CLAIMS


def test_the_corpus_is_the_standard_librarys_own_source_and_the_same_every_time():
    first, again = language.stdlib_corpus(), language.stdlib_corpus()
    assert first.sha256 == again.sha256 and first.files == again.files
    assert len(first.files) >= 6 and first.held_out.numel() > 1000
    assert int(first.train.max()) < language.SYMBOLS and int(first.train.min()) >= 0
    assert first.train.numel() == pytest.approx(9 * first.held_out.numel(), rel=0.01)


def test_encode_maps_printable_ascii_newline_and_the_rest():
    assert language.encode(" ~\n\x01é").tolist() == [0, 94, 95, 96, 96, 96]  # é is 2 bytes


def test_repetition_is_the_share_of_repeated_ngrams():
    assert language.repetition(list(range(40)), n=3) == 0.0
    loop = [0, 1, 2] * 10  # 28 trigrams, 3 distinct
    assert language.repetition(loop, n=3) == pytest.approx(1 - 3 / 28)
    assert language.repetition([1, 2], n=3) == 0.0


def test_a_missing_standard_library_is_said_in_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="standard library"):
        language.stdlib_corpus(tmp_path)


@pytest.mark.parametrize("claim", ["language-model-clip-norm", "repetitive-language-output"])
def test_the_language_model_claims_run_and_keep_their_evidence(claim):
    finding = CLAIMS[claim].check(Context(TINY))
    assert finding.verdict in VERDICTS and finding.verdict != "untestable here"
    assert "\n" not in finding.summary
    evidence = finding.evidence
    assert evidence["steps"] == TINY.lm_steps and evidence["corpus"]["sha256"]
    if claim == "language-model-clip-norm":
        assert set(evidence["held_out_bpc"]) == {"0.25", "1.0", "5.0"}
        assert all(math.isfinite(v) for v in evidence["held_out_bpc"].values())
        assert evidence["unigram_bpc"] < math.log2(language.SYMBOLS)
    else:
        for model in evidence["models"].values():
            assert 0 <= model["repetition"] <= 1 and math.isfinite(model["held_out_bpc"])
