"""Atomic file replacement: a reader sees the old file or the new one, never a partial one."""

import os
from pathlib import Path

TEMPORARY_MARK = ".ddtmp"


def temporary_name(path):
    """The hidden temporary name used while ``path`` is being written (same folder, so ``os.replace`` is atomic)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{os.getpid()}{TEMPORARY_MARK}{path.suffix}")


def replace_atomically(path, write):
    """Call ``write(temporary_path)``, then move the result onto ``path``.

    On any error the temporary file is removed and the error propagates;
    ``path`` is left as it was.
    """
    tmp = temporary_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
