"""The folder runner: discover scans, adapt, denoise in batches, write the mirrored tree."""

import dataclasses
import itertools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .adapter import ScanAdapter
from .config import make_settings
from .denoiser import load_denoiser
from .errors import ConfigError, DigitDenoiseError, ScanError
from .scans import is_image_name, read_scan, write_image


@dataclasses.dataclass
class RunSummary:
    """What a run did; ``to_dict()`` is the JSON report.

    ``processed``, ``skipped`` and ``failed`` count files; ``failures`` lists
    each failed file with its reason; ``skipped_files`` lists the skipped ones.
    """

    input_dir: str
    output_dir: str
    model: str
    settings: dict
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list = dataclasses.field(default_factory=list)
    skipped_files: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_second(self):
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self):
        return {**dataclasses.asdict(self), "images_per_second": round(self.images_per_second, 1)}


def denoise_folder(input_dir, output_dir, *, config=None, denoiser=None, on_progress=None, **settings):
    """Denoise every scan under ``input_dir`` into a mirrored tree under ``output_dir``.

    Parameters
    ----------
    input_dir, output_dir : str or Path
        ``output_dir`` is created; it may not be ``input_dir`` itself. When it
        lies inside ``input_dir`` it is left out of the scan.
    config : str or Path, optional
        A YAML settings file; ``settings`` override it.
    denoiser : Denoiser, optional
        An already loaded model (otherwise ``settings['model']`` is loaded).
    on_progress : callable, optional
        Called as ``on_progress(done)`` after each batch with the number of
        files handled so far; the CLI uses it for its progress bar.
    **settings
        Any field of :class:`digit_denoise.Settings`.

    Returns
    -------
    RunSummary

    Raises
    ------
    ConfigError
        For bad settings or folders. Problems with single files never raise:
        they are counted and listed in the summary.
    """
    settings = make_settings(config, **settings)
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if not input_dir.is_dir():
        raise ConfigError(f"{input_dir}: the input folder does not exist")
    if output_dir.resolve() == input_dir.resolve():
        raise ConfigError(f"{output_dir}: the output folder must differ from the input folder; inputs are never overwritten")
    denoiser = denoiser or load_denoiser(settings.model)
    adapter = ScanAdapter.from_settings(settings)
    summary = RunSummary(str(input_dir), str(output_dir), denoiser.name, settings.to_dict())
    started = time.perf_counter()
    outputs = {}

    def prepare(source):
        target = output_path(source, input_dir, output_dir, settings.format)
        if outputs.setdefault(target, source) != source:
            raise ScanError(f"{source}: its output {target} would overwrite that of {outputs[target]}; use format 'same'")
        digit, frame = adapter.before(read_scan(source, max_pixels=settings.max_pixels))
        return source, target, digit, frame

    def finish(item, result):
        source, target, _, frame = item
        target.parent.mkdir(parents=True, exist_ok=True)
        write_image(target, adapter.after(result, frame))

    files = discover(input_dir, output_dir, recursive=settings.recursive, skipped=summary.skipped_files)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        for chunk in _chunks(files, settings.batch_size):
            prepared = [(source, _attempt(prepare, source)) for source in chunk]
            ready = [item for _, item in prepared if not isinstance(item, _Failure)]
            for source, item in prepared:
                if isinstance(item, _Failure):
                    summary.failures.append({"path": str(source), "reason": item.reason})
            if ready:
                results = denoiser.denoise(np.stack([digit for _, _, digit, _ in ready]))
                written = pool.map(lambda pair: _attempt(finish, *pair), zip(ready, results))
                for item, outcome in zip(ready, written):
                    if isinstance(outcome, _Failure):
                        summary.failures.append({"path": str(item[0]), "reason": outcome.reason})
                    else:
                        summary.processed += 1
            if on_progress:
                on_progress(summary.processed + len(summary.failures))
    summary.failed = len(summary.failures)
    summary.skipped = len(summary.skipped_files)
    summary.seconds = time.perf_counter() - started
    return summary


@dataclasses.dataclass
class _Failure:
    reason: str


def _attempt(function, *args):
    """Run one file's step; a failure becomes a value, so one bad file never stops the run."""
    try:
        return function(*args)
    except DigitDenoiseError as error:
        return _Failure(str(error))
    except OSError as error:
        return _Failure(f"{error.filename or args[0]}: {error.strerror or error}")


def _chunks(iterable, size):
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def discover(input_dir, output_dir, *, recursive=True, skipped=None):
    """Yield image files under ``input_dir`` in sorted order, lazily.

    The output folder is left out when it lies inside the input folder, as are
    hidden files and folders. Files that are not images are appended to
    ``skipped`` (when given) and not yielded.
    """
    output_dir = Path(output_dir).resolve()
    for folder, subfolders, names in os.walk(input_dir):
        subfolders[:] = sorted(
            name for name in subfolders
            if recursive and not name.startswith(".") and (Path(folder) / name).resolve() != output_dir
        )
        for name in sorted(names):
            path = Path(folder) / name
            if name.startswith("."):
                continue
            if is_image_name(path):
                yield path
            elif skipped is not None:
                skipped.append(str(path))


def output_path(source, input_dir, output_dir, output_format):
    """Where the result for ``source`` goes: the same relative path, as ``.png`` unless format is 'same'."""
    relative = Path(source).relative_to(input_dir)
    if output_format == "png":
        relative = relative.with_suffix(".png")
    return Path(output_dir) / relative
