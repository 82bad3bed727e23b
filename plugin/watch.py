"""Watch mode: run again whenever files change under the input folders, with the model loaded once.

Each pass is an ordinary run (:func:`digit_denoise.denoise_folder`): the
manifest skips what is up to date, so a pass does only the new and changed
scans, and a watcher that is killed can simply be started again. Needs the
``watch`` extra (``watchfiles``).
"""

from pathlib import Path

from .config import make_settings
from .denoiser import find_denoiser
from .errors import ConfigError
from .files import is_temporary_name
from .runner import InlineExecutor, denoise_folder

DEBOUNCE_MS = 1000  # changes are gathered this long, so that a folder being copied in makes one pass, not hundreds


def watch_folders(inputs, output_dir, *, config=None, stop=None, debounce_ms=DEBOUNCE_MS, **settings):
    """Denoise ``inputs`` into ``output_dir`` now, and again after each change under them, until ``stop`` is set.

    Takes the arguments of :func:`digit_denoise.denoise_folder`; ``stop`` is a
    ``threading.Event``. Yields the :class:`~digit_denoise.RunSummary` of each
    pass, the first one included. The model is loaded once and runs in this
    process. Raises ``ConfigError`` when ``watchfiles`` is not installed, and
    what ``denoise_folder`` raises.
    """
    try:
        import watchfiles
    except ImportError as error:
        raise ConfigError("watch needs the watchfiles package: pip install 'digit-denoise[watch]'") from error
    settings = make_settings(config, **settings)
    inputs = [Path(inputs)] if isinstance(inputs, (str, Path)) else [Path(given) for given in inputs]
    output_dir = Path(output_dir)
    denoiser = find_denoiser(settings.model)
    executor = InlineExecutor()

    def one_pass():
        return denoise_folder(inputs, output_dir, denoiser=denoiser, executor=executor, **settings.to_dict())

    yield one_pass()
    output = output_dir.resolve()

    def relevant(change, path):
        path = Path(path)
        return not (path.resolve().is_relative_to(output) or path.name.startswith(".") or is_temporary_name(path.name))

    folders = [given if given.is_dir() else given.parent for given in inputs]
    for _ in watchfiles.watch(*folders, watch_filter=relevant, debounce=debounce_ms, stop_event=stop,
                              raise_interrupt=False):
        yield one_pass()


__all__ = ["watch_folders"]
