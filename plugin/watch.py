"""Watch mode: run again whenever files change under the input folders, with the model loaded once.

Each pass is an ordinary run (:func:`digit_denoise.denoise_folder`): the
manifest skips what is up to date, so a pass does only the new and changed
scans, and a watcher that is killed can simply be started again. Needs the
``watch`` extra (``watchfiles``).
"""

import time
from pathlib import Path

from .config import make_settings
from .denoiser import find_denoiser
from .errors import ConfigError
from .files import is_temporary_name
from .runner import InlineExecutor, check_inputs, denoise_folder

DEBOUNCE_MS = 1000  # changes are gathered this long, so that a folder being copied in makes one pass, not hundreds
WAKE_MS = 200  # the watcher wakes this often when nothing changes (to start, and to see that it is stopped)


def watch_folders(inputs, output_dir, *, config=None, stop=None, debounce_ms=DEBOUNCE_MS, **settings):
    """Denoise ``inputs`` into ``output_dir`` now, and again after each change under them, until ``stop`` is set.

    Takes the arguments of :func:`digit_denoise.denoise_folder`; ``stop`` is a
    ``threading.Event``; setting it also ends a pass early, as it does a run.
    Yields the :class:`~digit_denoise.RunSummary` of each pass, the first one
    included. A pass starts once the changed files have kept their size for
    ``debounce_ms``, so a file still being copied in is waited for. The
    model is loaded once and runs in this process. Raises ``ConfigError`` when ``watchfiles`` is not installed, and
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
        return denoise_folder(inputs, output_dir, denoiser=denoiser, executor=executor, stop=stop,
                              **settings.to_dict())

    output = output_dir.resolve()

    def relevant(change, path):
        path = Path(path)
        return not (path.resolve().is_relative_to(output) or path.name.startswith(".") or is_temporary_name(path.name))

    check_inputs(inputs, output_dir)  # before watching: a missing input would have its parent folder watched
    folders = [given if given.is_dir() else given.parent for given in inputs]
    # The watcher is set up before its first answer, which comes after WAKE_MS at most: the first pass runs then,
    # so that a file dropped in during that pass, or just after it, is seen by the next.
    first = True
    changes_seen = watchfiles.watch(*folders, watch_filter=relevant, debounce=debounce_ms, stop_event=stop,
                                    raise_interrupt=False, rust_timeout=WAKE_MS, yield_on_timeout=True)
    while True:
        try:
            changes = next(changes_seen)
        except StopIteration:
            return
        except OSError as error:  # the watcher's own limits (inotify watches), raised when it starts
            raise ConfigError(f"cannot watch {', '.join(map(str, folders))}: {error}; watch fewer or smaller "
                              "folders, or raise the system's limit (fs.inotify.max_user_watches)") from error
        if first or (changes and _settled({Path(path) for _, path in changes}, debounce_ms / 1000, stop)):
            first = False
            yield one_pass()


def _settled(paths, interval, stop):
    """Wait until none of ``paths`` changes size or mtime over ``interval`` seconds (a file still being written
    is waited for); False when ``stop`` was set meanwhile."""

    def sizes():
        found = {}
        for path in paths:
            try:
                info = path.stat()
            except OSError:
                continue  # removed, or not there yet: nothing to wait for
            found[path] = (info.st_size, info.st_mtime_ns)
        return found

    before = sizes()
    while True:
        if stop is None:
            time.sleep(interval)
        elif stop.wait(interval):
            return False
        now = sizes()
        if now == before:
            return True
        before = now
