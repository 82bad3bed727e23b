"""The manifest and lock that make runs resumable and exclusive.

The manifest is a small SQLite file in the output folder. A row says: this
output was written from an input of this size and mtime, with this model and
these settings (the run key). Rows are committed after their outputs are in
place, so after a crash the manifest never claims an output that is missing;
at worst a finished file is redone.
"""

import hashlib
import json
import os
import sqlite3
from pathlib import Path

from .errors import DigitDenoiseError
from .files import TEMPORARY_MARK

MANIFEST_NAME = ".digit-denoise-manifest.sqlite"
LOCK_NAME = ".digit-denoise.lock"


class RunLockedError(DigitDenoiseError):
    """Another run holds the output folder's lock."""


def run_key(model_sha256, settings):
    """A digest of everything that decides an output's content: the model and the adapter settings."""
    relevant = {key: settings[key] for key in ("polarity", "normalize", "percentiles", "framing", "size", "format")}
    return hashlib.sha256(json.dumps([model_sha256, relevant], sort_keys=True).encode()).hexdigest()


class Manifest:
    """Which outputs are up to date, keyed by their path relative to the output folder."""

    def __init__(self, output_dir):
        self._db = sqlite3.connect(Path(output_dir) / MANIFEST_NAME)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outputs (output TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, key TEXT)"
        )

    def is_current(self, output, source_stat, key):
        row = self._db.execute("SELECT size, mtime_ns, key FROM outputs WHERE output = ?", (output,)).fetchone()
        return row == (source_stat.st_size, source_stat.st_mtime_ns, key)

    def record(self, entries):
        """Record ``(output, source_stat, key)`` triples for outputs now in place, in one transaction."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?)",
                [(output, stat.st_size, stat.st_mtime_ns, key) for output, stat, key in entries],
            )

    def close(self):
        self._db.close()


def lock_output(output_dir):
    """Take the output folder's lock without waiting; the OS frees it when the holder dies.

    Returns the held ``filelock.FileLock``. Raises ``RunLockedError`` when another run holds it.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(Path(output_dir) / LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunLockedError(f"{output_dir}: another digit-denoise run is writing here; try again when it ends") from None
    return lock


def remove_stale_temporaries(output_dir):
    """Delete temporary files that a killed run left under ``output_dir``; returns how many."""
    removed = 0
    for folder, _, names in os.walk(output_dir):
        for name in names:
            if name.startswith(".") and TEMPORARY_MARK in name:
                os.unlink(os.path.join(folder, name))
                removed += 1
    return removed
