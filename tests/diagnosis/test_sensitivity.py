"""The curse-of-memory sensitivity: closed form, brute force through independent references."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import gradtrace
from gradtrace.diagnosis import diagnose
from gradtrace.diagnosis.sensitivity import OVER_SENSITIVE, parameter_sensitivity
from gradtrace.models.net import build_model
from gradtrace.models.spec import ModelSpec

F64 = torch.float64


@gradtrace.recurrent_cell(recurrent=("lam",), inputs=("b",))
class LinearUnit(nn.Module):
    """h_t = lambda h_(t-1) + b x_t: the paper's one-unit setting."""

    def __init__(self, lam: float) -> None:
        super().__init__()
        self.lam = nn.Parameter(torch.tensor([lam], dtype=F64))
        self.b = nn.Parameter(torch.tensor([1.0], dtype=F64))

    def forward(self, x, h):
        return self.lam * h + self.b * x


class Loop(nn.Module):
    def __init__(self, cell: nn.Module) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, x):  # x (B, T, 1)
        h = torch.zeros(x.shape[0], 1, dtype=x.dtype)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return h


@pytest.mark.parametrize("lam", [0.5, 0.9, 0.99])
def test_linear_unit_matches_the_closed_form_per_sequence(lam):
    torch.manual_seed(0)
    x = torch.randn(3, 60, 1, dtype=F64)
    found = parameter_sensitivity(Loop(LinearUnit(lam)), x, examples=3)
    (layer,) = found.layers
    steps = x.shape[1]
    # dh_T/dlambda = sum_{k=1}^{T-1} k lambda^(k-1) x_(T-k); dh_T/db = h_T (b = 1)
    d_lam = sum(k * lam ** (k - 1) * x[:, steps - 1 - k, 0] for k in range(1, steps))
    h_t = sum(lam**k * x[:, steps - 1 - k, 0] for k in range(steps))
    assert layer.recurrent_rms == pytest.approx(float(d_lam.pow(2).mean().sqrt()), rel=1e-10)
    assert layer.input_rms == pytest.approx(float(h_t.pow(2).mean().sqrt()), rel=1e-10)
    assert layer.ratio == pytest.approx(layer.recurrent_rms / layer.input_rms, rel=1e-12)
    assert layer.name == "cell" and layer.parameter_paths() == ["cell.lam"]


def test_the_ratio_grows_like_the_memory_in_expectation():
    """E ratio^2 = sum k^2 lambda^(2(k-1)) / sum lambda^(2k), about the memory length."""
    torch.manual_seed(1)
    x = torch.randn(400, 80, 1, dtype=F64)
    ratios = {}
    for lam in (0.5, 0.9):
        (layer,) = parameter_sensitivity(Loop(LinearUnit(lam)), x, examples=400).layers
        ratios[lam] = layer.ratio
        exact = math.sqrt(
            sum(k * k * lam ** (2 * (k - 1)) for k in range(1, 80))
            / sum(lam ** (2 * k) for k in range(80))
        )
        assert layer.ratio == pytest.approx(exact, rel=0.15)  # 400 sequences
    assert math.sqrt(1 + 0.81) / (1 - 0.81) == pytest.approx(7.08, rel=1e-2)
    assert ratios[0.9] > 3 * ratios[0.5]


def _reference_lstm(x, params, layers, hidden):
    """A hand-written stacked LSTM in float64 (torch's gate order i, f, g, o)."""
    finals = []
    seq = x
    for layer in range(layers):
        w_ih, w_hh = params[f"weight_ih_l{layer}"], params[f"weight_hh_l{layer}"]
        b = params[f"bias_ih_l{layer}"] + params[f"bias_hh_l{layer}"]
        h = torch.zeros(x.shape[0], hidden, dtype=F64)
        c = torch.zeros_like(h)
        outs = []
        for t in range(seq.shape[1]):
            i, f, g, o = (seq[:, t] @ w_ih.T + h @ w_hh.T + b).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        seq = torch.stack(outs, 1)
        finals.append(torch.cat([h, c], -1))
    return finals


def _rms(jac: torch.Tensor) -> float:
    """sqrt(mean_e ||J_e||_F^2 / P) from a Jacobian (E, n, *param shape) of per-example rows."""
    per_param = jac[0, 0].numel()
    return math.sqrt(float(jac.pow(2).sum()) / jac.shape[0] / per_param)


def test_fused_lstm_equals_brute_force_through_a_reference():
    torch.manual_seed(2)
    lstm = nn.LSTM(3, 5, num_layers=2, batch_first=True)
    x = torch.randn(2, 12, 3)
    found = parameter_sensitivity(lstm, x, examples=2)
    params = {k: v.detach().to(F64) for k, v in lstm.named_parameters()}
    for layer in range(2):

        def final(p, layer=layer):
            return _reference_lstm(x.to(F64), {**params, **p}, 2, 5)[layer]

        names = (f"weight_hh_l{layer}", f"weight_ih_l{layer}")
        jac = torch.func.jacrev(final)({k: params[k] for k in names})  # (E, 2H, *shape)
        # rows of example e only depend on example e: keep the diagonal blocks
        rec = torch.stack([jac[names[0]][e] for e in range(2)])
        inp = torch.stack([jac[names[1]][e] for e in range(2)])
        measured = next(s for s in found.layers if s.name == f"lstm.l{layer}")
        assert measured.recurrent_rms == pytest.approx(_rms(rec), rel=1e-9)
        assert measured.input_rms == pytest.approx(_rms(inp), rel=1e-9)
        assert measured.state_size == 10 and measured.steps == 12


def _reference_indrnn(x, w, b, u):
    h = torch.zeros(x.shape[0], w.shape[0], dtype=F64)
    for t in range(x.shape[1]):
        h = torch.relu(x[:, t] @ w.T + b + u * h)
    return h


def test_indrnn_element_wise_shortcut_equals_brute_force():
    torch.manual_seed(3)
    model = build_model(ModelSpec(cell="indrnn", input_size=2, hidden_size=6, output_size=1))
    x = torch.randn(2, 30, 2)
    (measured,) = parameter_sensitivity(model, x, examples=2).layers
    cell = model.layers[0].cell
    w, b = cell.input.weight.detach().to(F64), cell.input.bias.detach().to(F64)
    u = cell.recurrent_weight().detach().to(F64)
    jac_u = torch.func.jacrev(lambda u: _reference_indrnn(x.to(F64), w, b, u))(u)
    jac_w = torch.func.jacrev(lambda w: _reference_indrnn(x.to(F64), w, b, u))(w)
    rec = torch.stack([jac_u[e] for e in range(2)])
    inp = torch.stack([jac_w[e] for e in range(2)])
    assert measured.recurrent_rms == pytest.approx(_rms(rec), rel=1e-9)
    assert measured.input_rms == pytest.approx(_rms(inp), rel=1e-9)


@pytest.mark.parametrize("cell", ["lru", "mingru", "minlstm"])
def test_element_wise_shortcut_equals_one_pass_per_row(cell, monkeypatch):
    from gradtrace.diagnosis import sensitivity_units

    torch.manual_seed(4)
    model = build_model(ModelSpec(cell=cell, input_size=2, hidden_size=6, output_size=1))
    x = torch.randn(2, 25, 2)
    fast = parameter_sensitivity(model, x, examples=2).layers[0]
    roles = sensitivity_units.diagonal_roles()
    dense = {k: (r, i, 0) for k, (r, i, _) in roles.items()}
    monkeypatch.setattr(sensitivity_units, "diagonal_roles", lambda: dense)
    slow = parameter_sensitivity(model, x, examples=2).layers[0]
    assert fast.recurrent_rms == pytest.approx(slow.recurrent_rms, rel=1e-10)
    assert fast.input_rms == pytest.approx(slow.input_rms, rel=1e-10)
    assert fast.parts == pytest.approx(slow.parts, rel=1e-10)


def _reference_mingru(x, w, bias):
    hidden = w.shape[0] // 2
    h = torch.zeros(x.shape[0], hidden, dtype=F64)
    for t in range(x.shape[1]):
        k, pre = (x[:, t] @ w.T + bias).chunk(2, dim=-1)
        z = torch.sigmoid(k)
        cand = torch.where(pre >= 0, pre + 0.5, torch.sigmoid(pre))
        h = (1 - z) * h + z * cand
    return h


def test_mingru_equals_brute_force_through_the_papers_equations():
    torch.manual_seed(5)
    model = build_model(ModelSpec(cell="mingru", input_size=2, hidden_size=4, output_size=1))
    x = torch.randn(1, 40, 2)
    (measured,) = parameter_sensitivity(model, x).layers
    linear = model.layers[0].linear
    w, bias = linear.weight.detach().to(F64), linear.bias.detach().to(F64)
    jac = torch.func.jacrev(lambda w: _reference_mingru(x.to(F64), w, bias))(w)[0]  # (H, 2H, I)
    assert measured.recurrent_rms == pytest.approx(_rms(jac[None, :, :4]), rel=1e-9)
    assert measured.input_rms == pytest.approx(_rms(jac[None, :, 4:]), rel=1e-9)


def test_the_lru_exponential_modulus_is_tamed_but_its_phase_is_not():
    torch.manual_seed(6)
    spec = ModelSpec(cell="lru", input_size=2, hidden_size=8, output_size=1)
    (layer,) = parameter_sensitivity(build_model(spec), torch.randn(2, 400, 2), examples=2).layers
    modulus = layer.parts["nu_log"] / layer.input_rms
    assert modulus < 2  # dlambda/dnu ~ (1 - |lambda|) cancels the memory
    assert layer.top_part() == "theta_log" and layer.parts["theta_log"] > 10 * layer.parts["nu_log"]


def test_diagnose_reports_sensitivity_verdict_and_advice():
    torch.manual_seed(7)
    model = Loop(LinearUnit(0.995))
    x = torch.randn(2, 300, 1, dtype=F64)
    before = [p.clone() for p in model.parameters()]
    d = diagnose(model, x, loss_fn=lambda out, batch: out.sum(), sensitivity=True)
    (layer,) = d.sensitivity
    assert layer.over_sensitive() and d.verdict == OVER_SENSITIVE
    (rec,) = [r for r in d.recommendations if r.code == "curse-of-memory"]
    assert "cell.lam" in rec.finding and "model.get_parameter('cell.lam')" in rec.advice
    model.get_parameter("cell.lam")  # the pasted path exists
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())
    again = type(d).from_dict(d.to_dict())
    assert again.sensitivity[0].ratio == pytest.approx(layer.ratio)
    assert again.verdict == OVER_SENSITIVE
    assert "over-sensitive (curse of memory)" in d.summary()


def test_diagnose_budget_and_switch():
    torch.manual_seed(8)
    model = nn.LSTM(2, 64, batch_first=True)
    x = torch.randn(2, 2000, 2)
    d = diagnose(model, x)
    assert not d.sensitivity
    assert "exceed the automatic budget" in d.not_computed["sensitivity: lstm.l0"]
    assert "sensitivity=True" in d.not_computed["sensitivity: lstm.l0"]
    small = diagnose(nn.LSTM(2, 4, batch_first=True), torch.randn(2, 20, 2), sensitivity=False)
    assert not small.sensitivity and not any("sensitivity" in k for k in small.not_computed)


def test_diagnose_names_cells_whose_roles_are_unknown():
    class Cell(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)

        def forward(self, x, h):
            return torch.tanh(self.a(h) + x)

    model = Loop(Cell())
    x = torch.randn(2, 10, 3)

    def loop(m, x):
        h = torch.zeros(2, 3)
        for t in range(x.shape[1]):
            h = m.cell(x[:, t], h)
        return h

    d = diagnose(model, x, forward=loop, cells={"cell": None})
    assert "recurrent_cell(recurrent=" in d.not_computed["sensitivity: cell"]


def test_declaration_validates_roles():
    from gradtrace.errors import InvalidValue

    with pytest.raises(InvalidValue, match="inputs"):
        gradtrace.recurrent_cell(recurrent=("w",))
    with pytest.raises(InvalidValue, match="recurrent"):
        gradtrace.recurrent_cell(recurrent="w", inputs=("v",))


@pytest.mark.parametrize(
    "module",
    [
        nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True),
        nn.GRU(3, 4, num_layers=2),
        nn.GRU(3, 4, bias=False, batch_first=True, bidirectional=True),
        nn.RNN(3, 4, nonlinearity="relu", batch_first=True, bidirectional=True),
    ],
    ids=["lstm-2-bi", "gru-2-time-major", "gru-nobias-bi", "relu-rnn-bi"],
)
def test_fused_batched_path_equals_one_backward_pass_per_row(module, monkeypatch):
    from gradtrace.diagnosis import sensitivity_fused

    torch.manual_seed(9)
    x = torch.randn(3, 8, 3) if module.batch_first else torch.randn(8, 3, 3)
    h0 = torch.randn(module.num_layers * (2 if module.bidirectional else 1), 3, 4)
    hx = (h0, torch.randn_like(h0)) if isinstance(module, nn.LSTM) else h0
    fast = parameter_sensitivity(module, (x, hx), examples=2).layers
    monkeypatch.setattr(sensitivity_fused, "fast_path", lambda entry: False)
    slow = parameter_sensitivity(module, (x, hx), examples=2).layers
    assert [s.name for s in fast] == [s.name for s in slow] and len(fast) >= 2
    for a, b in zip(fast, slow, strict=True):
        assert a.recurrent_rms == pytest.approx(b.recurrent_rms, rel=1e-12)
        assert a.input_rms == pytest.approx(b.input_rms, rel=1e-12)
        assert a.state_norm == pytest.approx(b.state_norm, rel=1e-12)
