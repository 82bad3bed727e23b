"""The batch engine: every run (the CLI, ``denoise_folder``, Ray, watch mode) goes through :class:`Run`.

A run has four steps. It **plans** in this process: it discovers the input's
files lazily and skips those the manifest shows are up to date. It hands each
batch to an executor that **processes** it (``batch.denoise_files``: decode,
adapt, denoise, encode) in this process, in worker processes or on Ray. Back
here, it **writes** each output atomically and **records** it in the manifest
and the summary. Batches stream, so memory stays flat whatever the folder's
size, and a killed run can simply be run again.
"""

import collections
import dataclasses
import datetime
import errno
import functools
import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

from .batch import ORIGINAL_CHUNK, denoise_files, start_worker, worker_context
from .config import make_settings
from .denoiser import Denoiser, find_denoiser
from .errors import ConfigError
from .files import printable, replace_atomically
from .manifest import Manifest, ManifestWriteError, lock_output, remove_stale_temporaries, run_key
from .paths import output_path, scans_in

# A write that fails with one of these will fail for every file after it: the run stops instead.
_OUTPUT_UNUSABLE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}
# Worker processes pay for their own start (TensorFlow's import and the model, in parallel) and win from
# about this many batches on; a smaller run works in this process.
POOL_FROM_BATCHES = 4


@dataclasses.dataclass
class RunSummary:
    """What a run did; ``to_dict()`` is the JSON report.

    ``found`` counts the image files discovered; ``processed``, ``skipped``
    and ``failed`` count files; ``up_to_date`` counts the skipped files that
    the manifest showed were done already, and ``changed`` the outputs it
    holds from another model, settings or version (they are redone).
    ``skipped_files`` lists every other skipped file or folder with its reason
    (not an image, hidden, a symlink leading out of the input folder or back
    into a folder already walked); ``failures`` lists each failed file or
    unreadable folder with its reason. ``flagged`` lists the files written
    although they do not look like one digit, with the reason (no ink,
    several digits, too small, doubtful polarity, strokes too thin for the
    28x28 model): by this run, or by an earlier one when up to date (with
    ``strict`` those are failures). ``planned`` lists what a dry run would
    process. ``warnings`` holds what went wrong but was mended (a corrupt
    manifest rebuilt); ``stopped`` says why the run stopped before the end
    when the output folder could no longer be written (a full disk).
    ``seconds`` is the whole run; ``load_seconds`` the part spent loading
    the model (TensorFlow's import included), which only happens when there
    is work. Paths are shown as ``files.printable`` makes them.
    """

    input_dir: str  # the first input (the only one, for a run over a folder)
    output_dir: str
    model: str
    model_sha256: str
    card_sha256: str
    settings: dict
    found: int = 0
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    up_to_date: int = 0
    changed: int = 0
    failures: list = dataclasses.field(default_factory=list)
    flagged: list = dataclasses.field(default_factory=list)
    skipped_files: list = dataclasses.field(default_factory=list)
    planned: list = dataclasses.field(default_factory=list)
    inputs: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    interrupted: bool = False
    stopped_at_max_failures: bool = False
    stopped: str = ""
    started: str = ""
    seconds: float = 0.0
    load_seconds: float = 0.0

    @property
    def images_per_second(self):
        """Processed files per second of the run, not counting the model's loading."""
        working = self.seconds - self.load_seconds
        return self.processed / working if working > 0 else 0.0

    def to_dict(self):
        return {**dataclasses.asdict(self), "flagged_count": len(self.flagged),
                "images_per_second": round(self.images_per_second, 1)}

    def flag(self, path, reason, *, up_to_date=False):
        """List a file that was written (by this run, or up to date by an earlier one) but does not look like one
        digit."""
        self.flagged.append({"path": printable(path), "reason": reason, "up_to_date": up_to_date})

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
    written: os.stat_result = None  # the output's stat once it is in place
    flag: str = ""  # why its output was flagged


def denoise_folder(
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
    output_dir: str | os.PathLike,
    *,
    config: str | os.PathLike | None = None,
    denoiser: Denoiser | None = None,
    executor: Executor | None = None,
    dry_run: bool = False,
    stop: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    **settings: Any,
) -> RunSummary:
    """Denoise every scan of ``inputs`` into a mirrored tree under ``output_dir``.

    Parameters
    ----------
    inputs : str or Path, or a list of them
        Folders and image files. A folder's scans keep their paths relative
        to it under ``output_dir``; a file's output is named after it, at
        the top of ``output_dir``.
    output_dir : str or Path
        Created if needed. It may not be an input folder itself, nor hold
        an input; when it lies inside an input folder it is left out of the
        scan.
        Inputs are only ever opened for reading.
    config : str or Path, optional
        A YAML settings file; ``settings`` override it.
    denoiser : Denoiser, optional
        A model to use instead of ``settings['model']``. One that cannot be
        loaded again by name (built around a caller's own Keras model) is run
        in this process.
    executor : concurrent.futures.Executor, optional
        Where batches are processed; it runs ``batch.denoise_files``. By
        default this process for small runs and ``settings['workers']``
        worker processes for larger ones. Ray passes its own.
    dry_run : bool
        Only list, in ``summary.planned``, what would be processed; write
        nothing and load no model.
    stop : threading.Event, optional
        When set (say, by a signal handler), the run finishes the batches in
        flight and returns with ``summary.interrupted``.
    on_progress : callable, optional
        Called as ``on_progress(files_done, files_found)`` after each batch
        (done: processed, up to date or failed). Giving it costs a quick first
        pass over the input folder, to count the files.
    **settings
        Any field of :class:`digit_denoise.Settings`.

    Returns
    -------
    RunSummary

    Raises
    ------
    ConfigError
        For bad settings or folders.
    ModelError
        When the model cannot be loaded.
    RunLockedError
        When another run is writing to ``output_dir``.

    Problems with single files never raise: they are counted and listed in
    the summary, and the run goes on (up to ``max_failures``). The model is
    loaded only when there is a file to process.
    """
    settings = make_settings(config, **settings)
    inputs = [Path(inputs)] if isinstance(inputs, (str, os.PathLike)) else [Path(given) for given in inputs]
    output_dir = Path(output_dir)
    check_inputs(inputs, output_dir)
    denoiser = denoiser or find_denoiser(settings.model)
    lock = None if dry_run else _prepare_output(output_dir)
    try:
        summary = RunSummary(
            str(inputs[0]), str(output_dir), denoiser.name, denoiser.weights_sha256, denoiser.card_sha256,
            settings.to_dict(), started=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        )
        manifest = Manifest.read_only(output_dir) if dry_run else Manifest(output_dir)
        if manifest:
            summary.warnings.extend(manifest.warnings)
        started = time.perf_counter()
        try:
            summary.inputs = [str(given) for given in inputs]
            run = Run(inputs, output_dir, settings, denoiser, manifest, summary, stop=stop, on_progress=on_progress)
            if on_progress:
                run.total = sum(1 for _ in run.discover(report=False))
            if manifest and not settings.overwrite:
                summary.changed = manifest.count_other_keys(run.key)
            jobs = run.plan()
            if dry_run:
                summary.planned = [str(job.source) for job in jobs]
            else:
                run.execute(jobs, executor)
        finally:
            summary.seconds = time.perf_counter() - started
            if manifest:
                manifest.close()
        return summary
    finally:
        if lock:
            lock.release()


def check_inputs(inputs, output_dir):
    """Raise ``ConfigError`` for no input, an input that does not exist, or one that is, or lies in, the output."""
    if not inputs:
        raise ConfigError("no input given; name folders or image files")
    for given in inputs:
        if not given.exists():
            raise ConfigError(f"{given}: no such file or folder")
        if output_dir.resolve() == given.resolve():
            raise ConfigError(
                f"{output_dir}: the output folder must differ from the input folder; inputs are never overwritten"
            )
        if given.resolve().is_relative_to(output_dir.resolve()):
            what = "input folder" if given.is_dir() else "input file"
            raise ConfigError(
                f"{output_dir}: the {what} {given} lies inside this output folder, where outputs could "
                "overwrite inputs; choose an output folder that does not hold the inputs"
            )


def _prepare_output(output_dir):
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{output_dir}: cannot create the output folder ({error.strerror})") from error
    lock = lock_output(output_dir)
    remove_stale_temporaries(output_dir)
    return lock


class Run:
    """One run's driver: plan, hand batches to an executor, write and record what comes back.

    ``summary`` (a :class:`RunSummary`) is filled in as the run goes.
    """

    def __init__(self, inputs, output_dir, settings, denoiser, manifest, summary, *, stop=None, on_progress=None):
        self.inputs, self.output_dir = inputs, output_dir
        self._one_tree = len(inputs) == 1
        self.settings, self.denoiser, self.manifest, self.summary = settings, denoiser, manifest, summary
        self.stop, self.on_progress = stop, on_progress
        self.key = run_key(denoiser.weights_sha256, settings)
        self.total = 0  # the files a first pass found, for on_progress
        self._start_seconds = 0.0  # starting the worker processes
        self._output_root = output_dir.resolve()
        self._claimed = {}  # output name -> its source, for the folder being walked
        self._made = set()  # output folders known to exist

    # -- plan

    def discover(self, *, report=True):
        """``(scan, base)`` for the inputs' image files, lazily (``paths.scans_in``); what is skipped is reported
        to the summary."""
        settings = self.settings
        return scans_in(self.inputs, self.output_dir, recursive=settings.recursive,
                        follow_symlinks=settings.follow_symlinks, include=settings.include, exclude=settings.exclude,
                        on_skip=report and self.summary.skip or None, on_error=report and self.summary.fail or None)

    def plan(self):
        """The jobs of this run, lazily: discovered files less those skipped or up to date."""
        return (job for job in itertools.starmap(self._job, self.discover()) if job is not None)

    def _job(self, source, base):
        """A job for ``source`` (found under ``base``), or None when it is skipped."""
        self.summary.found += 1
        relative = output_path(source, base, self.settings.format)
        target, relative = self.output_dir / relative, relative.as_posix()
        if not self._inside_output(target.parent):
            self.summary.fail(source, "its output would lie outside the output folder (a symlink there?); not written")
            return None
        # Walking one folder, names can only collide within a folder, and folders come one after another: memory
        # stays flat. Given several inputs, whose trees may overlap in the output, every name is remembered.
        claimed = self._claimed
        if self._one_tree and claimed and next(iter(claimed.values())).parent != source.parent:
            claimed.clear()
        if claimed.setdefault(relative, source) != source:
            self.summary.fail(
                source,
                f"its output {printable(relative)} is also that of {printable(claimed[relative])}; use format 'same'",
            )
            return None
        try:
            stat = source.stat()
        except OSError as error:
            self.summary.fail(source, f"cannot stat ({error.strerror})")
            return None
        flag = None if self.settings.overwrite or not self.manifest else self._current_flag(relative, stat, target)
        if flag is None:  # to be done
            if self._replaces_input(relative, target):
                self.summary.fail(source, f"its output would replace {printable(target)}, a file in the input folder "
                                  "that digit-denoise did not write; not written (choose an output folder outside the "
                                  "inputs)")
                return None
            return _Job(source, target, relative, stat)
        if flag and self.settings.strict:  # written by an earlier run that was not strict: kept, but a failure now
            self.summary.fail(source, f"flagged: {flag} (strict; the output an earlier run wrote is left in place)")
            return None
        if flag:  # listed again, so that a re-run (after a killed run, say) still shows it
            self.summary.flag(source, flag, up_to_date=True)
        self.summary.skipped += 1  # counted, not listed: a re-run over 100,000 files must stay small
        self.summary.up_to_date += 1
        return None

    @functools.lru_cache(maxsize=64)  # noqa: B019 (one Run, a bounded cache)
    def _inside_output(self, folder):
        """Whether ``folder`` really lies in the output folder (no symlink leads out). An output file
        that is itself a symlink is replaced, not followed, so folders are all that need checking."""
        return folder.resolve().is_relative_to(self._output_root)

    def _replaces_input(self, relative, target):
        """Whether an output at ``target`` would replace a file of the input tree: a file is there that the manifest
        does not know as an output, and the output folder lies inside an input's folder (which the walk leaves out)."""
        return os.path.lexists(target) and not (self.manifest and self.manifest.knows(relative)) and self._among_inputs

    @functools.cached_property
    def _among_inputs(self):
        """Whether the output folder lies inside an input folder (or a given file's folder)."""
        return any(self._output_root.is_relative_to((given if given.is_dir() else given.parent).resolve())
                   for given in map(Path, self.inputs))

    def _current_flag(self, relative, source_stat, target):
        """When the manifest shows ``target`` as written from this input with this key, and unchanged since, why
        it was flagged ('' if it was not); else None."""
        try:
            written = os.stat(target, follow_symlinks=False)
        except OSError:
            return None
        return self.manifest.current_flag(relative, source_stat, written, self.key)

    # -- process, write, record

    def execute(self, jobs, executor=None):
        """Process ``jobs`` a batch at a time on ``executor`` (by default, see :func:`local_executor`)."""
        jobs = iter(jobs)
        workers = self.settings.workers or default_workers()
        # A full-size page is a hundred times the work of a 28x28 output: a unit of work holds a few pages.
        unit = self.settings.batch_size
        if self.settings.size == "original":
            unit = min(unit, ORIGINAL_CHUNK)
        first = list(itertools.islice(jobs, POOL_FROM_BATCHES * unit))
        if not first:
            return
        owned = executor is None
        if owned:
            executor = local_executor(workers, self.denoiser, len(first) > unit * (POOL_FROM_BATCHES - 1))
            if not isinstance(executor, InlineExecutor):  # starting the workers is part of loading the model
                started = time.perf_counter()
                executor.submit(int).result()
                self._start_seconds = self.summary.load_seconds = time.perf_counter() - started
        model = self.denoiser if isinstance(executor, InlineExecutor) else self.denoiser.source
        if model is None:
            raise ConfigError(
                f"model {self.denoiser.name}: a model given as a Keras object can only run in this process"
            )
        limit = 1 if isinstance(executor, InlineExecutor) else 2 * workers  # batches in flight
        in_flight = collections.deque()
        interrupted = False
        jobs = itertools.chain(first, jobs)
        try:
            for batch in _batches(jobs, unit, 1 if isinstance(executor, InlineExecutor) else workers):
                suffixes = [job.target.suffix for job in batch]
                in_flight.append((batch, executor.submit(denoise_files, [job.source for job in batch], suffixes,
                                                         self.settings, model)))
                while len(in_flight) >= limit:
                    self._settle(*in_flight.popleft())
                    if self._must_stop():
                        break
                interrupted = bool(self.stop and self.stop.is_set())
                if interrupted or self._must_stop():
                    break
            if interrupted or self._must_stop():  # what has not started yet is left for the next run
                started = collections.deque(item for item in in_flight if not item[1].cancel())
                # A stop that comes once every job is in hand interrupts nothing: the run ends as it would have.
                interrupted = interrupted and (len(started) < len(in_flight) or next(jobs, None) is not None)
                in_flight = started
            while in_flight:
                self._settle(*in_flight.popleft())
        finally:
            for _, future in in_flight:  # the run raised: nothing more is wanted
                future.cancel()
            if owned:
                executor.shutdown(wait=not in_flight, cancel_futures=True)
        self.summary.stopped_at_max_failures = not self.summary.stopped and self._must_stop()
        self.summary.interrupted = interrupted and not self._must_stop()

    def _must_stop(self):
        failures = self.settings.max_failures
        return bool(self.summary.stopped) or (failures is not None and self.summary.failed > failures)

    def _settle(self, batch, future):
        """Write what a processed batch gave; record the written outputs in the manifest and the summary."""
        written = []
        result = future.result()
        if result.load_seconds:  # workers load side by side: the slowest counts, after starting them
            self.summary.load_seconds = max(self.summary.load_seconds, self._start_seconds + result.load_seconds)
        for job, outcome in zip(batch, result.outcomes):
            for reason in outcome.flags[:1]:
                if self.settings.strict:
                    outcome.error = f"flagged: {reason} (strict)"
                else:
                    self.summary.flag(job.source, reason)
                    job.flag = reason
            if outcome.error is None:
                if self.summary.stopped:
                    continue  # the output folder cannot be written: left for the next run
                outcome.error = self._write(job, outcome.data)
            if outcome.error is None:
                written.append(job)
            else:
                self.summary.fail(job.source, outcome.error)
        try:
            self.manifest.record([(job.relative, job.stat, job.written, self.key, job.flag) for job in written])
        except ManifestWriteError as error:
            self.summary.stopped = f"{error}; free space or fix the output folder, then run again"
            for job in written:
                self.summary.fail(job.source, "written, but not recorded in the manifest; the next run redoes it")
            written = []
        self.summary.processed += len(written)
        if self.on_progress:
            done = self.summary.processed + self.summary.up_to_date + self.summary.failed
            self.on_progress(min(done, self.total), self.total)

    def _write(self, job, data):
        """Put ``data`` in place at the job's target, atomically; returns why not, or None."""
        try:
            if job.target.parent not in self._made:
                job.target.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(job.target.parent)
            replace_atomically(job.target, lambda tmp: tmp.write_bytes(data))
            job.written = os.stat(job.target, follow_symlinks=False)
        except OSError as error:
            reason = f"cannot write its output ({error.strerror or error}); nothing was left behind"
            if error.errno in _OUTPUT_UNUSABLE:
                self.summary.stopped = (
                    f"{self.output_dir}: {reason.split(';')[0]}; free space or fix the output folder, then run again"
                )
            return reason
        return None


class InlineExecutor(Executor):
    """Runs each submitted call at once, in this process: the executor of small runs."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            future.set_exception(error)
        return future


def local_executor(workers, denoiser, large):
    """This process for one worker, a model that only lives here, or a run too small to repay worker processes;
    otherwise ``workers`` worker processes (forkserver: safe whatever this process has imported)."""
    if workers == 1 or denoiser.source is None or not large:
        return InlineExecutor()
    from concurrent.futures import ProcessPoolExecutor

    context = worker_context(keras=not denoiser.is_identity)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=start_worker)


def default_workers():
    """The cores this process may use, at most 4 (each worker process holds its own copy of the model)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cores))


def _batches(jobs, size, workers):
    """``jobs`` in lists of ``size``, and smaller ones at the end. Each of ``workers`` takes the next batch when it is
    free, so a run whose last full batches fell unevenly would end with one worker busy and the others idle. Looking
    ``2 * workers`` batches ahead, once the end is in sight each batch is a ``2 * workers``-th part of what is left
    (guided self-scheduling), down to an eighth of a full one (each batch costs a model call): the workers finish
    within a small batch of each other."""
    jobs, ahead = iter(jobs), collections.deque()
    horizon = 2 * workers * size if workers > 1 else 0
    while True:
        ahead.extend(itertools.islice(jobs, horizon + size - len(ahead)))
        if not ahead:
            return
        share = size if len(ahead) > horizon else max(size // 8, -(-len(ahead) // (2 * workers)))
        yield [ahead.popleft() for _ in range(min(share, size, len(ahead)))]
