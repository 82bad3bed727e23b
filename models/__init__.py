"""Architectures, noise recipes, training, and the shipped weights with their cards.

This package knows nothing of scans, folders or terminals. Importing it is
cheap: Keras is imported only by the modules that build or train models,
through :func:`import_keras`.
"""

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

from .layout import ModelFiles

MODEL_SIZE = 28  # px: every model takes and gives (N, 28, 28) digits, as MNIST
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "digit-unet"


def shipped_models():
    """The shipped models as ``{name: card}``, read from the weights folder, default first."""
    cards = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(WEIGHTS_DIR.glob("*.json"))}
    return dict(sorted(cards.items(), key=lambda item: item[0] != DEFAULT_MODEL))


def import_keras():
    """Import Keras (and with it TensorFlow), once.

    TensorFlow's C++ code writes start-up lines to stderr (absl's, oneDNN's)
    even when ``TF_CPP_MIN_LOG_LEVEL`` is 3. When it is 3, what stderr gets
    during the import is held back, and shown only if the import fails.
    Returns the ``keras`` module.
    """
    if "keras" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "3":
        import keras

        return keras
    with _stderr_held():
        import keras
    return keras


@contextlib.contextmanager
def _stderr_held():
    """File descriptor 2 goes to a temporary file for the block; its text is written back if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            os.write(2, held.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def shipped_files(name):
    """The files of the shipped model ``name`` (see ``layout.ModelFiles``)."""
    return ModelFiles.named(WEIGHTS_DIR, name)
