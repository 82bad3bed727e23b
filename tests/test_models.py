import json

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from digit_denoise import load_denoiser
from digit_denoise.cli import app
from digit_denoise.models import DEFAULT_MODEL, shipped_files, shipped_models
from digit_denoise.models.training import RECIPES, build_model

SHIPPED = list(shipped_models())


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_each_architecture_builds_and_round_trips_through_keras_file(tmp_path, name):
    model = build_model(name)
    batch = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    before = np.asarray(model(batch))
    assert before.shape == (4, 28, 28)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(batch)), before, atol=1e-6)


def test_every_recipe_is_shipped_and_the_default_exists():
    assert set(SHIPPED) == set(RECIPES)
    assert SHIPPED[0] == DEFAULT_MODEL


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_reproduces_its_golden_pair(name):
    card = shipped_models()[name]
    golden_input = np.load(shipped_files(name).golden_input)
    golden_output = np.load(shipped_files(name).golden_output)
    output = load_denoiser(name).denoise(golden_input)
    np.testing.assert_allclose(output, golden_output, atol=card["golden"]["tolerance"])


@pytest.mark.parametrize("name", SHIPPED)
def test_card_records_what_the_issue_asks(name):
    card = shipped_models()[name]
    assert card["parameters"] == load_denoiser(name).model.count_params()
    assert len(card["training"]["data_sha256"]) == 64
    assert {"noise", "epochs", "seed"} <= set(card["training"])
    assert set(card["test"]["scores"]) == {"0.1", "0.2", "0.4"}


def test_default_model_fits_the_budget():
    assert shipped_files(DEFAULT_MODEL).weights.stat().st_size <= 2 * 1024 * 1024


def test_train_writes_a_loadable_model_and_card(tmp_path, mnist_npz):
    out = tmp_path / "trained"
    result = CliRunner().invoke(
        app, ["train", "--model", DEFAULT_MODEL, "--data", str(mnist_npz), "--epochs", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    card = json.loads((out / f"{DEFAULT_MODEL}.json").read_text())
    assert card["training"]["epochs"] == 1
    denoiser = load_denoiser(out / f"{DEFAULT_MODEL}.keras")
    assert denoiser.card == card
    golden_input = np.load(out / f"{DEFAULT_MODEL}.golden-input.npy")
    np.testing.assert_allclose(
        denoiser.denoise(golden_input), np.load(out / f"{DEFAULT_MODEL}.golden-output.npy"), atol=1e-4
    )


def test_train_rejects_an_unknown_recipe(mnist_npz):
    result = CliRunner().invoke(app, ["train", "--model", "nope", "--data", str(mnist_npz)])
    assert result.exit_code == 2 and "nope" in result.output
