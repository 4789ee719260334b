"""Study specs: one-line errors naming file, key, value and allowed; grids; stable keys; presets."""

from __future__ import annotations

import hashlib

import pytest

from gradtrace.errors import InvalidValue
from gradtrace.study.expand import config_key, expand, variants_of
from gradtrace.study.loading import SpecError, load_spec, spec_from_dict
from gradtrace.study.presets import PRESETS, preset
from gradtrace.study.toml_out import dumps_toml

GOOD = """
name = "tiny"
tasks = ["adding"]
seq_lens = [10, 20]
seeds = [0, 1]

[budget]
max_steps = 50
max_seconds = 5.0

[[variant]]
name = "tanh RNN"

[[variant]]
name = "LSTM"
cell = "lstm"
"""


def write(tmp_path, text, name="study.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(tmp_path, text) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_valid_file_expands_to_variants_times_lengths_times_seeds(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    runs = expand(spec)
    assert len(runs) == 2 * 2 * 2
    assert [r.variant for r in runs[:4]] == ["tanh RNN"] * 4
    assert {(r.seq_len, r.seed) for r in runs if r.variant == "LSTM"} == {
        (10, 0),
        (10, 1),
        (20, 0),
        (20, 1),
    }
    lstm = next(r for r in runs if r.variant == "LSTM")
    assert lstm.config["model"]["cell"] == "lstm"
    assert lstm.config["train"]["max_steps"] == 50
    assert lstm.config["train"]["clip"] == "norm"  # the study default


def test_a_misspelt_cell_names_file_key_value_and_choices(tmp_path):
    text = GOOD.replace('cell = "lstm"', 'cell = "lstmm"')
    assert error_of(tmp_path, text) == (
        "study.toml: variant[2].cell: 'lstmm' is not allowed; choose one of rnn, lstm, gru, "
        "indrnn, exprnn, lru, mingru, minlstm, selective_ssm"
    )


def test_an_unknown_key_is_an_error_listing_the_allowed_keys(tmp_path):
    message = error_of(tmp_path, GOOD.replace('cell = "lstm"', "hiden_size = 32"))
    assert message.startswith("study.toml: variant[2].hiden_size: 32 is not allowed; unknown key")
    assert "hidden_size" in message and "cell" in message


def test_an_unknown_top_level_table_is_an_error(tmp_path):
    message = error_of(tmp_path, GOOD + "\n[trian]\nlr = 0.1\n")
    assert message.startswith("study.toml: trian: ")
    assert "unknown key" in message and "train" in message


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path):
    message = error_of(tmp_path, GOOD.replace("max_steps = 50", "max_steps == 50"))
    assert message.startswith("study.toml: (syntax): ")
    assert "line" in message and "valid TOML" in message


def test_sizes_are_bounded(tmp_path):
    message = error_of(tmp_path, GOOD.replace("seq_lens = [10, 20]", "seq_lens = [10, 10000000]"))
    assert message.startswith("study.toml: seq_lens: 10000000 is not allowed; each must be in")
    message = error_of(tmp_path, GOOD.replace('cell = "lstm"', "hidden_size = 100000"))
    assert message.startswith("study.toml: variant[2].hidden_size: 100000 is not allowed;")
    message = error_of(tmp_path, GOOD.replace("max_seconds = 5.0", "max_seconds = -1.0"))
    assert message == "study.toml: budget.max_seconds: -1.0 is not allowed; must be greater than 0"


def test_a_missing_required_key_is_named(tmp_path):
    message = error_of(tmp_path, GOOD.replace('name = "LSTM"\n', ""))
    assert (
        message == "study.toml: variant[2].name: '(missing)' is not allowed; this key is required"
    )


def test_unknown_tasks_and_inits_list_the_registered_names(tmp_path):
    message = error_of(tmp_path, GOOD.replace('tasks = ["adding"]', 'tasks = ["addding"]'))
    assert message.startswith("study.toml: tasks[1].name: 'addding' is not allowed; choose one of")
    assert "adding" in message and "copy" in message
    message = error_of(tmp_path, GOOD.replace('cell = "lstm"', 'init = "orthogonl"'))
    assert message.startswith("study.toml: variant[2].init: 'orthogonl' is not allowed;")
    assert "orthogonal" in message


def test_gated_cells_refuse_another_activation(tmp_path):
    message = error_of(
        tmp_path, GOOD.replace('cell = "lstm"', 'cell = "lstm"\nactivation = "relu"')
    )
    assert message.startswith("study.toml: variant[2].activation: 'relu' is not allowed; only")


def test_duplicate_variant_names_and_duplicate_configs_are_errors(tmp_path):
    message = error_of(tmp_path, GOOD.replace('name = "LSTM"', 'name = "tanh RNN"'))
    assert message == "study.toml: variant[2].name: 'tanh RNN' is not allowed; names must be unique"
    message = error_of(tmp_path, GOOD.replace('cell = "lstm"', 'cell = "rnn"'))
    assert message.startswith("study.toml: variant: 'LSTM' is not allowed; it runs the same config")


def test_an_unknown_reference_variant_is_an_error(tmp_path):
    message = error_of(tmp_path, 'reference = "GRU"\n' + GOOD)
    assert message == "study.toml: reference: 'GRU' is not allowed; choose one of tanh RNN, LSTM"


def test_spec_from_dict_names_its_source():
    with pytest.raises(InvalidValue, match=r"^mine: seeds: \[1, 1\] is not allowed; seeds must"):
        spec_from_dict(
            {"tasks": ["adding"], "seq_lens": [10], "seeds": [1, 1], "variant": [{"name": "a"}]},
            source="mine",
        )


def test_a_grid_crosses_axes_and_skips_gated_cells_with_other_activations():
    spec = spec_from_dict(
        {
            "tasks": ["adding"],
            "seq_lens": [10],
            "grid": {
                "cell": ["rnn", "lstm"],
                "activation": ["tanh", "relu"],
                "clip": ["none", "norm"],
            },
        }
    )
    names = [v.name for v in variants_of(spec)]
    # rnn x {tanh, relu} x 2 clips + lstm x tanh x 2 clips
    assert len(names) == 6
    assert "rnn activation=relu clip=none" in names
    assert not any(n.startswith("lstm activation=relu") for n in names)
    assert len(expand(spec)) == 6


def test_a_huge_grid_is_refused_before_it_is_expanded():
    sizes = list(range(1, 101))
    with pytest.raises(
        InvalidValue,
        match=r"^study: \(study size\): 1000000 is not allowed; a study may have at most 20000",
    ):
        spec_from_dict(
            {
                "tasks": ["adding"],
                "seq_lens": [10],
                "grid": {"hidden_size": sizes, "tbptt": sizes, "clip_value": sizes},
            }
        )


def test_grid_variants_that_repeat_a_listed_variant_are_dropped():
    spec = spec_from_dict(
        {
            "tasks": ["adding"],
            "seq_lens": [10],
            "variant": [{"name": "mine", "cell": "lstm"}],
            "grid": {"cell": ["rnn", "lstm"]},
        }
    )
    assert [v.name for v in variants_of(spec)] == ["mine", "rnn"]


def test_keys_are_stable_and_change_with_any_field():
    config = {"model": {"cell": "rnn", "hidden_size": 8}, "task": {"name": "adding"}, "train": {}}
    reordered = {
        "train": {},
        "task": {"name": "adding"},
        "model": {"hidden_size": 8, "cell": "rnn"},
    }
    canonical = b'{"model":{"cell":"rnn","hidden_size":8},"task":{"name":"adding"},"train":{}}'
    assert hashlib.sha256(canonical).hexdigest()[:16] == "34927205b891c441"
    assert config_key(config) == config_key(reordered) == "34927205b891c441"
    changed = {**config, "model": {"cell": "rnn", "hidden_size": 9}}
    assert config_key(changed) != config_key(config)


def test_keys_do_not_depend_on_variant_names(tmp_path):
    first = expand(load_spec(write(tmp_path, GOOD)))
    renamed = expand(load_spec(write(tmp_path, GOOD.replace('"LSTM"', '"long short-term"'))))
    assert [r.key for r in first] == [r.key for r in renamed]
    assert len({r.key for r in first}) == len(first)


def test_variant_tasks_restrict_where_a_variant_runs():
    spec = spec_from_dict(
        {
            "tasks": ["adding", {"name": "digits", "seq_lens": [64]}],
            "seq_lens": [10, 20],
            "variant": [{"name": "a"}, {"name": "b", "cell": "gru", "tasks": ["adding"]}],
        }
    )
    runs = expand(spec)
    assert sorted((r.variant, r.task, r.seq_len) for r in runs) == [
        ("a", "adding", 10),
        ("a", "adding", 20),
        ("a", "digits", 64),
        ("b", "adding", 10),
        ("b", "adding", 20),
    ]


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_are_valid_and_survive_a_toml_round_trip(tmp_path, name):
    spec = preset(name)
    again = load_spec(write(tmp_path, dumps_toml(spec), f"{name}.toml"))
    assert again == spec
    assert [r.key for r in expand(again)] == [r.key for r in expand(spec)]


def test_the_quick_preset_is_seven_architectures_at_five_lengths():
    runs = expand(preset("quick"))
    assert len(runs) == 35
    assert sorted({r.seq_len for r in runs}) == [10, 25, 50, 100, 200]
    assert {r.config["train"]["clip"] for r in runs} == {"norm"}
    assert {r.config["train"]["clip_value"] for r in runs} == {1.0}
    variants = {r.variant: r.config["model"] for r in runs}
    assert variants["IRNN (ReLU + identity)"]["init"] == "identity"
    assert variants["sigmoid RNN"]["activation"] == "sigmoid"
    assert {m["cell"] for m in variants.values()} == {"rnn", "lstm", "gru"}


def test_an_unknown_preset_lists_the_presets():
    with pytest.raises(InvalidValue, match="choose one of quick, standard, ablations, full"):
        preset("fast")


def test_every_public_name_of_the_package_resolves():
    import gradtrace.study as study

    for name in study.__all__:
        assert getattr(study, name) is not None
