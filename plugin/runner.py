"""The folder runner: discover scans, adapt, denoise in batches, write the mirrored tree.

A run streams: files are discovered lazily and handled a batch at a time;
while the model works on one batch, a thread pool decodes the next and writes
the previous one, so memory stays flat whatever the folder's size. Outputs are
written atomically and recorded in a manifest, so a killed run can simply be
run again and skips what is up to date.
"""

import dataclasses
import datetime
import errno
import functools
import hashlib
import itertools
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from digit_denoise.models.data import sha256_of

from .adapter import ScanAdapter
from .config import make_settings
from .denoiser import load_denoiser
from .errors import ConfigError, DigitDenoiseError, ScanError
from .files import printable
from .manifest import Manifest, ManifestWriteError, lock_output, remove_stale_temporaries, run_key
from .scans import is_image_name, write_image

# A write that fails with one of these will fail for every file after it: the run stops instead.
_OUTPUT_UNUSABLE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


@dataclasses.dataclass
class RunSummary:
    """What a run did; ``to_dict()`` is the JSON report.

    ``processed``, ``skipped`` and ``failed`` count files; ``up_to_date``
    counts the skipped files that the manifest showed were done already.
    ``skipped_files`` lists every other skipped file or folder with its reason
    (not an image, hidden, a symlink leading out of the input folder or back
    into a folder already walked); ``failures`` lists each failed file or
    unreadable folder with its reason. ``planned`` lists what a dry run would
    process. ``warnings`` holds what went wrong but was mended (a corrupt
    manifest rebuilt); ``stopped`` says why the run stopped before the end
    when the output folder could no longer be written (a full disk).
    Paths are shown as ``files.printable`` makes them.
    """

    input_dir: str
    output_dir: str
    model: str
    model_sha256: str
    card_sha256: str
    settings: dict
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    up_to_date: int = 0
    failures: list = dataclasses.field(default_factory=list)
    skipped_files: list = dataclasses.field(default_factory=list)
    planned: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    interrupted: bool = False
    stopped_at_max_failures: bool = False
    stopped: str = ""
    started: str = ""
    seconds: float = 0.0

    @property
    def images_per_second(self):
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self):
        return {**dataclasses.asdict(self), "images_per_second": round(self.images_per_second, 1)}

    def skip(self, path, reason):
        """Count and list a skipped file or folder."""
        self.skipped_files.append({"path": printable(path), "reason": reason})
        self.skipped += 1

    def fail(self, path, reason):
        """Count and list a failed file or folder."""
        self.failures.append({"path": printable(path), "reason": reason})
        self.failed += 1


@dataclasses.dataclass
class _Job:
    source: Path
    target: Path
    relative: str
    stat: os.stat_result
    digit: np.ndarray = None
    frame: object = None
    error: str = None
    written: os.stat_result = None  # the output's stat once it is in place
    unusable_output: bool = False  # the write failed in a way every later write will (a full disk)


def denoise_folder(input_dir, output_dir, *, config=None, denoiser=None, dry_run=False, stop=None,
                   on_progress=None, **settings):
    """Denoise every scan under ``input_dir`` into a mirrored tree under ``output_dir``.

    Parameters
    ----------
    input_dir, output_dir : str or Path
        ``output_dir`` is created; it may not be ``input_dir`` itself. When it
        lies inside ``input_dir`` it is left out of the scan. Inputs are only
        ever opened for reading.
    config : str or Path, optional
        A YAML settings file; ``settings`` override it.
    denoiser : Denoiser, optional
        An already loaded model (otherwise ``settings['model']`` is loaded).
    dry_run : bool
        Only list, in ``summary.planned``, what would be processed; write nothing.
    stop : threading.Event, optional
        When set (say, by a signal handler), the run finishes the batches in
        flight (at most two) and returns with ``summary.interrupted``.
    on_progress : callable, optional
        Called as ``on_progress(files_handled)`` after each batch.
    **settings
        Any field of :class:`digit_denoise.Settings`.

    Returns
    -------
    RunSummary

    Raises
    ------
    ConfigError
        For bad settings or folders.
    RunLockedError
        When another run is writing to ``output_dir``.

    Problems with single files never raise: they are counted and listed in
    the summary, and the run goes on (up to ``max_failures``).
    """
    settings = make_settings(config, **settings)
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if not input_dir.is_dir():
        raise ConfigError(f"{input_dir}: the input folder does not exist")
    if output_dir.resolve() == input_dir.resolve():
        raise ConfigError(f"{output_dir}: the output folder must differ from the input folder; inputs are never overwritten")
    if input_dir.resolve().is_relative_to(output_dir.resolve()):
        raise ConfigError(
            f"{output_dir}: the input folder {input_dir} lies inside this output folder, where outputs could "
            "overwrite inputs; choose an output folder that does not hold the input folder"
        )
    lock = None if dry_run else _prepare_output(output_dir)
    try:
        denoiser = denoiser or load_denoiser(settings.model)
        summary = RunSummary(
            str(input_dir), str(output_dir), denoiser.name, model_digest(denoiser), card_digest(denoiser),
            settings.to_dict(),
            started=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        )
        manifest = Manifest.read_only(output_dir) if dry_run else Manifest(output_dir)
        if manifest:
            summary.warnings.extend(manifest.warnings)
        started = time.perf_counter()
        try:
            _run(input_dir, output_dir, settings, denoiser, manifest, summary, dry_run, stop, on_progress)
        finally:
            summary.seconds = time.perf_counter() - started
            if manifest:
                manifest.close()
        return summary
    finally:
        if lock:
            lock.release()


def _prepare_output(output_dir):
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{output_dir}: cannot create the output folder ({error.strerror})") from error
    lock = lock_output(output_dir)
    remove_stale_temporaries(output_dir)
    return lock


def _run(input_dir, output_dir, settings, denoiser, manifest, summary, dry_run, stop, on_progress):
    adapter = ScanAdapter.from_settings(settings)
    key = run_key(summary.model_sha256, summary.settings)
    claimed = {}  # output name -> its source, for the folder being walked
    output_root = output_dir.resolve()

    @functools.lru_cache(maxsize=64)
    def inside_output(folder):
        """Whether ``folder`` really lies in the output folder (no symlink leads out). An output file
        that is itself a symlink is replaced, not followed, so folders are all that need checking."""
        return folder.resolve().is_relative_to(output_root)

    made = set()

    def plan(source):
        """A job for ``source``, or None when it is skipped."""
        target = output_path(source, input_dir, output_dir, settings.format)
        relative = target.relative_to(output_dir).as_posix()
        if not inside_output(target.parent):
            summary.fail(source, "its output would lie outside the output folder (a symlink there?); not written")
            return None
        # Names can only collide within one folder, and folders come one after another: memory stays flat.
        if claimed and next(iter(claimed.values())).parent != source.parent:
            claimed.clear()
        if claimed.setdefault(relative, source) != source:
            summary.fail(source, f"its output {printable(relative)} is also that of {printable(claimed[relative])}; use format 'same'")
            return None
        try:
            stat = source.stat()
        except OSError as error:
            summary.fail(source, f"cannot stat ({error.strerror})")
            return None
        if not settings.overwrite and manifest and _is_current(manifest, relative, stat, target, key):
            summary.skipped += 1  # counted, not listed: a re-run over 100,000 files must stay small
            summary.up_to_date += 1
            return None
        return _Job(source, target, relative, stat)

    def prepare(job):
        try:
            job.digit, job.frame = adapter.read(job.source, max_pixels=settings.max_pixels)
        except ScanError as error:
            job.error = error.reason
        except DigitDenoiseError as error:
            job.error = str(error)
        except Exception as error:  # an odd file must not stop the run, whatever its decoder raises
            job.error = f"cannot decode ({type(error).__name__}: {error})"
        return job

    def finish(job, result):
        try:
            if job.target.parent not in made:
                job.target.parent.mkdir(parents=True, exist_ok=True)
                made.add(job.target.parent)
            write_image(job.target, adapter.after(result, job.frame))
            job.written = os.stat(job.target, follow_symlinks=False)
        except OSError as error:
            job.error = f"cannot write its output ({error.strerror or error}); nothing was left behind"
            job.unusable_output = error.errno in _OUTPUT_UNUSABLE
        return job

    files = discover(input_dir, output_dir, recursive=settings.recursive, follow_symlinks=settings.follow_symlinks,
                     on_skip=summary.skip, on_error=summary.fail)
    jobs = (job for job in map(plan, files) if job is not None)
    if dry_run:
        summary.planned = [str(job.source) for job in jobs]
        return

    def must_stop():
        return bool(summary.stopped) or (settings.max_failures is not None and summary.failed > settings.max_failures)

    def settle(ready, writes):
        """Wait for a batch's writes; record what was written in the manifest and the summary."""
        written = [job for job, future in zip(ready, writes) if future.result().error is None]
        try:
            manifest.record([(job.relative, job.stat, job.written, key) for job in written])
        except ManifestWriteError as error:
            summary.stopped = f"{error}; free space or fix the output folder, then run again"
            for job in written:
                job.error = "written, but not recorded in the manifest; the next run redoes it"
            written = []
        summary.processed += len(written)
        for job in ready:
            if job.error is not None:
                summary.fail(job.source, job.error)
            if job.unusable_output and not summary.stopped:
                summary.stopped = f"{output_dir}: {job.error.split(';')[0]}; free space or fix the output folder, then run again"
            job.digit = job.frame = None
        if on_progress:
            on_progress(summary.processed + summary.failed + summary.skipped)

    # The pool decodes batch n+1 and writes batch n-1 while the model works on batch n.
    with ThreadPoolExecutor(max_workers=settings.workers or default_workers()) as pool:
        batches = _chunks(jobs, settings.batch_size)
        in_flight = [pool.submit(prepare, job) for job in next(batches, [])]
        denoiser.warm_up()
        writing, interrupted = None, False
        while in_flight:
            prepared = [future.result() for future in in_flight]
            for job in prepared:
                if job.error is not None:
                    summary.fail(job.source, job.error)
            interrupted = bool(stop and stop.is_set())
            stopping = interrupted or must_stop()
            in_flight = [] if stopping else [pool.submit(prepare, job) for job in next(batches, [])]
            ready = [job for job in prepared if job.error is None]
            results = denoiser.denoise(np.stack([job.digit for job in ready])) if ready else []
            finite = np.isfinite(results).all(axis=(1, 2)) if ready else []
            for job, ok in zip(ready, finite):
                if not ok:
                    summary.fail(job.source, "the model's output holds NaN or infinite values; nothing was written")
            ready, results = [job for job, ok in zip(ready, finite) if ok], [r for r, ok in zip(results, finite) if ok]
            if writing:
                settle(*writing)
            writing = ready, [pool.submit(finish, job, result) for job, result in zip(ready, results)]
            if stopping or must_stop():
                break
        if writing:
            settle(*writing)
        for future in in_flight:  # decoding a batch that will not be used (the run stopped early)
            future.cancel()
    summary.stopped_at_max_failures = not summary.stopped and must_stop()
    summary.interrupted = interrupted and not must_stop()


def _is_current(manifest, relative, source_stat, target, key):
    """Whether the manifest shows ``target`` as written from this input with ``key``, and unchanged since."""
    try:
        written = os.stat(target, follow_symlinks=False)
    except OSError:
        return False
    return manifest.is_current(relative, source_stat, written, key)


def default_workers():
    """Decode/encode threads: the cores this process may use, at most 4 (the model needs its share)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cores))


def model_digest(denoiser):
    """sha256 of the model's weights file, or of its card when it has no file (the identity, a plugin's loader)."""
    if denoiser.path is not None:
        return sha256_of(denoiser.path)
    return hashlib.sha256(card_digest(denoiser).encode()).hexdigest()


def card_digest(denoiser):
    """sha256 of the model card, as canonical JSON."""
    return hashlib.sha256(json.dumps(denoiser.card, sort_keys=True).encode()).hexdigest()


def _chunks(iterable, size):
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def discover(input_dir, output_dir=None, *, recursive=True, follow_symlinks=False, on_skip=None, on_error=None):
    """Yield image files under ``input_dir`` in sorted order, lazily.

    The output folder is left out when it lies inside the input folder. What
    is not yielded is reported: hidden files and folders, files that are not
    images, symlinks that lead out of ``input_dir`` (unless
    ``follow_symlinks``), and symlinks back into a folder already walked go
    to ``on_skip(path, reason)``; folders that cannot be listed go to
    ``on_error(path, reason)``.
    """
    root = Path(input_dir).resolve()
    output_dir = Path(output_dir).resolve() if output_dir is not None else None
    walked = set()  # (device, inode) of every folder walked: with follow_symlinks, a loop is walked once

    def report(callback, path, reason):
        if callback:
            callback(path, reason)

    def identity(path):
        info = os.stat(path)
        return info.st_dev, info.st_ino

    def descend(folder):
        if not recursive:
            return False
        real = folder.resolve()
        if real == output_dir:
            return False
        if folder.name.startswith("."):
            report(on_skip, folder, "a hidden folder (its name starts with '.')")
            return False
        if folder.is_symlink() and not (follow_symlinks or real.is_relative_to(root)):
            report(on_skip, folder, "a symlink leading out of the input folder (see follow_symlinks)")
            return False
        if follow_symlinks:
            try:
                key = identity(folder)
            except OSError as error:
                report(on_error, folder, f"cannot open the folder ({error.strerror}); make it readable")
                return False
            if key in walked:
                report(on_skip, folder, "a symlink to a folder already walked (a loop); not walked again")
                return False
            walked.add(key)
        return True

    def unreadable(error):
        report(on_error, Path(error.filename), f"cannot list the folder ({error.strerror}); make it readable")

    if follow_symlinks:
        walked.add(identity(input_dir))
    for folder, subfolders, names in os.walk(input_dir, followlinks=follow_symlinks, onerror=unreadable):
        subfolders[:] = [name for name in sorted(subfolders) if descend(Path(folder) / name)]
        for name in sorted(names):
            path = Path(folder) / name
            if name.startswith("."):
                report(on_skip, path, "a hidden file (its name starts with '.')")
            elif not is_image_name(path):
                report(on_skip, path, "not an image (by its suffix)")
            elif not follow_symlinks and path.is_symlink() and not path.resolve().is_relative_to(root):
                report(on_skip, path, "a symlink leading out of the input folder (see follow_symlinks)")
            else:
                yield path


def output_path(source, input_dir, output_dir, output_format):
    """Where the result for ``source`` goes: the same relative path, with ``output_suffix``."""
    return Path(output_dir) / Path(source).relative_to(input_dir).with_suffix(output_suffix(source, output_format))


def output_suffix(source, output_format):
    """The suffix of ``source``'s result: ``.png``, or with format 'same' the source's own."""
    return ".png" if output_format == "png" else Path(source).suffix
