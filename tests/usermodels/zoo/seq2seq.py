"""Seq2seq chatbot: packed bidirectional GRU encoder, a decoder called once per step."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .reference import F64, VOCAB, B, T, _g, _gru_step, _retain, _w


class Encoder(nn.Module):
    def __init__(self, hidden: int = 5) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 4)
        self.gru = nn.GRU(4, hidden, bidirectional=True)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor):
        packed = pack_padded_sequence(self.embedding(src), lengths, enforce_sorted=False)
        outputs, hidden = self.gru(packed)
        outputs, _ = pad_packed_sequence(outputs)
        return outputs, hidden[0] + hidden[1]  # (1 direction-summed) (B, H)


class Decoder(nn.Module):
    def __init__(self, hidden: int = 5) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 4)
        self.gru = nn.GRU(4, hidden)
        self.out = nn.Linear(hidden, VOCAB)

    def forward(self, token: torch.Tensor, hidden: torch.Tensor):
        output, hidden = self.gru(self.embedding(token).unsqueeze(0), hidden)  # one step
        return self.out(output.squeeze(0)), hidden


class Seq2Seq(nn.Module):
    """Encoder and decoder in one container; teacher forcing over the target tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def forward(self, src, lengths, tgt):
        _, hidden = self.encoder(src, lengths)
        hidden = hidden.unsqueeze(0)
        logits = []
        for t in range(tgt.shape[0] - 1):
            step, hidden = self.decoder(tgt[t], hidden)
            logits.append(step)
        return torch.stack(logits)  # (T_dec, B, V)


class Seq2SeqEntry:
    name = "seq2seq"
    cells = None

    def build(self) -> nn.Module:
        torch.manual_seed(2)
        return Seq2Seq().double()

    def batch(self, seed: int = 0) -> Any:
        g = torch.Generator().manual_seed(seed)
        return {
            "src": torch.randint(0, VOCAB, (T, B), generator=g),
            "lengths": torch.tensor([T, T - 2, T - 4]),
            "tgt": torch.randint(0, VOCAB, (5, B), generator=g),
        }

    def run(self, model, batch):
        return model(**batch)

    def model_batch(self, model, batch):
        """What the model itself takes: keyword arguments."""
        return batch

    def loss(self, output, batch):
        return F.cross_entropy(output.reshape(-1, VOCAB), batch["tgt"][1:].reshape(-1))

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        src, lengths, tgt = batch["src"], batch["lengths"], batch["tgt"]
        x = model.encoder.embedding(src).detach()
        enc = model.encoder.gru
        wf, wr = _w(enc, "_l0"), _w(enc, "_l0_reverse")
        fwd: list[list] = [[None] * B for _ in range(T)]
        rev: list[list] = [[None] * B for _ in range(T)]
        finals = []
        for j in range(B):
            n = int(lengths[j])
            h = torch.zeros(5, dtype=F64)
            for t in range(n):
                h = _retain(_gru_step(wf, x[t, j], h))
                fwd[t][j] = h
            hf, h = h, torch.zeros(5, dtype=F64)
            for t in reversed(range(n)):
                h = _retain(_gru_step(wr, x[t, j], h))
                rev[t][j] = h
            finals.append(hf + h)
        hidden = torch.stack(finals)  # (B, H)
        dec = model.decoder
        wd = _w(dec.gru, "_l0")
        dec_states, logits = [], []
        for t in range(tgt.shape[0] - 1):
            hidden = _retain(_gru_step(wd, dec.embedding(tgt[t]).detach(), hidden))
            dec_states.append(hidden)
            logits.append(dec.out(hidden))
        F.cross_entropy(torch.stack(logits).reshape(-1, VOCAB), tgt[1:].reshape(-1)).backward()

        def packed_g(rows):
            return torch.stack(
                [
                    torch.stack(
                        [torch.linalg.vector_norm(s.grad) for s in r if s is not None]
                    ).mean()
                    for r in rows
                ]
            )

        return {
            "encoder.gru.l0": packed_g(fwd),
            "encoder.gru.l0.reverse": packed_g(rev),
            "decoder.gru.l0": _g(dec_states),
        }
