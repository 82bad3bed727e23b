"""The manifest and lock that make runs resumable and exclusive.

The manifest is a small SQLite file in the output folder. A row says: this
output, of this size and mtime, was written from an input of this size and
mtime, with this model and these settings (the run key), and was flagged for
this reason (or not), so that a re-run still lists it. Rows are committed
after their outputs are in place, so after a crash the manifest never claims
an output that is missing; at worst a finished file is redone. An output that
was changed or removed since is redone too.
"""

import datetime
import hashlib
import json
import os
import sqlite3
from pathlib import Path

from .errors import ConfigError, RunLockedError
from .files import is_temporary_name

MANIFEST_NAME = ".digit-denoise-manifest.sqlite"
LOCK_NAME = ".digit-denoise.lock"
SCHEMA_VERSION = 3  # 2: outputs keyed by their bytes, with the output's own size and mtime; 3: and its flag


def run_key(model_sha256, settings):
    """A digest of everything that decides an output's content: the model, the settings declared with
    ``output=True`` and the package's version (a new version may compute outputs differently)."""
    from . import __version__

    return hashlib.sha256(
        json.dumps([model_sha256, settings.output_values(), __version__], sort_keys=True).encode()
    ).hexdigest()


class ManifestWriteError(Exception):
    """The manifest cannot record finished outputs (say, the disk is full)."""


class Manifest:
    """Which outputs are up to date, keyed by their path relative to the output folder.

    An unreadable manifest is moved aside and a new one started; ``warnings``
    then says so. Raises ``ConfigError`` when the manifest's path is a symlink
    or not a file, or the manifest cannot be created.
    """

    def __init__(self, output_dir):
        self.path = Path(output_dir) / MANIFEST_NAME
        self.warnings = []
        self._flag = "flag"  # the flag's column: NULL in a manifest of schema 2, read without upgrading it
        _refuse_planted(self.path, "manifest")
        try:
            self._db = _open(self.path)
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and "corrupt" not in str(error):
                raise ConfigError(f"{self.path}: cannot open the manifest ({error}); check the output folder") from None
            stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
            aside = self.path.with_name(f"{MANIFEST_NAME}.corrupt-{stamp}")
            os.replace(self.path, aside)
            self.warnings.append(
                f"{self.path}: the manifest was unreadable ({error}); moved it aside to {aside.name} and started "
                "a new one, so every file is redone once"
            )
            try:
                self._db = _open(self.path)
            except sqlite3.Error as again:
                raise ConfigError(f"{self.path}: cannot create the manifest ({again})") from None

    @classmethod
    def read_only(cls, output_dir):
        """The manifest opened for a dry run, which writes nothing: None when there is none, or it is
        unreadable or of a schema older than 2 (every file then counts as to be done). One of schema 2 is read as
        the run would upgrade it: its outputs known, none of them up to date."""
        path = Path(output_dir) / MANIFEST_NAME
        if path.is_symlink() or not path.is_file():
            return None
        manifest = cls.__new__(cls)
        manifest.path, manifest.warnings = path, []
        try:
            manifest._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            version = manifest._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (2, SCHEMA_VERSION):
                manifest.close()
                return None
            manifest._flag = "flag" if version == SCHEMA_VERSION else "NULL"
        except sqlite3.Error:
            return None
        return manifest

    def current_flag(self, output, source_stat, output_stat, key):
        """When ``output`` (a relative path) was written from this very input with ``key`` and is unchanged since,
        why it was flagged ('' if it was not); else None."""
        row = self._db.execute(
            f"SELECT source_size, source_mtime_ns, output_size, output_mtime_ns, key, {self._flag} FROM outputs"
            " WHERE output = ?",
            (os.fsencode(output),),
        ).fetchone()
        now = (source_stat.st_size, source_stat.st_mtime_ns, output_stat.st_size, output_stat.st_mtime_ns, key)
        return row[-1] if row is not None and row[:-1] == now else None  # a row from schema 2 has no flag: redone

    def knows(self, output):
        """Whether an output was recorded at ``output`` (a relative path), by any run."""
        return self._db.execute("SELECT 1 FROM outputs WHERE output = ?", (os.fsencode(output),)).fetchone() is not None

    def count_other_keys(self, key):
        """How many outputs were recorded with a run key other than ``key`` (another model, settings or version)."""
        return self._db.execute("SELECT COUNT(*) FROM outputs WHERE key != ?", (key,)).fetchone()[0]

    def record(self, entries):
        """Record ``(output, source_stat, output_stat, key, flag)`` for outputs now in place, in one transaction
        (``flag``: why the output was flagged, or '').

        Raises ``ManifestWriteError`` when the database cannot be written.
        """
        rows = [
            (os.fsencode(output), source.st_size, source.st_mtime_ns, written.st_size, written.st_mtime_ns, key, flag)
            for output, source, written, key, flag in entries
        ]
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as error:
            raise ManifestWriteError(f"{self.path}: cannot record finished outputs ({error})") from None

    def close(self):
        self._db.close()


def _open(path):
    """Connect, check the file is a sound SQLite database, and bring its table to this schema."""
    db = sqlite3.connect(path)
    try:
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == 2:  # its rows stay, so that the outputs they record are still known as this tool's
            with db:
                db.execute("ALTER TABLE outputs ADD COLUMN flag TEXT")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            with db:  # an older manifest: its rows cannot be trusted with this schema, so every file is redone once
                db.execute("DROP TABLE IF EXISTS outputs")
                db.execute(
                    "CREATE TABLE outputs (output BLOB PRIMARY KEY, source_size INTEGER, source_mtime_ns INTEGER,"
                    " output_size INTEGER, output_mtime_ns INTEGER, key TEXT, flag TEXT)"
                )
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.close()
        raise
    return db


def _refuse_planted(path, what):
    """A symlink or a folder where digit-denoise keeps its own file could make a run write elsewhere: refuse it."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ConfigError(
            f"{path}: the {what} path is a symlink or not a plain file; digit-denoise keeps its {what} there. "
            "Remove it and run again"
        )


def lock_output(output_dir):
    """Take the output folder's lock without waiting; the OS frees it when the holder dies.

    Returns the held ``filelock.FileLock``. Raises ``RunLockedError`` when another
    run holds it, ``ConfigError`` when the lock cannot be made there (a read-only
    or unwritable folder, a symlink planted at the lock's path).
    """
    from filelock import FileLock, Timeout

    path = Path(output_dir) / LOCK_NAME
    _refuse_planted(path, "lock file")
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunLockedError(
            f"{output_dir}: another digit-denoise run is writing here; try again when it ends"
        ) from None
    except OSError as error:
        raise ConfigError(
            f"{output_dir}: cannot write to the output folder ({error.strerror or error}); "
            "choose a writable output folder"
        ) from None
    return lock


def remove_stale_temporaries(output_dir):
    """Delete the temporary files that a killed run of this tool left under ``output_dir``; returns how many.

    Only names that ``files.temporary_name`` makes are removed.
    """
    removed = 0
    for folder, _, names in os.walk(output_dir, onerror=lambda error: None):
        for name in names:
            if is_temporary_name(name):
                try:
                    os.unlink(os.path.join(folder, name))
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed
