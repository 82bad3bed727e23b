"""Architectures, noise recipes, training, and the shipped weights with their cards.

This package knows nothing of scans, folders or terminals. Importing it is
cheap: Keras is imported only by the modules that build or train models.
"""

import json
from pathlib import Path

from .layout import ModelFiles

MODEL_SIZE = 28  # px: every model takes and gives (N, 28, 28) digits, as MNIST
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "digit-unet"


def shipped_models():
    """The shipped models as ``{name: card}``, read from the weights folder, default first."""
    cards = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(WEIGHTS_DIR.glob("*.json"))}
    return dict(sorted(cards.items(), key=lambda item: item[0] != DEFAULT_MODEL))


def shipped_files(name):
    """The files of the shipped model ``name`` (see ``layout.ModelFiles``)."""
    return ModelFiles.named(WEIGHTS_DIR, name)
