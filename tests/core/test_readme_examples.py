"""Every Python example in the README runs as written (sizes shrunk where a block would train)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)

# Text edits that keep an example's meaning but make it run in seconds.
SHRINK = {
    "max_steps=2000": "max_steps=20",
    "workers=2)": "workers=1)",
}


class Encoder(nn.Module):
    """A model written without gradtrace in mind: embedding -> 2-layer LSTM -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.encoder = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.encoder(self.embed(tokens))
        return self.head(out[:, -1])


def _namespace() -> dict:
    """What the README's snippets take as given: a model, a batch, a loss and a loader."""
    model = Encoder()
    x = torch.randint(0, 10, (4, 12))
    y = torch.randint(0, 10, (4,))
    return {
        "model": model,
        "x": x,
        "y": y,
        "criterion": nn.CrossEntropyLoss(),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
        "loader": [(x, y)] * 3,
        "any_torch_rnn": nn.GRU(3, 5, num_layers=2),
    }


def _tiny_quick_preset(name: str):
    from gradtrace.study.loading import spec_from_dict
    from gradtrace.study.presets import QUICK

    small = {
        **QUICK,
        "seq_lens": [10],
        "variant": QUICK["variant"][:2],
        "budget": {"max_steps": 20, "max_seconds": 30.0},
    }
    return spec_from_dict(small)


def test_the_readme_has_its_python_examples():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_python_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = BLOCKS[index]
    for old, new in SHRINK.items():
        code = code.replace(old, new)
    namespace = _namespace()
    if "Trainer(" in code:
        from lightning.pytorch import Trainer

        namespace["Trainer"] = Trainer
    if "preset(" in code:
        monkeypatch.setattr("gradtrace.study.presets.preset", _tiny_quick_preset)
    compiled = compile(code, f"README.md example {index}", "exec")
    if "for x, y in loader" in code:  # the example's 12-step LSTM really does lose its gradient
        from gradtrace.monitor import GradtraceWarning

        with pytest.warns(GradtraceWarning, match="vanishing gradient in encoder"):
            exec(compiled, namespace)
    else:
        exec(compiled, namespace)
    if "gradtrace.trace(model)" in code:
        assert namespace["profile"].layer("encoder.l1").g.shape == (12,)
    if "run_study" in code:
        assert (tmp_path / "runs" / "quick" / "results.sqlite").is_file()
