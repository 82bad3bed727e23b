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


def test_fine_tune_teaches_the_pairs_beside_the_recipe(digits):
    from digit_denoise.models.training import fine_tune

    # Pairs that no recipe teaches: a faint square in, a full one out (the same in every orientation); against the
    # same training with the faint square as its own target.
    faint, full = np.zeros((2, 512, 28, 28), np.float32)
    faint[:, 4:24, 4:24], full[:, 4:24, 4:24] = 0.3, 1.0
    squares, seen = {}, []
    for target in ("faint", "full"):
        model = fine_tune(build_model(DEFAULT_MODEL), digits[:128], (faint, full if target == "full" else faint),
                          epochs=4, learning_rate=3e-3, on_epoch=lambda epoch, model: seen.append(epoch))
        squares[target] = np.asarray(model(faint[:1]))[0, 4:24, 4:24].mean()
    assert seen == [1, 2, 3, 4] * 2
    assert squares["full"] > squares["faint"] + 0.1, squares


def test_log_mse_counts_an_almost_clean_image_as_much_as_a_noisy_one():
    from digit_denoise.models.training import log_mse

    truth = np.zeros((2, 28, 28), np.float32)
    errors = np.array([0.05, 0.3], np.float32)[:, None, None]  # an almost clean image, a noisy one
    halved = np.asarray(log_mse(truth, truth + errors / 2)) - np.asarray(log_mse(truth, truth + errors))
    # Halving the error is worth the same to both (a quarter of the MSE, -1.39), as it is to their PSNR.
    np.testing.assert_allclose(halved, np.log(0.25), atol=0.02)
