"""Small, faithful re-creations of recurrent code people write, each with an independent reference.

Every entry has: ``build()`` a seeded float64 model; ``batch()`` what that model takes, in its
own format (token ids, tuples, dicts); ``run(model, batch)`` the forward as its training loop
calls it; ``loss(output, batch)``; ``reference(model, batch)`` the expected per-step g of every
traced layer by an independent unrolling written from the equations, every state retained
(autograd on plain tensor ops, no gradtrace); ``cells`` what the user declares, if anything.
One module per model family; ``reference`` holds what the references share.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

import gradtrace

from .awd_lstm import AWDLSTM, AWDEntry, LockedDropout, WeightDrop
from .hand_lstm import HandLSTM, HandLSTMCell, HandLSTMEntry
from .indrnn import IndRNN, IndRNNCell, IndRNNEntry
from .inline_mark import InlineEntry, InlineRNN
from .lstmcell_series import Sequence, SequenceEntry
from .mingru_scan import MinGRU, MinGRUEntry, parallel_scan
from .reference import F64, VOCAB, B, T
from .seq2seq import Decoder, Encoder, Seq2Seq, Seq2SeqEntry
from .word_lm import WordLM, WordLMEntry


class _Defaults:
    """model_batch and train for entries whose model takes the batch's first item."""

    def model_batch(self, model, batch):
        return batch[0]

    def train(self, model, steps, monitor_args=None):
        """A plain Adam loop; the Monitor, when asked for, attaches in one line."""
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        monitor = (
            gradtrace.Monitor(model, opt, cells=self.cells, **monitor_args)
            if monitor_args is not None
            else None
        )
        for step in range(steps):
            batch = self.batch(step)
            opt.zero_grad()
            self.loss(self.run(model, batch), batch).backward()
            opt.step()
        return monitor


for _entry in (WordLMEntry, Seq2SeqEntry, AWDEntry, SequenceEntry, IndRNNEntry, HandLSTMEntry):
    for _name in ("model_batch", "train"):
        if _name not in _entry.__dict__:
            setattr(_entry, _name, getattr(_Defaults, _name))


@dataclass
class Zoo:
    entries: tuple


ZOO = Zoo(
    (
        WordLMEntry(),
        Seq2SeqEntry(),
        AWDEntry(),
        SequenceEntry(),
        IndRNNEntry(),
        HandLSTMEntry(),
        InlineEntry(),
        MinGRUEntry(),
    )
)

__all__ = [
    "AWDLSTM",
    "F64",
    "VOCAB",
    "ZOO",
    "AWDEntry",
    "B",
    "Decoder",
    "Encoder",
    "HandLSTM",
    "HandLSTMCell",
    "HandLSTMEntry",
    "IndRNN",
    "IndRNNCell",
    "IndRNNEntry",
    "InlineEntry",
    "InlineRNN",
    "LockedDropout",
    "MinGRU",
    "MinGRUEntry",
    "Seq2Seq",
    "Seq2SeqEntry",
    "Sequence",
    "SequenceEntry",
    "T",
    "WeightDrop",
    "WordLM",
    "WordLMEntry",
    "Zoo",
    "parallel_scan",
]
