"""One set of defaults everywhere: the lab, `probe`, `train` and the study start from these.

- LR: Adam's learning rate when none is given (1e-3, Kingma & Ba 2015). Studies with a [tune]
  table choose each cell's rate instead (docs/protocol.md).
- BATCH_SIZE: examples per training step, and per measuring batch in `probe` and the lab.
- LSTM_FORGET_BIAS: the LSTM forget-gate bias when none is given (1.0: Gers et al. 2000,
  Jozefowicz et al. 2015; the gate starts near sigmoid(1) = 0.73). Other cells keep torch's
  initialization (None).
"""

from __future__ import annotations

LR = 1e-3
BATCH_SIZE = 64
EVAL_BATCH_SIZE = 512
LSTM_FORGET_BIAS = 1.0


def forget_bias_for(cell: str, given: float | None = None, init: str = "default") -> float | None:
    """The forget bias a model of ``cell`` gets: ``given`` when set, else the default.

    Chrono initialization sets the gate biases itself, so it gets none on top.
    """
    if given is not None:
        return given
    return LSTM_FORGET_BIAS if cell == "lstm" and init != "chrono" else None
