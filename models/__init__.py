"""Architectures, noise recipes, training, and the shipped weights with their cards.

This package knows nothing of scans, folders or terminals. Importing it is
cheap: Keras is imported only by the modules that build or train models.
"""

import json
from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "digit-unet"


def shipped_models():
    """The shipped models as ``{name: card}``, read from the weights folder, default first."""
    cards = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(WEIGHTS_DIR.glob("*.json"))}
    return dict(sorted(cards.items(), key=lambda item: item[0] != DEFAULT_MODEL))


def shipped_file(name, suffix=".keras"):
    """Path of a shipped model's file: ``.keras``, ``.json``, ``.golden-input.npy`` or ``.golden-output.npy``."""
    return WEIGHTS_DIR / f"{name}{suffix}"
