"""Small, faithful re-creations of recurrent code people write, each with an independent reference.

Every entry has: ``build()`` a seeded float64 model; ``batch()`` what that model takes, in its
own format (token ids, tuples, dicts); ``run(model, batch)`` the forward as its training loop
calls it; ``loss(output, batch)``; ``reference(model, batch)`` the expected per-step g of every
traced layer by an independent unrolling written from the equations, every state retained
(autograd on plain tensor ops, no gradtrace); ``cells`` what the user declares, if anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import gradtrace

F64 = torch.float64
VOCAB, T, B = 13, 7, 3


def _w(module: nn.Module, suffix: str = "") -> dict:
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return {n: getattr(module, n + suffix).detach().clone().requires_grad_() for n in names}


def _lstm_step(w, x, h, c):
    i, f, g, o = (x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]).chunk(
        4, -1
    )
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _gru_step(w, x, h):
    gi, gh = x @ w["weight_ih"].T + w["bias_ih"], h @ w["weight_hh"].T + w["bias_hh"]
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def _retain(t: torch.Tensor) -> torch.Tensor:
    t.retain_grad()
    return t


def _last_state_reference(model, y, name: str, step) -> dict[str, torch.Tensor]:
    """Unroll h_t = step(t, h_{t-1}) from zeros, every state retained; MSE of the head on h_T."""
    h, hs = torch.zeros(B, 6, dtype=F64), []
    for t in range(T):
        h = _retain(step(t, h))
        hs.append(h)
    F.mse_loss(model.head(h), y).backward()
    return {name: _g(hs)}


def _g(states: list[torch.Tensor]) -> torch.Tensor:
    """(T,) mean over the batch of ||grad of each retained state||."""
    return torch.stack([torch.linalg.vector_norm(s.grad, dim=-1).mean() for s in states])


# -- 1. word-level LM (PyTorch's word_language_model shape): token ids, time-major, hidden carried


class WordLM(nn.Module):
    """Embedding -> 2-layer nn.LSTM (time-major) -> decoder; forward(input, hidden)."""

    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.2)
        self.encoder = nn.Embedding(VOCAB, 5)
        self.rnn = nn.LSTM(5, hidden, num_layers=2, dropout=0.2)
        self.decoder = nn.Linear(hidden, VOCAB)
        self.hidden = hidden

    def init_hidden(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight = next(self.parameters())
        return weight.new_zeros(2, batch, self.hidden), weight.new_zeros(2, batch, self.hidden)

    def forward(self, tokens: torch.Tensor, hidden: Any) -> tuple[torch.Tensor, Any]:
        emb = self.drop(self.encoder(tokens))  # (T, B, E)
        output, hidden = self.rnn(emb, hidden)
        return self.decoder(self.drop(output)), hidden


def _lm_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    data = torch.randint(0, VOCAB, (T + 1, B), generator=g)
    return data[:-1], data[1:]


class WordLMEntry:
    name = "word_lm"
    cells = None

    def build(self) -> nn.Module:
        torch.manual_seed(1)
        return WordLM().double()

    def batch(self, seed: int = 0) -> Any:
        tokens, targets = _lm_batch(seed)
        return tokens, targets

    def run(self, model, batch, hidden=None):
        tokens, _ = batch
        hidden = model.init_hidden(tokens.shape[1]) if hidden is None else hidden
        return model(tokens, hidden)

    def model_batch(self, model, batch):
        """What the model itself takes: (tokens, hidden)."""
        return batch[0], model.init_hidden(batch[0].shape[1])

    def train(self, model, steps, monitor_args=None):
        """Adam over consecutive BPTT windows, the hidden state carried (detached) across them."""
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        monitor = (
            gradtrace.Monitor(model, opt, **monitor_args) if monitor_args is not None else None
        )
        hidden = model.init_hidden(B)
        for step in range(steps):
            batch = self.batch(step)
            hidden = tuple(h.detach() for h in hidden)
            opt.zero_grad()
            output, hidden = model(batch[0], hidden)
            self.loss((output, hidden), batch).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            opt.step()
        return monitor

    def loss(self, output, batch):
        logits, _ = output
        return F.cross_entropy(logits.reshape(-1, VOCAB), batch[1].reshape(-1))

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        tokens, targets = batch
        x = model.encoder(tokens).detach()
        w = [_w(model.rnn, f"_l{k}") for k in range(2)]
        h = [torch.zeros(B, model.hidden, dtype=F64) for _ in range(2)]
        c = [torch.zeros(B, model.hidden, dtype=F64) for _ in range(2)]
        hs: list[list[torch.Tensor]] = [[], []]
        outs = []
        for t in range(T):
            inp = x[t]
            for k in range(2):
                h[k], c[k] = _lstm_step(w[k], inp, h[k], c[k])
                hs[k].append(_retain(h[k]))
                inp = h[k]
            outs.append(inp)
        logits = model.decoder(torch.stack(outs))
        F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1)).backward()
        return {"rnn.l0": _g(hs[0]), "rnn.l1": _g(hs[1])}


# -- 2. seq2seq chatbot: packed bidirectional GRU encoder, a decoder called once per step


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


# -- 3. AWD-style weight-dropped LSTM with locked (variational) dropout


class LockedDropout(nn.Module):
    """One dropout mask per sequence, shared by every time step (x: (T, B, F))."""

    def forward(self, x: torch.Tensor, p: float = 0.3) -> torch.Tensor:
        if not self.training or not p:
            return x
        mask = x.new_empty(1, x.shape[1], x.shape[2]).bernoulli_(1 - p) / (1 - p)
        return x * mask


class WeightDrop(nn.Module):
    """DropConnect on the recurrent weights of the wrapped nn.LSTM, redrawn every forward."""

    def __init__(self, module: nn.LSTM, weights: list[str], dropout: float) -> None:
        super().__init__()
        self.module, self.weights, self.dropout = module, weights, dropout
        for name in weights:
            raw = getattr(module, name)
            del module._parameters[name]
            self.register_parameter(name + "_raw", nn.Parameter(raw.data))

    def _setweights(self) -> None:
        for name in self.weights:
            raw = getattr(self, name + "_raw")
            setattr(self.module, name, F.dropout(raw, p=self.dropout, training=self.training))

    def forward(self, *args: Any) -> Any:
        self._setweights()
        return self.module(*args)


class AWDLSTM(nn.Module):
    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.encoder = nn.Embedding(VOCAB, 5)
        self.lockdrop = LockedDropout()
        self.rnn = WeightDrop(nn.LSTM(5, hidden), ["weight_hh_l0"], dropout=0.25)
        self.decoder = nn.Linear(hidden, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        emb = self.lockdrop(self.encoder(tokens), 0.2)
        output, _ = self.rnn(emb)
        return self.decoder(self.lockdrop(output, 0.2))


class AWDEntry:
    name = "awd_lstm"
    cells = None

    def build(self) -> nn.Module:
        torch.manual_seed(3)
        return AWDLSTM().double()

    def batch(self, seed: int = 0) -> Any:
        return _lm_batch(seed)

    def run(self, model, batch):
        return model(batch[0])

    def loss(self, output, batch):
        return F.cross_entropy(output.reshape(-1, VOCAB), batch[1].reshape(-1))

    def reference(self, model, batch) -> dict[str, torch.Tensor]:  # eval mode: no dropout
        tokens, targets = batch
        x = model.encoder(tokens).detach()
        lstm = model.rnn.module
        w = {
            "weight_ih": lstm.weight_ih_l0.detach().clone().requires_grad_(),
            "weight_hh": model.rnn.weight_hh_l0_raw.detach().clone().requires_grad_(),
            "bias_ih": lstm.bias_ih_l0.detach().clone().requires_grad_(),
            "bias_hh": lstm.bias_hh_l0.detach().clone().requires_grad_(),
        }
        h = c = torch.zeros(B, 6, dtype=F64)
        hs = []
        for t in range(T):
            h, c = _lstm_step(w, x[t], h, c)
            hs.append(_retain(h))
        logits = model.decoder(torch.stack(hs))
        F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1)).backward()
        return {"rnn.module.l0": _g(hs)}


# -- 4. LSTMCell time series in float64, trained with LBFGS (a closure)


class Sequence(nn.Module):
    """Two stacked LSTMCells over a sine wave, one value per step, as in the time-series example."""

    def __init__(self, hidden: int = 7) -> None:
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)
        self.hidden = hidden

    def forward(self, series: torch.Tensor) -> torch.Tensor:  # (B, T)
        zeros = series.new_zeros(series.shape[0], self.hidden)
        h1, c1, h2, c2 = zeros, zeros, zeros, zeros
        outputs = []
        for x_t in series.split(1, dim=1):
            h1, c1 = self.lstm1(x_t, (h1, c1))
            h2, c2 = self.lstm2(h1, (h2, c2))
            outputs.append(self.linear(h2))
        return torch.cat(outputs, dim=1)


class SequenceEntry:
    name = "lstmcell_series"
    cells = None

    def train(self, model, steps, monitor_args=None):
        """LBFGS with a closure; the monitor records after each optimizer.step(closure)."""
        opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=3)
        monitor = gradtrace.Monitor(model, **monitor_args) if monitor_args is not None else None
        for step in range(steps):
            batch = self.batch(step)

            def closure(batch=batch):
                opt.zero_grad()
                loss = self.loss(self.run(model, batch), batch)
                loss.backward()
                return loss

            opt.step(closure)
            if monitor is not None:
                monitor.step()
        return monitor

    def build(self) -> nn.Module:
        torch.manual_seed(4)
        return Sequence().double()

    def batch(self, seed: int = 0) -> Any:
        steps = torch.arange(T + 1, dtype=F64)
        phase = torch.tensor([[0.0], [0.7], [1.9]], dtype=F64) + seed
        wave = torch.sin(0.4 * steps + phase)
        return wave[:, :-1], wave[:, 1:]

    def run(self, model, batch):
        return model(batch[0])

    def loss(self, output, batch):
        return F.mse_loss(output, batch[1])

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        series, target = batch
        w1, w2 = _w(model.lstm1), _w(model.lstm2)
        z = torch.zeros(B, 7, dtype=F64)
        h1, c1, h2, c2 = z, z, z, z
        hs1, hs2, outs = [], [], []
        for t in range(T):
            h1, c1 = _lstm_step(w1, series[:, t : t + 1], h1, c1)
            h2, c2 = _lstm_step(w2, _retain(h1), h2, c2)
            hs1.append(h1)
            hs2.append(_retain(h2))
            outs.append(model.linear(h2))
        F.mse_loss(torch.cat(outs, 1), target).backward()
        return {"lstm1": _g(hs1), "lstm2": _g(hs2)}


# -- 5. IndRNN: element-wise recurrence, weights kept in |u| <= u_max


class IndRNNCell(nn.Module):
    """h_t = relu(W x_t + u * h_{t-1} + b), |u| clamped to u_max (Li et al. 2018)."""

    def __init__(self, input_size: int, hidden: int, u_max: float = 2.0) -> None:
        super().__init__()
        self.weight_ih = nn.Parameter(torch.randn(hidden, input_size) * 0.5)
        self.u = nn.Parameter(torch.rand(hidden))
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.u_max = u_max

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        u = self.u.clamp(-self.u_max, self.u_max)
        return torch.relu(F.linear(x, self.weight_ih, self.bias) + u * h)


class IndRNN(nn.Module):
    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.cell = IndRNNCell(2, hidden)
        self.head = nn.Linear(hidden, 1)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, 2)
        h = x.new_zeros(x.shape[0], self.hidden)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return self.head(h)


class IndRNNEntry:
    name = "indrnn"
    cells: ClassVar[dict] = {IndRNNCell: None}

    def build(self) -> nn.Module:
        torch.manual_seed(5)
        return IndRNN().double()

    def batch(self, seed: int = 0) -> Any:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(B, T, 2, generator=g, dtype=F64), torch.randn(
            B, 1, generator=g, dtype=F64
        )

    def run(self, model, batch):
        return model(batch[0])

    def loss(self, output, batch):
        return F.mse_loss(output, batch[1])

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        cell = model.cell
        w, u, b = (p.detach().clone().requires_grad_() for p in (cell.weight_ih, cell.u, cell.bias))
        h = torch.zeros(B, 6, dtype=F64)
        hs = []
        for t in range(T):
            h = _retain(torch.relu(x[:, t] @ w.T + b + u.clamp(-2, 2) * h))
            hs.append(h)
        F.mse_loss(model.head(h), y).backward()
        return {"cell": _g(hs)}


# -- 6. a hand-written LSTM cell that returns (h, (h, c)), declared once with the decorator


@gradtrace.recurrent_cell(state=lambda out: out[1])
class HandLSTMCell(nn.Module):
    """An LSTM cell written out by hand: one Linear for all gates, returns (h, (h, c))."""

    def __init__(self, input_size: int, hidden: int) -> None:
        super().__init__()
        self.gates = nn.Linear(input_size + hidden, 4 * hidden)
        self.hidden = hidden

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, c = state
        i, f, g, o = self.gates(torch.cat([x, h], dim=-1)).chunk(4, -1)
        c = torch.sigmoid(f + 1.0) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class HandLSTM(nn.Module):
    def __init__(self, hidden: int = 5) -> None:
        super().__init__()
        self.cell = HandLSTMCell(3, hidden)
        self.head = nn.Linear(hidden, 2)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state = (x.new_zeros(x.shape[0], self.hidden), x.new_zeros(x.shape[0], self.hidden))
        outs = []
        for t in range(x.shape[1]):
            out, state = self.cell(x[:, t], state)
            outs.append(out)
        return self.head(torch.stack(outs, 1))


class HandLSTMEntry:
    name = "hand_lstm"
    cells = None  # declared by the decorator

    def build(self) -> nn.Module:
        torch.manual_seed(6)
        return HandLSTM().double()

    def batch(self, seed: int = 0) -> Any:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(B, T, 3, generator=g, dtype=F64), torch.randn(
            B, T, 2, generator=g, dtype=F64
        )

    def run(self, model, batch):
        return model(batch[0])

    def loss(self, output, batch):
        return F.mse_loss(output, batch[1])

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        lin = model.cell.gates
        w, b = (
            lin.weight.detach().clone().requires_grad_(),
            lin.bias.detach().clone().requires_grad_(),
        )
        h = c = torch.zeros(B, 5, dtype=F64)
        hs, cs = [], []
        for t in range(T):
            i, f, g, o = (torch.cat([x[:, t], h], -1) @ w.T + b).chunk(4, -1)
            c = _retain(torch.sigmoid(f + 1.0) * c + torch.sigmoid(i) * torch.tanh(g))
            h = _retain(torch.sigmoid(o) * torch.tanh(c))
            hs.append(h)
            cs.append(c)
        F.mse_loss(model.head(torch.stack(hs, 1)), y).backward()
        return {"cell": _g(hs), "cell/c": _g(cs)}


# -- 7. an inline recurrence with no module per step, marked


class InlineRNN(nn.Module):
    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.U = nn.Parameter(torch.randn(2, hidden) * 0.5)
        self.W = nn.Parameter(torch.randn(hidden, hidden) / hidden**0.5)
        self.head = nn.Linear(hidden, 1)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], self.hidden)
        for t in range(x.shape[1]):
            h = torch.tanh(x[:, t] @ self.U + h @ self.W)
            h = gradtrace.mark(h, "inline")
        return self.head(h)


class InlineEntry(IndRNNEntry):
    name = "inline_mark"
    cells = None

    def build(self) -> nn.Module:
        torch.manual_seed(7)
        return InlineRNN().double()

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        u, w = model.U.detach().clone(), model.W.detach().clone().requires_grad_()
        return _last_state_reference(
            model, y, "inline", lambda t, h: torch.tanh(x[:, t] @ u + h @ w)
        )


# -- 8. a minGRU-style recurrence computed by a parallel scan, its input marked


def parallel_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t (h_0 = 0) for all t at once, in log space (a in (0, 1))."""
    log_a = torch.cumsum(torch.log(a), dim=1)  # (B, T, H)
    return torch.exp(log_a) * torch.cumsum(b * torch.exp(-log_a), dim=1)


class MinGRU(nn.Module):
    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.to_z = nn.Linear(2, hidden)
        self.to_h = nn.Linear(2, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, 2)
        z = torch.sigmoid(self.to_z(x))
        b = gradtrace.mark_sequence(z * self.to_h(x), "mingru")
        h = parallel_scan(1 - z, b)
        return self.head(h[:, -1])


class MinGRUEntry(IndRNNEntry):
    name = "mingru_scan"
    cells = None

    def build(self) -> nn.Module:
        torch.manual_seed(8)
        return MinGRU().double()

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        z = torch.sigmoid(model.to_z(x)).detach()
        h_tilde = model.to_h(x).detach().requires_grad_()

        def step(t, h):  # the same recurrence, one step at a time
            return (1 - z[:, t]) * h + z[:, t] * h_tilde[:, t]

        return _last_state_reference(model, y, "mingru", step)


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
