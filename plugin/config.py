"""Settings: the one declaration of every setting, shared by the CLI, the Python API and YAML files.

Each field of :class:`Settings` is declared once, with :func:`setting`: its
default, help, choices and whether it changes an output. The CLI's flags, the
manifest's run key and the check that ``examples/config.yaml`` documents every
field are derived from it. The CLI, ``denoise_folder(**settings)`` and a YAML
file all end in :func:`make_settings`, so a key means the same thing
everywhere and is checked the same way.
"""

import dataclasses
import difflib
import os
import reprlib
from pathlib import Path
from typing import Any, Optional

from .errors import ConfigError

def setting(default, help, *, choices=None, output=False, short=None, minimum=None, kind=None):
    """Declare one field of :class:`Settings`: everything else about a setting is derived from this.

    ``help`` is the one description shown by ``run --help``, the docs and the
    config check; ``choices`` the allowed values; ``output`` whether the value
    changes the content of an output (such fields make the manifest's run key,
    so changing one redoes the outputs); ``short`` a one-letter flag;
    ``minimum`` the least integer allowed; ``kind`` the type of the items of a
    list setting (a tuple default).
    """
    metadata = {"help": help, "choices": choices, "output": output, "short": short, "minimum": minimum, "kind": kind}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a denoising run can be told; each field documents itself (``describe()``).

    The CLI's flags, ``denoise_folder(**settings)``, a YAML file and the
    manifest's run key are all derived from these declarations.
    """

    model: str = setting(
        "default", "A shipped model's name (see `digit-denoise models`), 'default', 'none' (the adapter alone, no "
        "denoising) or the path of a .keras file. The model's sha256 is part of the run key.", short="m")
    polarity: str = setting(
        "auto", "Ink against paper. 'auto' takes the side (light or dark) most of the page's edges are on as the "
        "paper, or where they are mixed the dominant intensity, and inverts dark ink on light paper to MNIST's "
        "light-on-dark (and back when writing).",
        choices=("auto", "dark-on-light", "light-on-dark"), output=True)
    normalize: str = setting(
        "levels", "Intensity normalization before the model: 'levels' flattens uneven light, estimates the paper's "
        "and the ink's clean levels and maps them to 0 and 1, and frames the digit from its strokes alone (specks, "
        "ruled lines and page edges left out); 'percentile' maps the `percentiles` pair to [0, 1] and clips, as "
        "CSBDeep does; 'minmax' uses the extremes; 'none' keeps intensities as read.",
        choices=("levels", "percentile", "minmax", "none"), output=True)
    percentiles: tuple = setting(
        (2.0, 99.8), "Low and high percentiles for normalize 'percentile', 0 <= low < high <= 100.", output=True)
    framing: str = setting(
        "mnist", "How a scan becomes a 28x28 digit: 'mnist' crops to the ink, scales its longer side to 20 px and "
        "centres its centre of mass (MNIST's own recipe); 'resize' resizes the whole image; 'none' requires 28x28 "
        "scans.", choices=("mnist", "resize", "none"), output=True)
    size: str = setting(
        "model", "Write the 28x28 result ('model'), or map it back to the scan's own size ('original').",
        choices=("model", "original"), output=True)
    levels: str = setting(
        "restore", "The output's intensities: 'restore' writes the scan's own clean paper and ink levels (and, at "
        "size 'original', its light); 'normalize' writes the paper white and the ink black, in the scan's polarity.",
        choices=("restore", "normalize"), output=True)
    format: str = setting(
        "png", "Write <stem>.png ('png'), or keep each input's format ('same').", choices=("png", "same"), output=True)
    strict: bool = setting(False, "Count flagged scans (no ink, several digits, too small, doubtful polarity, "
                           "strokes too thin for the 28x28 model) as failures: they are not written and the exit "
                           "code is 1.")
    recursive: bool = setting(True, "Descend into sub-folders of the input folder; the output mirrors the tree.")
    include: tuple = setting((), "Only scans whose path, relative to the input folder, matches one of these glob "
                             "patterns (matched from the right: '*.png', 'letters/*').", kind=str)
    exclude: tuple = setting((), "Skip scans whose relative path matches one of these glob patterns "
                             "('drafts/*', '*-old.jpg').", kind=str)
    batch_size: int = setting(256, "Images per model call and per unit of work; larger is faster up to a point.",
                              minimum=1)
    max_pixels: int = setting(50_000_000, "Images with more pixels than this are refused before decoding (a guard "
                              "against decompression bombs).", minimum=1)
    overwrite: bool = setting(False, "Redo every file, even those the manifest says are up to date.")
    max_failures: Optional[int] = setting(None, "Stop the run once more than this many files have failed (exit "
                                          "code 1); none never stops.", minimum=0)
    follow_symlinks: bool = setting(False, "Follow symlinks that lead out of the input folder.")
    workers: int = setting(0, "Worker processes that decode, denoise and encode; 1 works in this process, 0 picks "
                           "from the cores this process may use.", minimum=0)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value, meta = getattr(self, field.name), field.metadata
            if meta["choices"]:
                if value not in meta["choices"]:
                    raise ConfigError(f"{field.name}: {excerpt(value)} is not one of {', '.join(meta['choices'])}")
            elif field.type is bool or field.type is str:
                _check_type(field.name, value, field.type)
            elif meta["kind"] is not None:
                if isinstance(value, str) or not isinstance(value, (list, tuple)):
                    value = [value] if isinstance(value, str) else value
                    _check_type(field.name, value, list)
                for item in value:
                    _check_type(field.name, item, meta["kind"])
                object.__setattr__(self, field.name, tuple(value))
            elif meta["minimum"] is not None and not (value is None and field.default is None):
                _check_type(field.name, value, int)
                if value < meta["minimum"]:
                    raise ConfigError(
                        f"{field.name}: must be an integer of at least {meta['minimum']}, got {excerpt(value)}"
                    )
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
        """Plain types only, ready for YAML or JSON: tuples become lists."""
        values = dataclasses.asdict(self)
        return {key: list(value) if isinstance(value, tuple) else value for key, value in values.items()}

    def output_values(self):
        """The values of the fields that change an output's content (``setting(output=True)``)."""
        values = self.to_dict()
        return {field.name: values[field.name] for field in dataclasses.fields(self) if field.metadata["output"]}

    @staticmethod
    def describe():
        """``[(name, default, help, choices)]`` for every field, in declaration order."""
        return [(f.name, f.default, f.metadata["help"], f.metadata["choices"]) for f in dataclasses.fields(Settings)]


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
    except yaml.YAMLError as error:  # said on one line: where, and what is wrong there
        mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None) or str(error)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML ({where}{' '.join(problem.split())})") from error
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level, got {type(values).__name__}")
    _reject_unknown(values, f"{path}: ")
    return values


def make_settings(config: str | os.PathLike | None = None, **overrides: Any) -> Settings:
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
