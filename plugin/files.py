"""Atomic file replacement, and how paths are shown in messages.

A reader sees the old file or the new one, never a partial one. Temporary
files have a name of their own shape (``is_temporary_name``), short whatever
the destination's name, so that the clean-up after a killed run removes only
what this tool wrote.
"""

import hashlib
import os
import re
from pathlib import Path

TEMPORARY_MARK = ".ddtmp"
_TEMPORARY_NAME = re.compile(r"\.dd-[0-9a-f]{16}-\d+\.ddtmp(\.[^./]{1,16})?")


def temporary_name(path):
    """The hidden temporary name used while ``path`` is being written (same folder, so ``os.replace`` is atomic).

    It holds a digest of the name, not the name, so that it stays short for a
    255-byte name; it keeps a short suffix, which some writers use to pick the format.
    """
    path = Path(path)
    digest = hashlib.sha256(os.fsencode(path.name)).hexdigest()[:16]
    suffix = path.suffix if 1 < len(os.fsencode(path.suffix)) <= 17 else ""
    return path.with_name(f".dd-{digest}-{os.getpid()}{TEMPORARY_MARK}{suffix}")


def is_temporary_name(name):
    """Whether ``name`` is one that ``temporary_name`` makes."""
    return _TEMPORARY_NAME.fullmatch(name) is not None


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


_CONTROL = {code: f"\\x{code:02x}" for code in (*range(32), 127)}


def printable(text):
    """``text`` safe to print on one line: control characters (a newline in a file name) and bytes that
    are not UTF-8 (kept by Python as surrogates) are shown as escapes."""
    text = str(text)
    if not text.isprintable() or any("\udc80" <= char <= "\udcff" for char in text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").translate(_CONTROL)
    return text
