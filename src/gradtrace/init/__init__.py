"""In-place initializers for the recurrent layers of any model (gradtrace models or torch modules).

Every function takes a model and changes the matrices that
``gradtrace.models.introspect.recurrent_matrices`` finds in it: torch nn.RNN / nn.LSTM / nn.GRU
(every layer and direction), torch cells and gradtrace cells. Other modules (readouts,
embeddings) are never touched. Random draws use torch's global generator, so
``torch.manual_seed`` makes them repeatable. See ``weights`` and ``biases`` for which tensors
each initializer sets.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from gradtrace.errors import InvalidValue, check_choice
from gradtrace.init._common import check_finite, check_positive
from gradtrace.init.biases import chrono_, forget_bias_
from gradtrace.init.weights import (
    default_,
    he_,
    identity_,
    normal_,
    orthogonal_,
    spectral_,
    spectral_radius,
    xavier_normal_,
    xavier_uniform_,
)

INITIALIZERS: dict[str, Callable[..., nn.Module]] = {
    "default": default_,
    "normal": normal_,
    "xavier_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "he": he_,
    "orthogonal": orthogonal_,
    "identity": identity_,
    "spectral": spectral_,
    "forget_bias": forget_bias_,
    "chrono": chrono_,
}

# what ``scale`` means for each initializer (None: it takes no scale)
SCALE_MEANING: dict[str, str | None] = {
    "default": None,
    "normal": "std (default 1)",
    "xavier_uniform": "gain (default 1)",
    "xavier_normal": "gain (default 1)",
    "he": "gain multiplier (default 1)",
    "orthogonal": "gain (default 1)",
    "identity": "W_hh = scale * I (default 1)",
    "spectral": "spectral radius rho (default 1)",
    "forget_bias": "the forget bias b (default 1)",
    "chrono": "t_max, the longest dependency (required, >= 2)",
}

# initializers that need LSTM / GRU layers, and those for plain RNN layers only
GATED_ONLY: frozenset[str] = frozenset({"forget_bias", "chrono"})
RNN_ONLY: frozenset[str] = frozenset({"identity"})


def apply_init_(
    model: nn.Module,
    name: str,
    *,
    scale: float | None = None,
    forget_bias: float | None = None,
) -> nn.Module:
    """Apply initializer ``name`` (a key of INITIALIZERS), then the forget bias if given.

    ``scale`` means what SCALE_MEANING says for ``name``; ``forget_bias`` sets the effective
    LSTM forget / GRU update-gate bias afterwards (see ``forget_bias_``).
    """
    check_choice("init", name, INITIALIZERS)
    if scale is not None:
        scale = check_positive("init_scale", scale)
        if SCALE_MEANING[name] is None:
            raise InvalidValue("init_scale", scale, f"init {name!r} takes no scale; leave it unset")
    if forget_bias is not None:
        forget_bias = check_finite("forget_bias", forget_bias)
    function = INITIALIZERS[name]
    if name == "chrono":
        if scale is None or scale < 2:
            raise InvalidValue("init_scale", scale, "init 'chrono' needs init_scale = t_max >= 2")
        function(model, scale)
    elif scale is None:
        function(model)
    else:
        function(model, scale)
    if forget_bias is not None:
        forget_bias_(model, forget_bias)
    return model


__all__ = [
    "GATED_ONLY",
    "INITIALIZERS",
    "RNN_ONLY",
    "SCALE_MEANING",
    "apply_init_",
    "chrono_",
    "default_",
    "forget_bias_",
    "he_",
    "identity_",
    "normal_",
    "orthogonal_",
    "spectral_",
    "spectral_radius",
    "xavier_normal_",
    "xavier_uniform_",
]
