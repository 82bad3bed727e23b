import doctest

import keras
import numpy as np
import pytest
from helpers import make_scan

import digit_denoise.denoiser
from digit_denoise import ModelError, denoise, load_denoiser
from digit_denoise.models.metrics import score
from digit_denoise.models.noise import add_gaussian_noise


@pytest.fixture(scope="module")
def default():
    return load_denoiser("default")


@pytest.mark.parametrize("sigma", [0.1, 0.2, 0.4])
def test_default_model_improves_psnr_on_committed_digits(default, digits, sigma):
    clean = digits[:200]
    noisy = add_gaussian_noise(clean, sigma, np.random.default_rng(1))
    noisy_psnr, noisy_ssim = score(clean, noisy)
    psnr, ssim = score(clean, default.denoise(noisy))
    assert psnr > noisy_psnr + 3
    assert ssim > noisy_ssim


def test_a_batch_larger_than_a_chunk_equals_one_call_per_image(default, digits, monkeypatch):
    monkeypatch.setattr("digit_denoise.models.inference.CHUNK", 4)
    batch = digits[:10]
    whole = default.denoise(batch)
    one_by_one = np.concatenate([default.denoise(digit[None]) for digit in batch])
    assert whole.shape == (10, 28, 28)
    np.testing.assert_allclose(whole, one_by_one, atol=1e-5)


def test_identity_model_returns_its_input(digits):
    identity = load_denoiser("none")
    assert identity.model is None
    np.testing.assert_array_equal(identity.denoise(digits[:5]), digits[:5])


def test_denoise_checks_the_batch_shape(default):
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        default.denoise(np.zeros((2, 32, 32)))


def test_unknown_model_name_lists_the_shipped_ones():
    with pytest.raises(ModelError, match="digit-unet"):
        load_denoiser("no-such-model")


def test_model_with_wrong_input_shape_is_rejected(tmp_path):
    inputs = keras.Input((32, 32))
    path = tmp_path / "wrong.keras"
    keras.Model(inputs, keras.layers.Reshape((32, 32))(inputs)).save(path)
    with pytest.raises(ModelError, match="28, 28"):
        load_denoiser(path)


def test_a_file_that_is_not_a_model_is_rejected(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="broken.keras"):
        load_denoiser(path)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("size", ["model", "original"])
def test_denoise_keeps_dtype_and_polarity(default, digits, dtype, size):
    scan = make_scan(digits[5], noise=0.05)
    if np.dtype(dtype).kind == "u":
        scan = (scan * np.iinfo(dtype).max).round().astype(dtype)
    else:
        scan = scan.astype(dtype)
    out = denoise(scan, model=default, size=size)
    assert out.dtype == scan.dtype
    assert out.shape == ((28, 28) if size == "model" else scan.shape)
    assert np.median(out) > 0.7 * (np.iinfo(dtype).max if np.dtype(dtype).kind == "u" else 1.0)  # paper stays light


def test_docstring_examples():
    assert doctest.testmod(digit_denoise.denoiser).failed == 0
