"""The pixel work of a run, for one batch of files: decode, adapt, denoise, encode.

:func:`denoise_files` is a plain function of picklable arguments, so the very
same code runs in this process, in a local worker process or as a Ray task. It
reads and computes but writes nothing: the run that called it writes each
output atomically and records it (``runner``).
"""

import dataclasses
import functools
import multiprocessing
import sys
import time
import types
from multiprocessing.context import ForkServerContext, ForkServerProcess

import numpy as np

from .adapter import ScanAdapter
from .denoiser import Denoiser, find_denoiser, limit_threads
from .errors import DigitDenoiseError, ScanError
from .scans import encode_image

ORIGINAL_CHUNK = 16  # files adapted at once for size 'original', whose frames hold full-resolution strokes


@dataclasses.dataclass
class Outcome:
    """What became of one file: its encoded output, or why there is none."""

    data: bytes = None
    error: str = None
    flags: tuple = ()  # why the scan does not look like one digit


@dataclasses.dataclass
class BatchResult:
    """A batch's outcomes, in the order of its files, and the seconds spent loading the model for it (0 once
    loaded)."""

    outcomes: list
    load_seconds: float = 0.0


def denoise_files(sources, suffixes, settings, model):
    """Denoise a batch of image files into encoded outputs.

    Parameters
    ----------
    sources : list of str, Path or binary file object
        The files to read (a file object should carry a ``name``).
    suffixes : list of str
        Each output's suffix ('.png', '.tif', ...), which picks its format.
    settings : Settings
    model : Denoiser or str
        The model, or its ``Denoiser.source`` (loaded once per process).

    Returns
    -------
    BatchResult
        One ``Outcome`` per source, in order. A file that cannot be read,
        adapted or encoded gets its reason; nothing a single file does raises.

    Raises
    ------
    ModelError
        When the model cannot be loaded: no file of the run could be denoised.
    """
    started = time.perf_counter()
    denoiser = model if isinstance(model, Denoiser) else _process_denoiser(model)
    load_seconds = denoiser.warm_up() if isinstance(model, Denoiser) else time.perf_counter() - started
    if settings.size == "original" and len(sources) > ORIGINAL_CHUNK:  # a frame holds a whole page: a few at a time
        parts = [denoise_files(sources[i : i + ORIGINAL_CHUNK], suffixes[i : i + ORIGINAL_CHUNK], settings, denoiser)
                 for i in range(0, len(sources), ORIGINAL_CHUNK)]
        return BatchResult([outcome for part in parts for outcome in part.outcomes], load_seconds)
    adapter = ScanAdapter.from_settings(settings)
    outcomes = [Outcome() for _ in sources]
    ready = []
    try:
        adapted = adapter.read_many(sources, max_pixels=settings.max_pixels)
    except Exception:  # a fault that one scan sets off in the stacked analysis must not cost the others their outputs
        adapted = [_read_alone(adapter, source, settings.max_pixels) for source in sources]
    for index, result in enumerate(adapted):
        if isinstance(result, ScanError):
            outcomes[index].error = result.reason
        elif isinstance(result, DigitDenoiseError):
            outcomes[index].error = str(result)
        elif isinstance(result, Exception):  # an odd file must not stop the run, whatever its decoder raises
            outcomes[index].error = f"cannot decode or adapt it ({type(result).__name__}: {result})"
        else:
            ready.append((index, *result))
    if not ready:
        return BatchResult(outcomes, load_seconds)
    results = denoiser.denoise(np.stack([digit for _, digit, _ in ready]))
    for (index, _, frame), result in zip(ready, results):
        outcomes[index].flags = frame.flags
        if not np.isfinite(result).all():
            outcomes[index].error = "the model's output holds NaN or infinite values; nothing was written"
            continue
        try:
            outcomes[index].data = encode_image(adapter.after(result, frame), suffixes[index], frame.metadata)
        except Exception as error:  # say, a format that cannot hold this image
            outcomes[index].error = f"cannot encode its output ({type(error).__name__}: {error})"
    return BatchResult(outcomes, load_seconds)


def _read_alone(adapter, source, max_pixels):
    """``adapter.read`` of one file, or the exception it raised."""
    if hasattr(source, "seek"):
        source.seek(0)  # a file object read once already, with the others
    try:
        return adapter.read(source, max_pixels=max_pixels)
    except Exception as error:
        return error


@functools.lru_cache(maxsize=4)
def _process_denoiser(source):
    """One loaded model per process and source: a worker loads it for its first batch only."""
    denoiser = find_denoiser(source)
    denoiser.warm_up()
    return denoiser


def start_worker():
    """Set up a worker process: one model thread (the workers share the cores), and Ctrl-C left to the run
    that owns it, which finishes the batches in flight."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads(1)


class WorkerProcess(ForkServerProcess):
    """A forkserver process that starts without the caller's ``__main__``.

    Workers only run :func:`denoise_files`. Python would otherwise run the
    calling script again in every worker: a script without an
    ``if __name__ == "__main__"`` guard would start its own run there, and a
    program read from stdin or typed at a prompt could not start workers at all.
    """

    @staticmethod
    def _Popen(process_obj):
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            return ForkServerProcess._Popen(process_obj)
        finally:
            sys.modules["__main__"] = main


class WorkerContext(ForkServerContext):
    Process = WorkerProcess


@functools.cache
def worker_context(keras=True):
    """The multiprocessing context of worker processes: forkserver (safe whatever this process has imported,
    TensorFlow's threads included), with numpy, scikit-image and Pillow, and with ``keras`` Keras and TensorFlow,
    imported once in the server. Workers forked from it share those modules' memory instead of each importing
    them (about 200 MiB less per worker); importing runs no TensorFlow op, so no thread is lost in the fork.
    What the first call asks is what the server, started once per process, preloads."""
    import os

    # One thread per worker for the numeric libraries too: the workers share the cores, and BLAS threads that
    # spin while they wait would take them from each other. The forkserver reads these when it starts.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    preload = ["digit_denoise.batch"] + (["digit_denoise.models.architectures"] if keras else [])  # import_keras
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    return WorkerContext()
