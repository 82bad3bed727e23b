"""Every model digit-denoise can load by name: the shipped ones and those of plugin packages.

A third-party package registers models in the entry-point group
``digit_denoise.models``. Each entry point names a function that takes no
arguments and returns ``(source, card)``: ``source`` is the path of a
``.keras`` file or a function that returns a ``keras.Model``; ``card`` is a
dict like the shipped cards (at least a ``description``). For example, in
the plugin's ``pyproject.toml``::

    [project.entry-points."digit_denoise.models"]
    my-digits = "my_package.models:my_digits"

A plugin that fails to import or returns something else is reported and
skipped; it never stops the others.
"""

import dataclasses
from importlib.metadata import entry_points
from pathlib import Path

from digit_denoise.models import DEFAULT_MODEL, shipped_files, shipped_models

ENTRY_POINT_GROUP = "digit_denoise.models"


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A model known by name. ``origin`` is 'built-in' or 'plugin <distribution>'; exactly one of
    ``path`` and ``loader`` is set."""

    name: str
    origin: str
    card: dict
    path: Path = None
    loader: object = None


def available_models():
    """``(models, broken)``: ``{name: ModelEntry}`` with the default first, and ``[(plugin, reason)]``."""
    models = {
        name: ModelEntry(name, "built-in", card, path=shipped_files(name).weights)
        for name, card in shipped_models().items()
    }
    broken = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"plugin {point.dist.name if point.dist else point.value}"
        try:
            source, card = point.load()()
            if not isinstance(card, dict):
                raise TypeError(f"the card is a {type(card).__name__}, not a dict")
            if callable(source):
                entry = ModelEntry(point.name, origin, card, loader=source)
            elif Path(source).suffix == ".keras" and Path(source).is_file():
                entry = ModelEntry(point.name, origin, card, path=Path(source))
            else:
                raise TypeError(f"{source!r} is neither a .keras file nor a loader function")
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # a broken plugin must never stop the others, not even with SystemExit
            broken.append((f"{point.name} ({origin})", f"{type(error).__name__}: {error}"))
            continue
        if point.name in models:
            broken.append((f"{point.name} ({origin})", f"the name is taken by the {models[point.name].origin} model"))
            continue
        models[point.name] = entry
    return models, broken


__all__ = ["DEFAULT_MODEL", "ENTRY_POINT_GROUP", "ModelEntry", "available_models"]
