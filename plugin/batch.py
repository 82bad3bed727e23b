"""The pixel work of a run, for one batch of files: decode, adapt, denoise, encode.

:func:`denoise_files` is a plain function of picklable arguments, so the very
same code runs in this process, in a local worker process or as a Ray task. It
reads and computes but writes nothing: the run that called it writes each
output atomically and records it (``runner``).
"""

import dataclasses
import functools

import numpy as np

from .adapter import ScanAdapter
from .denoiser import Denoiser, find_denoiser, limit_threads
from .errors import DigitDenoiseError, ScanError
from .scans import encode_image


@dataclasses.dataclass
class Outcome:
    """What became of one file: its encoded output, or why there is none."""

    data: bytes = None
    error: str = None


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
    list of Outcome
        One per source, in order. A file that cannot be read, adapted or
        encoded gets its reason; nothing a single file does raises.

    Raises
    ------
    ModelError
        When the model cannot be loaded: no file of the run could be denoised.
    """
    denoiser = model if isinstance(model, Denoiser) else _process_denoiser(model)
    adapter = ScanAdapter.from_settings(settings)
    outcomes = [Outcome() for _ in sources]
    ready = []
    for index, source in enumerate(sources):
        try:
            ready.append((index, *adapter.read(source, max_pixels=settings.max_pixels)))
        except ScanError as error:
            outcomes[index].error = error.reason
        except DigitDenoiseError as error:
            outcomes[index].error = str(error)
        except Exception as error:  # an odd file must not stop the run, whatever its decoder raises
            outcomes[index].error = f"cannot decode ({type(error).__name__}: {error})"
    if not ready:
        return outcomes
    results = denoiser.denoise(np.stack([digit for _, digit, _ in ready]))
    for (index, _, frame), result in zip(ready, results):
        if not np.isfinite(result).all():
            outcomes[index].error = "the model's output holds NaN or infinite values; nothing was written"
            continue
        try:
            outcomes[index].data = encode_image(adapter.after(result, frame), suffixes[index])
        except Exception as error:  # say, a format that cannot hold this image
            outcomes[index].error = f"cannot encode its output ({type(error).__name__}: {error})"
    return outcomes


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
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads(1)
