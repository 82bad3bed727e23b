import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def digits():
    """The 300 committed MNIST test digits, float32 in [0, 1], shape (300, 28, 28)."""
    with np.load(DATA / "mnist_test_last300.npz") as archive:
        return archive["x"].astype(np.float32) / 255.0


@pytest.fixture(scope="session")
def mnist_npz(tmp_path_factory, digits):
    """A tiny mnist.npz in keras.datasets' layout made from the committed digits."""
    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    pixels = (digits * 255).round().astype(np.uint8)
    labels = np.zeros(len(pixels), dtype=np.uint8)
    np.savez(path, x_train=pixels[:250], y_train=labels[:250], x_test=pixels[250:], y_test=labels[250:])
    return path
