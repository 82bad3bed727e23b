"""Settings: one validated object shared by the CLI, the Python API and YAML files.

Every field is documented below; ``examples/config.yaml`` shows them all. The
CLI, ``denoise_folder(**settings)`` and a YAML file all end in
:func:`make_settings`, so a key means the same thing everywhere and is checked
the same way.
"""

import dataclasses
import difflib
import reprlib
from pathlib import Path

from .errors import ConfigError

CHOICES = {
    "polarity": ("auto", "dark-on-light", "light-on-dark"),
    "normalize": ("percentile", "minmax", "none"),
    "framing": ("mnist", "resize", "none"),
    "size": ("model", "original"),
    "format": ("png", "same"),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a denoising run can be told.

    Attributes
    ----------
    model : str
        A shipped model's name (``digit-denoise models``), ``default``, ``none``
        (the adapter alone, no denoising), or the path of a ``.keras`` file.
    polarity : {'auto', 'dark-on-light', 'light-on-dark'}
        Ink against paper. ``auto`` takes the dominant intensity as background
        and inverts dark ink on light paper to MNIST's light-on-dark.
    normalize : {'percentile', 'minmax', 'none'}
        Intensity normalization before the model; ``percentile`` maps the
        ``percentiles`` pair to [0, 1] and clips, as CSBDeep does.
    percentiles : (float, float)
        Low and high percentiles for ``normalize: percentile``.
    framing : {'mnist', 'resize', 'none'}
        ``mnist`` crops to the ink, scales its longer side to 20 px and centres
        its centre of mass in a 28x28 frame; ``resize`` resizes the whole image;
        ``none`` requires 28x28 input.
    size : {'model', 'original'}
        Write the 28x28 result, or map it back to the input's geometry.
    format : {'png', 'same'}
        Write ``<stem>.png``, or keep each input's format.
    recursive : bool
        Descend into sub-folders of the input folder.
    batch_size : int
        Images per model call.
    max_pixels : int
        Larger images are refused (decompression-bomb guard).
    overwrite : bool
        Redo every file, even those the manifest says are up to date.
    max_failures : int or None
        Stop the run once more than this many files have failed.
    follow_symlinks : bool
        Follow symlinks that lead out of the input folder.
    workers : int
        Threads that decode and encode images; 0 picks from the CPU count.
    """

    model: str = "default"
    polarity: str = "auto"
    normalize: str = "percentile"
    percentiles: tuple = (2.0, 99.8)
    framing: str = "mnist"
    size: str = "model"
    format: str = "png"
    recursive: bool = True
    batch_size: int = 256
    max_pixels: int = 50_000_000
    overwrite: bool = False
    max_failures: int = None
    follow_symlinks: bool = False
    workers: int = 0

    def __post_init__(self):
        for key, allowed in CHOICES.items():
            value = getattr(self, key)
            if value not in allowed:
                raise ConfigError(f"{key}: {excerpt(value)} is not one of {', '.join(allowed)}")
        _check_type("model", self.model, str)
        for key in ("recursive", "overwrite", "follow_symlinks"):
            _check_type(key, getattr(self, key), bool)
        for key, least in (("batch_size", 1), ("max_pixels", 1), ("max_failures", 0), ("workers", 0)):
            value = getattr(self, key)
            if value is None and key == "max_failures":
                continue
            _check_type(key, value, int)
            if value < least:
                raise ConfigError(f"{key}: must be an integer of at least {least}, got {excerpt(value)}")
        low_high = self.percentiles
        if (
            not isinstance(low_high, (list, tuple))
            or len(low_high) != 2
            or not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in low_high)
            or not 0 <= low_high[0] < low_high[1] <= 100
        ):
            raise ConfigError(f"percentiles: expected [low, high] with 0 <= low < high <= 100, got {excerpt(low_high)}")
        object.__setattr__(self, "percentiles", (float(low_high[0]), float(low_high[1])))

    def to_dict(self):
        """Plain types only, ready for YAML or JSON."""
        values = dataclasses.asdict(self)
        values["percentiles"] = list(self.percentiles)
        return values


FIELDS = tuple(field.name for field in dataclasses.fields(Settings))
_EXCERPT = reprlib.Repr()
_EXCERPT.maxlevel, _EXCERPT.maxstring, _EXCERPT.maxother = 2, 60, 60
_EXCERPT.maxlist = _EXCERPT.maxtuple = _EXCERPT.maxdict = _EXCERPT.maxset = 4


def excerpt(value):
    """A short ``repr`` of a setting's value for messages: a YAML file's anchors can expand a value beyond memory."""
    return _EXCERPT.repr(value)


def _check_type(key, value, expected):
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{key}: expected {expected.__name__}, got {type(value).__name__} {excerpt(value)}")


def _reject_unknown(keys, source):
    for key in keys:
        if key not in FIELDS:
            close = difflib.get_close_matches(str(key)[:100], FIELDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(FIELDS)}"
            raise ConfigError(f"{source}unknown key {excerpt(key)}{hint}")


def read_config_file(path):
    """Read a YAML settings file into a dict, checking only that its keys are known."""
    import yaml

    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror})") from error
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start}); save it as UTF-8"
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from error
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level, got {type(values).__name__}")
    _reject_unknown(values, f"{path}: ")
    return values


def make_settings(config=None, **overrides):
    """Build :class:`Settings` from a YAML file, then keyword overrides on top.

    Parameters
    ----------
    config : str or Path, optional
        A YAML file of settings (see :class:`Settings` for the keys).
    **overrides
        Settings that win over the file; ``None`` values are ignored, so a CLI
        can pass every flag it has.

    Raises
    ------
    ConfigError
        For an unknown key (with the nearest known key suggested), a wrong
        type or a value out of range. The message names the key and the file.
    """
    values = read_config_file(config) if config is not None else {}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    _reject_unknown(overrides, "")
    values.update(overrides)
    try:
        return Settings(**values)
    except ConfigError as error:
        raise ConfigError(f"{config}: {error}" if config is not None else str(error)) from None
