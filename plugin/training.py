"""Training a shipped recipe from scratch and writing its four files; the scan pairs the default is fine-tuned on.

A trained model is the four files of ``digit_denoise.models.layout``: weights,
card and a golden pair that pins its behaviour.
"""

import io
import json
import time
from pathlib import Path

import numpy as np

from digit_denoise.models import MODEL_SIZE, training
from digit_denoise.models.data import load_mnist
from digit_denoise.models.layout import ModelFiles

from .adapter import ScanAdapter
from .errors import ConfigError, DataError
from .files import replace_atomically
from .pages import TRAINING, make_page, same_frame
from .scans import encode_image

DEFAULT_OUT_DIR = Path("trained-models")


def load_data(data=None, *, limit=None):
    """MNIST as ``(x_train, x_test, sha256)`` from ``data`` (a ``mnist.npz``) or Keras's downloader."""
    if data is not None and not Path(data).is_file():
        raise DataError(f"{data}: no such file; give the path of an mnist.npz")
    try:
        x_train, x_test, checksum = load_mnist(data)
    except ValueError as error:
        raise DataError(str(error)) from error
    except Exception as error:  # keras's downloader: no network, a proxy, a broken cache file
        if data is not None:
            raise
        raise DataError(f"could not get MNIST through keras.datasets ({error}); give --data PATH/mnist.npz") from error
    if limit:
        x_train, x_test = x_train[:limit], x_test[:limit]
    return x_train, x_test, checksum


def train_model(name, *, data=None, epochs=None, seed=0, out_dir=None, limit=None, callbacks=()):
    """Train the shipped recipe ``name`` from scratch and write its files.

    Parameters
    ----------
    name : str
        One of ``digit_denoise.models.training.RECIPES``.
    data : str or Path, optional
        An ``mnist.npz``; without it Keras downloads MNIST.
    epochs : int, optional
        At most this many epochs (early stopping may end sooner); the recipe's
        own number by default.
    seed : int
    out_dir : str or Path, optional
        Where the four files go; ``trained-models`` in the current folder by
        default (never the shipped weights: replacing those is a deliberate copy).
    limit : int, optional
        Use only the first ``limit`` training and test images (quick trials, tests).
    callbacks : sequence of keras.callbacks.Callback
        Passed to ``fit``; the CLI passes its progress bar.

    Returns
    -------
    dict
        The model card that was written.
    """
    if name not in training.RECIPES:
        raise ConfigError(f"model: no training recipe {name!r}; recipes: {', '.join(training.RECIPES)}")
    started = time.time()
    x_train, x_test, checksum = load_data(data, limit=limit)
    model, history = training.train(name, x_train, epochs=epochs, seed=seed, callbacks=callbacks)
    card = training.make_card(
        model, name=name, x_test=x_test, data_sha256=checksum, history=history, seed=seed, seconds=time.time() - started
    )
    write_model(model, card, out_dir or DEFAULT_OUT_DIR, x_test=x_test, seed=seed)
    return card


def scan_pairs(digits, rng, *, conditions=None):
    """What the default model is fine-tuned on besides its MNIST recipe: for each digit, a page rendered from it
    (``pages.make_page``, ``pages.TRAINING`` conditions by default) as the default adapter frames it when ``run``
    reads it from a file (noisy), and the same page without noise, specks, ruled line or JPEG (clean).

    Returns ``(noisy, clean)``, both (K, 28, 28) float32 in [0, 1], light on dark. Pages whose two frames differ
    (``pages.same_frame``) are left out: they hold no right answer.
    """
    files = []
    for digit in digits:
        noisy, clean, *_ = make_page(digit, rng, conditions or TRAINING)
        files += [io.BytesIO(encode_image(page, ".png")) for page in (noisy, clean)]  # read back as run reads files
    read = ScanAdapter().read_many(files)
    noisy, clean = [], []
    for (noisy_digit, noisy_frame), (clean_digit, clean_frame) in zip(read[0::2], read[1::2]):
        if same_frame(noisy_frame.placement, clean_frame.placement):
            noisy.append(noisy_digit)
            clean.append(clean_digit)
    shape = (-1, MODEL_SIZE, MODEL_SIZE)
    return np.array(noisy, np.float32).reshape(shape), np.array(clean, np.float32).reshape(shape)


def write_model(model, card, out_dir, *, x_test, seed=0):
    """Write the model's weights, card and golden pair into ``out_dir``, each atomically; returns its ``ModelFiles``."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    files = ModelFiles.named(out_dir, card["name"])
    golden_input, golden_output = training.golden_pair(model, x_test, seed=seed)
    replace_atomically(files.weights, model.save)
    replace_atomically(files.golden_input, lambda tmp: np.save(tmp, golden_input))
    replace_atomically(files.golden_output, lambda tmp: np.save(tmp, golden_output))
    replace_atomically(files.card, lambda tmp: tmp.write_text(json.dumps(card, indent=2) + "\n"))
    return files
