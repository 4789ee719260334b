"""The claim registry: every checked claim, in report order. Adding one = a function + a line."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gradtrace.audit import (
    architectures,
    behaviour,
    clipping,
    cost,
    curvature,
    data_size,
    decay_claims,
    init_claims,
    language,
    memory_claims,
    relu_claims,
    spectral,
    theory,
    training_claims,
    untestable,
)
from gradtrace.audit.claim import Claim
from gradtrace.errors import InvalidValue

CHECKS: tuple[Callable[[Any], Any], ...] = (
    # theory: exact
    theory.sigmoid_derivative_peak,
    theory.tanh_derivative_peak,
    theory.activation_slopes_typical,
    decay_claims.decay_table_claim,
    decay_claims.scalar_decay_example,
    decay_claims.scalar_factor_regimes,
    memory_claims.vanishing_explains_long_range_failure,
    theory.layer_simulator_formula,
    # spectral radius and orthogonal matrices: exact Jacobian products
    spectral.spectral_radius_rule,
    spectral.spectral_radius_necessary,
    spectral.orthogonal_preserves_norms,
    # clipping
    clipping.clipping_does_not_fix_vanishing,
    clipping.clipping_prevents_small,
    clipping.norm_clipping_keeps_direction,
    clipping.clipping_bounds_exploding,
    # initialization
    init_claims.naive_normal_init,
    init_claims.xavier_he_keep_variance,
    init_claims.init_does_not_stop_decay,
    init_claims.orthogonal_identity_init,
    # activations and architectures: traced on untrained models
    relu_claims.relu_slope_keeps_gradients,
    relu_claims.dying_relu,
    architectures.lstm_cell_state_path,
    architectures.gated_cell_structure,
    architectures.skip_connections_help,
    architectures.layer_norm_helps,
    architectures.attention_shortcut,
    architectures.attention_made_transformers_dominant,
    cost.rnn_lstm_gru_cost,
    cost.truncated_bptt_tradeoff,
    behaviour.recency_bias,
    behaviour.contractive_forgetting,
    behaviour.vanishing_instability,
    behaviour.small_total_norm,
    behaviour.exploding_gradients_overflow,
    # training runs through the study store
    training_claims.rnn_length_sensitivity,
    training_claims.relu_rnn_short_sequences,
    training_claims.gated_cells_long_sequences,
    training_claims.gru_on_par_with_lstm,
    training_claims.lstm_1000_steps,
    # not checkable here
    untestable.translation_system_2016,
    language.language_model_clip_norm,
    untestable.history_and_citations,
    curvature.stuck_in_local_minima,
    data_size.gru_smaller_datasets,
    language.repetitive_language_output,
)


def _registry(checks: Iterable[Callable[[Any], Any]]) -> dict[str, Claim]:
    found: dict[str, Claim] = {}
    for check in checks:
        spec: Claim = check.claim  # type: ignore[attr-defined]
        if spec.id in found:
            raise ValueError(f"claim id {spec.id!r} is registered twice")
        found[spec.id] = spec
    return found


CLAIMS: dict[str, Claim] = _registry(CHECKS)


def select(ids: Iterable[str] | None = None) -> list[Claim]:
    """The claims with these ids in registry order (all when None); unknown ids raise one line."""
    if ids is None:
        return list(CLAIMS.values())
    wanted = list(dict.fromkeys(ids))
    unknown = [i for i in wanted if i not in CLAIMS]
    if unknown:
        raise InvalidValue("--claim", unknown[0], "choose from: " + ", ".join(CLAIMS))
    return [claim for claim in CLAIMS.values() if claim.id in wanted]
