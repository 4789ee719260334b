"""Frontier cells: each equals a loop written from its paper, traces exactly, and keeps its form."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

import gradtrace
from gradtrace.errors import InvalidValue
from gradtrace.models import ModelSpec, build_model
from gradtrace.models.spec import FRONTIER_CELLS

B, T = 3, 12


def _load_references() -> dict:
    """The brute-force loops of frontier_reference.py beside this file."""
    path = Path(__file__).with_name("frontier_reference.py")
    spec = importlib.util.spec_from_file_location("gradtrace_tests_frontier_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.REFERENCES


REFERENCES = _load_references()


def _model(cell: str, *, backend: str = "auto", layers: int = 2, seed: int = 0, **fields):
    torch.manual_seed(seed)
    spec = ModelSpec(
        cell=cell,
        input_size=2,
        hidden_size=6,
        num_layers=layers,
        readout="all",
        backend=backend,
        **fields,
    )
    return build_model(spec).double()


def _x(seed: int = 1, steps: int = T) -> torch.Tensor:
    return torch.randn(B, steps, 2, generator=torch.Generator().manual_seed(seed)).double()


def _extra(cell: str) -> dict:
    # short sequences: a ring and a phase that make the LRU's states move visibly
    if cell == "lru":
        return {"r_min": 0.5, "r_max": 0.95, "max_phase": 3.0, "state_size": 5}
    if cell == "exprnn":
        return {"activation": "modrelu"}
    if cell == "selective_ssm":
        return {"state_size": 4}
    if cell == "indrnn":
        return {"horizon": 10}
    return {}


@pytest.mark.parametrize("backend", ["auto", "loop"])
@pytest.mark.parametrize("cell", FRONTIER_CELLS)
def test_every_frontier_layer_equals_the_papers_step_loop(cell, backend):
    model = _model(cell, backend=backend, **_extra(cell))
    x = _x()
    out = x
    for layer in model.layers:
        expected, _ = REFERENCES[cell](layer, out)
        got, _ = layer(out)
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
        out = got


@pytest.mark.parametrize("cell", FRONTIER_CELLS)
def test_trace_of_every_frontier_cell_equals_an_independent_unrolling(cell):
    model = _model(cell, **_extra(cell))
    x = _x()
    weights = torch.linspace(-1, 1, B * T).double().view(B, T, 1)
    with gradtrace.trace(model) as tr:
        (model(x) * weights).sum().backward()
    profile = tr.profile

    out, per_layer = x, []
    for layer in model.layers:  # the same network, unrolled by hand, every state retained
        out, states = REFERENCES[cell](layer, out)
        per_layer.append(states)
    (model.readout(out) * weights).sum().backward()
    expected_names = [
        f"layers.{i}.cell" if cell in ("indrnn", "exprnn") else f"layers.{i}" for i in range(2)
    ]
    assert profile.names == expected_names
    for name, states in zip(expected_names, per_layer, strict=True):
        g = torch.stack([s.grad.reshape(B, -1).abs().norm(dim=1).mean() for s in states])
        assert float(g.min()) > 0
        got = torch.as_tensor(profile.layer(name).g, dtype=torch.float64)
        torch.testing.assert_close(got, g, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cell", FRONTIER_CELLS)
def test_diagnose_runs_on_every_frontier_cell(cell):
    model = _model(cell, layers=1, **_extra(cell))
    diagnosis = gradtrace.diagnose(model, _x())
    assert diagnosis.profile.names
    exponents = diagnosis.lyapunov[0].exponents
    assert exponents and all(math.isfinite(e) for e in exponents)
    # step cells: Jacobians of the cell's own forward; scans: exact from their decays a_t
    method = "autograd" if cell in ("indrnn", "exprnn") else "analytic"
    assert diagnosis.lyapunov[0].method == method
    assert diagnosis.lyapunov[0].name == diagnosis.profile.names[0]
    assert not any(key.startswith("lyapunov") for key in diagnosis.not_computed)
    (sensitivity,) = diagnosis.sensitivity  # the curse of memory, for every new cell
    assert sensitivity.name == diagnosis.profile.names[0]
    assert math.isfinite(sensitivity.ratio) and sensitivity.ratio > 0


def test_indrnn_lyapunov_exponents_are_the_logs_of_its_recurrent_weights():
    model = _model("indrnn", layers=1, horizon=10)
    cell = model.layers[0].cell
    with torch.no_grad():
        cell.input.bias.fill_(10.0)  # every unit active: J_t = diag(u) at every step
    steps = 300
    diagnosis = gradtrace.diagnose(model, _x(steps=steps), k=6)
    expected = sorted(torch.log(cell.recurrent_weight().detach().abs()).tolist(), reverse=True)
    got = diagnosis.lyapunov[0].exponents
    # QR from a random frame: the sum (log |det J|) is exact, each exponent exact up to O(1/T)
    assert sum(got) == pytest.approx(sum(expected), rel=1e-9, abs=1e-12)
    assert got == pytest.approx(expected, abs=3.0 / steps)


def test_lru_lambdas_start_uniform_on_the_ring_with_gamma_normalization():
    torch.manual_seed(0)
    spec = ModelSpec(
        cell="lru", hidden_size=8, state_size=4096, r_min=0.4, r_max=0.8, max_phase=1.0
    )
    layer = build_model(spec).layers[0]
    lam = layer.eigenvalues().detach()
    radius, phase = lam.abs(), lam.angle()
    assert float(radius.min()) >= 0.4 and float(radius.max()) <= 0.8
    assert float(phase.min()) >= 0.0 and float(phase.max()) <= 1.0
    # |lambda|^2 ~ U(r_min^2, r_max^2): mean (0.16 + 0.64) / 2 = 0.4, sd 0.139 / sqrt(4096)
    assert float((radius**2).mean()) == pytest.approx(0.4, abs=0.01)
    assert float(phase.mean()) == pytest.approx(0.5, abs=0.02)
    gamma = torch.exp(layer.gamma_log).detach()
    torch.testing.assert_close(gamma, torch.sqrt(1 - radius**2), rtol=1e-5, atol=1e-6)


def test_lru_defaults_are_the_long_range_ring():
    assert ModelSpec(cell="lru").lru_ring() == (0.9, 0.999, 2 * math.pi)
    layer = build_model({"cell": "lru", "hidden_size": 16}).layers[0]
    radius = layer.eigenvalues().detach().abs()
    assert float(radius.min()) >= 0.9 and float(radius.max()) <= 0.999


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_exprnn_stays_orthogonal_after_optimizer_steps(dtype, tol):
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # built in this precision from the start
    try:
        torch.manual_seed(0)
        model = build_model({"cell": "exprnn", "input_size": 2, "hidden_size": 6})
    finally:
        torch.set_default_dtype(default)
    weight = model.layers[0].cell.recurrent
    before = weight.weight.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(5):
        optimizer.zero_grad()
        model(_x(seed=step).to(dtype)).pow(2).sum().backward()
        optimizer.step()
    after = weight.weight.detach()
    assert float((after - before).abs().max()) > 1e-3  # it trained
    eye = torch.eye(after.shape[0], dtype=dtype)
    torch.testing.assert_close(after.T @ after, eye, rtol=0, atol=tol)


def test_exprnn_starts_as_the_henaff_block_rotation():
    torch.manual_seed(0)
    weight = build_model({"cell": "exprnn", "hidden_size": 8}).layers[0].cell.recurrent.weight
    weight = weight.detach().double()
    eigenvalues = torch.linalg.eigvals(weight)
    torch.testing.assert_close(
        eigenvalues.abs(), torch.ones(8, dtype=torch.float64), atol=1e-6, rtol=0
    )
    assert float(weight[0, 0]) == pytest.approx(float(weight[1, 1]), abs=1e-6)  # cos s, cos s
    assert float(weight[:2, 2:].abs().max()) < 1e-6  # block diagonal


def test_indrnn_constraint_holds_for_any_stored_weight():
    model = _model("indrnn", layers=2, horizon=50)
    first, last = model.layers[0].cell, model.layers[1].cell
    bound = 2 ** (1 / 50)
    u = first.u.detach()
    assert float(u.min()) >= 0 and float(u.max()) <= bound
    assert float(last.u.detach().min()) >= 2 ** (-1 / 50)  # long memory in the last layer
    with torch.no_grad():
        first.u.fill_(3.0)
    assert float(first.recurrent_weight().detach().max()) == pytest.approx(bound)
    first.constrain_()
    assert float(first.u.detach().max()) == pytest.approx(bound)


@pytest.mark.parametrize("cell", ["lru", "mingru", "minlstm", "selective_ssm"])
def test_scan_equals_the_step_loop_at_t_1000(cell):
    x = _x(steps=1000)
    results = []
    for backend in ("auto", "loop"):
        model = _model(cell, backend=backend, layers=1)
        out = model(x)
        out.pow(2).mean().backward()
        results.append((out.detach(), [p.grad for p in model.parameters()]))
    (scan_out, scan_grads), (loop_out, loop_grads) = results
    torch.testing.assert_close(scan_out, loop_out, rtol=1e-6, atol=1e-9)
    for got, expected in zip(scan_grads, loop_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_the_papers_log_space_form_gives_the_same_numbers(cell):
    model = _model(cell, layers=1)
    x = _x(steps=300)
    linear, _ = model.layers[0](x)
    model.layers[0].log_space = True
    logs, _ = model.layers[0](x)
    expected, _ = REFERENCES[cell](model.layers[0], x)
    torch.testing.assert_close(logs, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(linear, expected, rtol=1e-10, atol=1e-12)


def test_states_can_be_carried_across_chunks():
    for cell in FRONTIER_CELLS:
        model = _model(cell, layers=2, **_extra(cell))
        x = _x(steps=10)
        whole = model(x)
        first, state = model(x[:, :4], return_state=True)
        second, _ = model(x[:, 4:], state, return_state=True)
        torch.testing.assert_close(torch.cat([first, second], 1), whole, msg=cell)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cell": "lru", "r_min": 0.95, "r_max": 0.9}, "r_max: 0.9 is not allowed"),
        ({"cell": "lru", "r_min": 0.9995}, "r_min: 0.9995 is not allowed; a radius below"),
        ({"cell": "lru", "r_max": 1.0}, "|lambda| = 1 or more is unstable"),
        ({"cell": "lru", "max_phase": 7.0}, "max_phase: 7.0 is not allowed"),
        ({"cell": "gru", "r_min": 0.5}, "r_min is for cell lru"),
        ({"cell": "mingru", "backend": "fused"}, "mingru has no fused kernel"),
        ({"cell": "lru", "init": "orthogonal"}, "its paper's own initialization"),
        ({"cell": "exprnn", "activation": "relu"}, "exprnn takes modrelu"),
        ({"cell": "rnn", "activation": "modrelu"}, "modrelu is for cell exprnn"),
        ({"cell": "indrnn", "layer_norm": True}, "layer_norm is for cells rnn, lstm, gru"),
        ({"cell": "minlstm", "forget_bias": 1.0}, "forget_bias needs cell lstm or gru"),
        ({"cell": "lstm", "horizon": 100}, "horizon is for cell indrnn"),
    ],
)
def test_bad_frontier_fields_give_one_line_errors(fields, message):
    with pytest.raises(InvalidValue, match=None) as error:
        ModelSpec(**fields)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_old_spec_keys_do_not_change():
    # frontier fields left unset stay out of the key (the key is the one before they existed)
    assert ModelSpec().key() == "70afc5bea8494aaa"
    assert ModelSpec(cell="lru").key() != ModelSpec(cell="lru", r_min=0.5).key()


def _lru_real_step(layer, x_t, h):
    """One LRU step in real coordinates [re, im] (the reference equations), for Jacobians."""
    lam = torch.exp(-torch.exp(layer.nu_log) + 1j * torch.exp(layer.theta_log))
    z = torch.complex(h[0::2], h[1::2])
    out = lam * z + x_t
    return torch.stack([out.real, out.imag], dim=-1).flatten()


def test_lru_spectrum_and_exponents_are_exact_from_lambda():
    from gradtrace.models.frontier import diagonal_dynamics, diagonal_spectra

    model = _model("lru", layers=1, **_extra("lru"))
    layer = model.layers[0]
    jacobian = torch.func.jacrev(lambda h: _lru_real_step(layer, 0.3, h))(
        torch.randn(10, dtype=torch.float64)
    )  # (2N, 2N): dh_t/dh_(t-1) in real coordinates
    dense = torch.linalg.eigvals(jacobian.detach())
    (spectrum,) = diagonal_spectra(model)
    assert spectrum.spectral_radius == pytest.approx(float(dense.abs().max()), rel=1e-12)
    assert spectrum.max_singular == pytest.approx(
        float(torch.linalg.matrix_norm(jacobian.detach(), ord=2)), rel=1e-12
    )
    (dynamics,) = diagonal_dynamics(model, _x())
    expected = sorted(torch.log(dense.abs()).tolist(), reverse=True)
    assert dynamics.exponents == pytest.approx(expected, rel=1e-12)
    assert dynamics.state_size == 10 and dynamics.method == "analytic"


def _decays(cell, layer, x):
    """a_t (T, n) of example 0 from the papers' equations: the diagonal of dh_t/dh_(t-1)."""
    if cell == "mingru":
        w, b = layer.linear.weight, layer.linear.bias
        k, _ = (x[0] @ w.T + b).chunk(2, dim=-1)
        return 1 - torch.sigmoid(k)
    if cell == "minlstm":
        w, b = layer.linear.weight, layer.linear.bias
        k_f, k_i, _ = (x[0] @ w.T + b).chunk(3, dim=-1)
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
        return f / (f + i)
    u = x[0] @ layer.in_proj.weight.T + layer.in_proj.bias
    v = torch.nn.functional.silu(u[:, : layer.hidden_size])
    dt_in = (v @ layer.x_proj.weight.T)[:, : layer.rank]
    delta = torch.nn.functional.softplus(dt_in @ layer.dt_proj.weight.T + layer.dt_proj.bias)
    return torch.exp(delta[:, :, None] * -torch.exp(layer.A_log)).flatten(1)


@pytest.mark.parametrize("cell", ["mingru", "minlstm", "selective_ssm"])
def test_input_dependent_exponents_are_the_mean_log_decay_along_the_trajectory(cell):
    from gradtrace.models.frontier import diagonal_dynamics

    model = _model(cell, layers=1, **_extra(cell))
    x = _x()
    (dynamics,) = diagonal_dynamics(model, x)
    with torch.no_grad():
        a = _decays(cell, model.layers[0], x)  # (T, n)
    expected = sorted(torch.log(a).mean(0).tolist(), reverse=True)
    assert dynamics.exponents == pytest.approx(expected, rel=1e-10, abs=1e-12)
    # ||J_T ... J_(T-k+1)||_2 of diagonal J_t: the largest product of |a| over the last k steps
    for lag, norm in zip(dynamics.lags, dynamics.product_norms, strict=True):
        assert norm == pytest.approx(float(a[-lag:].prod(0).max()), rel=1e-10)


def test_exprnn_left_without_an_activation_is_the_paper_s_modrelu():
    assert ModelSpec(cell="exprnn").activation == "modrelu"
    assert ModelSpec(cell="exprnn", activation=None).activation == "modrelu"
    assert ModelSpec.model_validate_json('{"cell": "exprnn"}').activation == "modrelu"
    assert ModelSpec(cell="exprnn", activation="tanh").activation == "tanh"
    assert ModelSpec(activation=None).activation == "tanh"
    assert ModelSpec(cell="lstm").activation == "tanh"
    cells = [m for m in build_model(ModelSpec(cell="exprnn", hidden_size=4)).modules()
             if type(m).__name__ == "ExpRNNCell"]  # fmt: skip
    assert cells and all(cell.activation == "modrelu" for cell in cells)
