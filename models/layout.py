"""Where a model's files lie: the one place that knows their names.

A model called NAME is four files in one folder: ``NAME.keras`` (the
weights, no optimizer state), ``NAME.json`` (its card) and the golden pair
``NAME.golden-input.npy`` / ``NAME.golden-output.npy`` that pins its behaviour.
"""

import dataclasses
from pathlib import Path

WEIGHTS_SUFFIX = ".keras"


@dataclasses.dataclass(frozen=True)
class ModelFiles:
    """The four files of the model whose weights are ``weights``."""

    weights: Path

    @classmethod
    def named(cls, folder, name):
        return cls(Path(folder) / f"{name}{WEIGHTS_SUFFIX}")

    @property
    def name(self):
        return (
            self.weights.name[: -len(WEIGHTS_SUFFIX)]
            if self.weights.name.endswith(WEIGHTS_SUFFIX)
            else self.weights.stem
        )

    @property
    def card(self):
        return self.weights.with_name(f"{self.name}.json")

    @property
    def golden_input(self):
        return self.weights.with_name(f"{self.name}.golden-input.npy")

    @property
    def golden_output(self):
        return self.weights.with_name(f"{self.name}.golden-output.npy")
