"""Loading MNIST from a path the user gives, or through Keras's downloader."""

import hashlib
from pathlib import Path

import numpy as np

VALIDATION_SIZE = 5000


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_mnist(path=None):
    """Return ``(x_train, x_test, sha256)`` as float32 in [0, 1], shapes (60000, 28, 28) and (10000, 28, 28).

    ``path`` is a ``mnist.npz`` in keras.datasets' layout. Without it, MNIST comes
    from ``keras.datasets.mnist.load_data()``, which downloads it once into
    ``~/.keras/datasets``.
    """
    if path is None:
        import keras

        (x_train, _), (x_test, _) = keras.datasets.mnist.load_data()
        path = Path.home() / ".keras" / "datasets" / "mnist.npz"
        checksum = sha256_of(path) if path.exists() else "keras.datasets.mnist"
    else:
        path = Path(path)
        try:
            with np.load(path) as archive:
                x_train, x_test = archive["x_train"], archive["x_test"]
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(
                f"{path}: not an MNIST .npz with arrays x_train and x_test ({error})"
            ) from error
        checksum = sha256_of(path)
    return x_train.astype(np.float32) / 255.0, x_test.astype(np.float32) / 255.0, checksum


def split_validation(x_train):
    """The tutorial's split: the last 5,000 training images validate.

    Small sets (tests, quick trials) hold out their last tenth instead.
    """
    held_out = VALIDATION_SIZE if len(x_train) >= 10 * VALIDATION_SIZE else max(1, len(x_train) // 10)
    return x_train[:-held_out], x_train[-held_out:]
