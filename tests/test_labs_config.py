"""Lab settings are checked before anything starts, and the message names the key and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pathway.errors import PathwayError
from pathway.labs import catalog
from pathway.labs.engine import settings as knobs
from pathway.labs.engine.settings import knob


def rejected(items: list[str]) -> str:
    with pytest.raises(PathwayError) as info:
        catalog.parse_set("mlp-digits", items, cuda=False)
    assert info.value.exit_code == 2
    return info.value.message


def test_unknown_key_is_named_with_the_known_ones():
    message = rejected(["learning_rate=0.1"])
    assert "'learning_rate'" in message and "lr" in message and "batch_size" in message


def test_wrong_type_names_the_key_and_the_range():
    message = rejected(["lr=fast"])
    assert message.startswith("lr must be a number") and "1e-07 to 10" in message
    assert rejected(["steps=2.5"]).startswith("steps must be a whole number")


def test_out_of_range_names_the_key_and_the_range():
    assert rejected(["batch_size=0"]) == "batch_size=0 is out of range: allowed 1 to 65536."
    assert "test_fraction=0.9" in rejected(["test_fraction=0.9"])


def test_pattern_and_malformed_items():
    assert "device='gpu'" in rejected(["device=gpu"]) and "cuda:N" in rejected(["device=gpu"])
    assert "key=value" in rejected(["lr"])


def test_data_dir_must_hold_the_mnist_files(tmp_path):
    message = rejected([f"data_dir={tmp_path}"])
    assert "data_dir" in message and "train-images-idx3-ubyte" in message


def test_good_values_are_converted_and_only_the_given_keys_come_back():
    assert catalog.parse_set("mlp-digits", ["lr=0.01", "steps=1e3", "device=cuda:1"], cuda=False) == {
        "lr": 0.01, "steps": 1000, "device": "cuda:1",
    }
    # the TUI form passes native values through the same check
    assert catalog.validate_config("mlp-digits", {"hidden": 64, "lr": 1}, cuda=False) == {"hidden": 64, "lr": 1.0}
    with pytest.raises(PathwayError, match="hidden must be a whole number"):
        catalog.validate_config("mlp-digits", {"hidden": True}, cuda=False)


def test_gpu_defaults_apply_only_where_the_user_did_not_choose():
    cpu = catalog.build_config("mlp-digits", {}, cuda=False)
    gpu = catalog.build_config("mlp-digits", {"batch_size": 32}, cuda=True)
    assert (cpu.batch_size, cpu.hidden) == (128, 256)
    assert (gpu.batch_size, gpu.hidden) == (32, 1024)


def test_unknown_lab():
    with pytest.raises(PathwayError, match="No lab named 'nope'.*mlp-digits"):
        catalog.get_lab("nope")


def test_every_knob_has_a_reason_and_a_default_that_passes_its_own_check():
    for spec in catalog.all_labs():
        for info in spec.knobs():
            assert info.help, f"{spec.id}.{info.name} needs a help line saying why"
        defaults = {k: v for k, v in catalog.default_values(spec.id, cuda=True).items() if k != "data_dir"}
        catalog.validate_config(spec.id, defaults, cuda=False)


def test_bool_knobs_accept_the_usual_words():
    @dataclass
    class Config:
        amp: bool = knob(False, help="mixed precision")

    assert knobs.validate(Config, {"amp": "on"}) == {"amp": True}
    assert knobs.validate(Config, {"amp": "no"}) == {"amp": False}
    with pytest.raises(PathwayError, match="amp must be true or false"):
        knobs.validate(Config, {"amp": "maybe"})
