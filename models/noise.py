"""Noise recipes: how clean digits are corrupted for training and evaluation.

Every function takes a batch ``(N, 28, 28)`` float32 in [0, 1] and a
``numpy.random.Generator``, and returns a new corrupted batch clipped to [0, 1];
the input is never modified. Randomness comes only from ``rng``, so a seed
reproduces a corruption exactly.
"""

import io

import numpy as np
from scipy import ndimage

NOISE_KINDS = ("gaussian", "salt-pepper", "speckle")


def add_gaussian_noise(images, sigma, rng):
    """Add N(0, sigma^2) noise; ``sigma`` is a scalar or one value per image."""
    sigma = np.reshape(np.asarray(sigma, dtype=np.float32), (-1, 1, 1))
    noisy = images + sigma * rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(noisy, 0.0, 1.0)


def add_salt_pepper_noise(images, amount, rng):
    """Set a fraction ``amount`` of the pixels to 0 or 1, half each."""
    amount = np.reshape(np.asarray(amount, dtype=np.float32), (-1, 1, 1))
    draw = rng.random(images.shape, dtype=np.float32)
    noisy = images.copy()
    noisy[draw < amount / 2] = 0.0
    noisy[(draw >= amount / 2) & (draw < amount)] = 1.0
    return noisy


def add_speckle_noise(images, sigma, rng):
    """Multiplicative noise, ``x + x * N(0, sigma^2)``, as scanners and skimage's 'speckle'."""
    sigma = np.reshape(np.asarray(sigma, dtype=np.float32), (-1, 1, 1))
    noisy = images * (1.0 + sigma * rng.standard_normal(images.shape, dtype=np.float32))
    return np.clip(noisy, 0.0, 1.0)


def add_noise(images, kind, level, rng):
    """Corrupt ``images`` with one named noise kind at one level (see ``NOISE_KINDS``)."""
    recipes = {
        "gaussian": add_gaussian_noise,
        "salt-pepper": add_salt_pepper_noise,
        "speckle": add_speckle_noise,
    }
    if kind not in recipes:
        raise ValueError(f"unknown noise kind {kind!r}; expected one of {', '.join(NOISE_KINDS)}")
    return recipes[kind](images, level, rng)


def blur(images, sigma):
    """Gaussian blur of each image (not across the batch)."""
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma))


def jpeg_artifacts(images, quality):
    """Round-trip each image through JPEG at ``quality`` (Pillow)."""
    from PIL import Image

    out = np.empty_like(images)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(buffer, "JPEG", quality=int(quality))
        out[i] = np.asarray(Image.open(buffer), dtype=np.float32) / 255.0
    return out


def blind_gaussian(images, rng, *, max_sigma=0.5):
    """Gaussian noise with sigma ~ U[0, max_sigma] drawn per image."""
    return add_gaussian_noise(images, rng.uniform(0, max_sigma, len(images)), rng)


def scan_noise(images, rng, *, max_sigma=0.5):
    """The mixed scan corruption the default model is trained on.

    Every image gets blind Gaussian noise (sigma ~ U[0, max_sigma]); on top,
    independently, a quarter get salt-and-pepper (amount up to 0.15), a fifth
    speckle (sigma up to 0.4), a tenth a mild blur (sigma 0.3-0.8) applied before
    the noise, and a tenth JPEG artefacts (quality 30-90) applied last. The
    Gaussian part dominates, because it is what most scans show.
    """
    n = len(images)
    out = images.copy()
    blurred = rng.random(n) < 0.1
    for i in np.flatnonzero(blurred):
        out[i] = blur(out[i : i + 1], rng.uniform(0.3, 0.8))[0]
    speckled = rng.random(n) < 0.2
    out[speckled] = add_speckle_noise(out[speckled], rng.uniform(0, 0.4, speckled.sum()), rng)
    out = add_gaussian_noise(out, rng.uniform(0, max_sigma, n), rng)
    salted = rng.random(n) < 0.25
    out[salted] = add_salt_pepper_noise(out[salted], rng.uniform(0, 0.15, salted.sum()), rng)
    compressed = np.flatnonzero(rng.random(n) < 0.1)
    if compressed.size:
        out[compressed] = jpeg_artifacts(out[compressed], rng.integers(30, 91))
    return out


def identity(images, rng):
    """No corruption: the clean-to-clean recipe of the plain autoencoder."""
    return images.copy()


TRAINING_NOISE = {"identity": identity, "blind-gaussian": blind_gaussian, "scan-mix": scan_noise}
