"""Specs, study TOML and the web API refuse every wrong-typed or out-of-range value in one line."""

from __future__ import annotations

import json
import tomllib

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JSONISH, NOT_A_NUMBER, one_bad_field

from gradtrace.diagnosis.probing import ProbeSpec
from gradtrace.errors import InvalidValue
from gradtrace.models import ModelSpec
from gradtrace.study.loading import spec_from_dict
from gradtrace.tasks import TaskSpec
from gradtrace.training import TrainSpec
from gradtrace.web.app import create_app

FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MODEL_NUMBERS = ["hidden_size", "num_layers", "input_size", "output_size", "dropout", "leaky_slope"]
MODEL_BOOLS = ["residual", "layer_norm", "bias"]
TRAIN_NUMBERS = ["lr", "momentum", "batch_size", "clip_value", "max_steps", "eval_every", "seed"]
SPECS = [
    (ModelSpec, {}, MODEL_NUMBERS, MODEL_BOOLS, ["hidden_size", "num_layers", "input_size"]),
    (TaskSpec, {"name": "adding"}, ["seq_len"], [], ["seq_len"]),
    (TrainSpec, {}, TRAIN_NUMBERS, ["profiles"], ["batch_size", "max_steps", "eval_every"]),
    (ProbeSpec, {}, ["seq_len", "batch_size", "seed", "eps"], [], ["seq_len", "batch_size"]),
]


def _one_line(error: Exception) -> None:
    message = str(error)
    assert isinstance(error, InvalidValue), f"{type(error).__name__}: {message}"
    assert "\n" not in message and " is not allowed; " in message, message


@pytest.mark.parametrize(("spec", "base", "numbers", "bools", "bounded"), SPECS)
def test_a_spec_refuses_every_wrong_typed_or_huge_value(spec, base, numbers, bools, bounded):
    @FAST
    @given(bad=one_bad_field(numbers, bools, bounded))
    def check(bad):
        with pytest.raises(Exception) as info:
            spec(**base, **bad)
        _one_line(info.value)

    check()


STUDY = {"tasks": ["adding"], "seq_lens": [10], "variant": [{"name": "a", "cell": "gru"}]}


@FAST
@given(
    where=st.sampled_from(["model", "train", "budget"]),
    key=st.sampled_from(["hidden_size", "batch_size", "max_steps", "lr", "num_layers"]),
    value=NOT_A_NUMBER,
)
def test_a_study_refuses_wrong_typed_numbers(where, key, value):
    section = {"model": {"hidden_size": value}, "train": {key: value}, "budget": {key: value}}
    data = {**STUDY, where: section[where]}
    try:
        spec_from_dict(data)
    except InvalidValue as e:
        _one_line(e)
    else:
        raise AssertionError(f"accepted {where}.{key} = {value!r}")


@FAST
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "tasks",
                "seq_lens",
                "seeds",
                "grid",
                "variant",
                "model",
                "train",
                "budget",
                "name",
                "x",
            ]
        ),
        JSONISH,
        max_size=5,
    )
)
def test_any_study_dict_is_valid_or_one_line(data):
    try:
        spec_from_dict(data)
    except InvalidValue as e:
        _one_line(e)


@FAST
@given(text=st.text(max_size=60))
def test_any_toml_text_is_valid_or_one_line(tmp_path_factory, text):
    from gradtrace.study.loading import load_spec

    path = tmp_path_factory.mktemp("toml") / "study.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_spec(path)
    except InvalidValue as e:
        _one_line(e)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(tmp_path_factory.mktemp("web"), probe_wait_s=0.1)
    with TestClient(app, base_url="http://localhost") as c:
        yield c


SIM = {
    "/api/simulate/decay": (["factor", "steps"], []),
    "/api/simulate/layers": (["weight", "layers"], []),
    "/api/probe": (["hidden_size", "seq_len", "batch_size", "seed", "eps"], ["residual"]),
}


def _refused(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail, detail


@pytest.mark.parametrize("url", list(SIM))
def test_the_api_answers_4xx_to_every_bad_body(client, url):
    numbers, bools = SIM[url]

    @FAST
    @given(bad=one_bad_field(numbers, bools, [n for n in numbers if n != "seed"]))
    def check(bad):
        _refused(client.post(url, json=bad))

    check()


@FAST
@given(body=st.binary(max_size=40))
def test_the_api_answers_4xx_to_malformed_bodies(client, body):
    try:
        if isinstance(json.loads(body), dict):
            return  # a valid object may be a valid request
    except (ValueError, UnicodeDecodeError):
        pass
    _refused(
        client.post(
            "/api/simulate/decay", content=body, headers={"content-type": "application/json"}
        )
    )


@FAST
@given(host=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=20))
def test_the_api_refuses_foreign_host_names(client, host):
    if host in ("localhost", "127.0.0.1"):
        return
    response = client.get("/api/results", headers={"host": host})
    assert response.status_code == 421, host


def test_toml_hidden_size_text_or_bool_is_refused(tmp_path):
    from gradtrace.study.loading import load_spec

    for value in ('"64"', "true"):
        path = tmp_path / "s.toml"
        path.write_text(
            f'seq_lens = [10]\ntasks = ["adding"]\n[model]\nhidden_size = {value}\n'
            '[[variant]]\nname = "a"\ncell = "gru"\n'
        )
        assert tomllib.loads(path.read_text())
        with pytest.raises(InvalidValue, match=r"model\.hidden_size: .* is not allowed; must be a"):
            load_spec(path)
