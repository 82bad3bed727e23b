"""Model plugins: a tiny third-party package registers models through the entry-point group."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from digit_denoise import ModelError, load_denoiser
from digit_denoise.cli import app
from digit_denoise.registry import available_models

PLUGIN = '''
from pathlib import Path


def _identity():
    import keras

    inputs = keras.Input((28, 28, 1))
    return keras.Model(inputs, keras.layers.Identity()(inputs))


def identity_model():
    return _identity, {"description": "Identity, from a plugin", "parameters": 0}


def file_model():
    return Path(__file__).with_name("identity.keras"), {"description": "Identity saved as .keras"}


def wrong_shape():
    import keras

    inputs = keras.Input((32, 32))
    return (lambda: keras.Model(inputs, inputs)), {"description": "takes 32x32"}
'''


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """An installed distribution 'tiny-digits' (a package and its dist-info) on sys.path."""
    import keras

    site = tmp_path / "site"
    package = site / "tiny_digits"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    inputs = keras.Input((28, 28))
    keras.Model(inputs, keras.layers.Identity()(inputs)).save(package / "identity.keras")
    info = site / "tiny_digits-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-digits\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[digit_denoise.models]\n"
        "tiny-identity = tiny_digits:identity_model\n"
        "tiny-file = tiny_digits:file_model\n"
        "tiny-wrong = tiny_digits:wrong_shape\n"
        "broken = tiny_digits:no_such_function\n"
        "digit-unet = tiny_digits:identity_model\n"
    )
    monkeypatch.syspath_prepend(str(site))
    return site


def test_plugin_models_are_discovered_and_broken_ones_reported(plugin_site):
    models, broken = available_models()
    assert models["tiny-identity"].origin == "plugin tiny-digits"
    assert models["tiny-file"].path.name == "identity.keras"
    assert models["digit-unet"].origin == "built-in"  # a plugin cannot take a built-in name
    reasons = dict(broken)
    assert "no_such_function" in reasons["broken (plugin tiny-digits)"]
    assert "taken" in reasons["digit-unet (plugin tiny-digits)"]


def test_plugin_models_load_and_denoise(plugin_site, digits):
    for name in ("tiny-identity", "tiny-file"):
        denoiser = load_denoiser(name)
        np.testing.assert_allclose(denoiser.denoise(digits[:3]), digits[:3], atol=1e-6)
    with pytest.raises(ModelError, match="32, 32"):
        load_denoiser("tiny-wrong")


def test_plugin_model_runs_from_the_cli(plugin_site, tmp_path):
    from helpers import make_scan
    from PIL import Image

    (tmp_path / "in").mkdir()
    Image.fromarray((make_scan(np.zeros((28, 28))) * 255).astype(np.uint8)).save(tmp_path / "in" / "a.png")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "in"), str(tmp_path / "out"), "--model", "tiny-identity"])
    assert result.exit_code == 0, result.output
    assert "with model tiny-identity" in result.output


def test_models_command_lists_plugins_and_survives_broken_ones(plugin_site):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", "from digit_denoise.cli import main; main()", "models"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0
    assert "tiny-identity" in result.stdout and "plugin tiny-digits" in result.stdout
    assert "skipped broken plugin broken" in result.stderr
