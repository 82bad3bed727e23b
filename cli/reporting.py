"""How the CLI talks to the terminal: one-line errors, exit codes, progress, a run's summary, its log."""

import contextlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

import typer

EXIT_FILES_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_EMPTY = 4
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_CODES_HELP = (
    "Exit codes: 0 all files done; 1 some files failed (or --max-failures exceeded, or the output folder "
    "could no longer be written); 2 usage, config or model error; 3 another run holds the output folder's lock; "
    "4 no image files found (see --allow-empty); "
    "70 an internal error (a bug: please report it); 130 interrupted."
)


def error(message, log=None):
    """One red line on stderr (and in the run's log), safe to print whatever file names it holds."""
    from digit_denoise.files import printable

    message = printable(message)
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    if log is not None:
        log.error("%s", message)


@contextlib.contextmanager
def library_errors(log=None):
    """Turn the library's exceptions into a one-line message and exit code 2 (3 for a held lock)."""
    from digit_denoise.errors import DigitDenoiseError, RunLockedError

    try:
        yield
    except RunLockedError as failure:
        error(str(failure), log)
        raise typer.Exit(EXIT_LOCKED) from None
    except DigitDenoiseError as failure:
        error(str(failure), log)
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        error("interrupted", log)
        raise typer.Exit(EXIT_INTERRUPTED) from None


@contextlib.contextmanager
def progress(description, *, quiet=False):
    """A rich progress bar on a terminal, with a count, a percentage and an ETA once the total is known.

    Yields ``update(completed, total=None)``; on a pipe or with ``quiet``, yields None (nothing to update, and
    nothing need be counted for it).
    """
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TaskProgressColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda completed, total=None: bar.update(task, completed=completed, total=total)


def tell(summary, log, *, quiet=False, dry_run=False):
    """Print and log what a run did: warnings, what changed, flagged and failed files, and the summary line."""
    from digit_denoise.files import printable

    for warning in summary.warnings:
        typer.secho(f"warning: {printable(warning)}", err=True, fg=typer.colors.YELLOW)
        log.warning("%s", printable(warning))
    if summary.changed:
        changed = (f"the model, settings or digit-denoise's version changed since the last run: "
                   f"{summary.changed:,} outputs {'would be' if dry_run else 'are'} redone")
        if not quiet:
            typer.echo(changed, err=True)
        log.info("%s", changed)
    if dry_run:
        for path in summary.planned:
            typer.echo(f"would process {printable(path)}")
        typer.echo(f"would process {len(summary.planned):,} files ({summary.up_to_date:,} up to date)")
    for flagged in summary.flagged:
        if not flagged["up_to_date"]:
            typer.secho(f"flagged: {flagged['path']}: {printable(flagged['reason'])}", err=True, fg=typer.colors.YELLOW)
            log.warning("flagged: %s: %s", flagged["path"], printable(flagged["reason"]))
    earlier = sum(flagged["up_to_date"] for flagged in summary.flagged)
    if earlier:  # one line, not one a file every night: they were listed when written, and --report lists them
        typer.secho(f"flagged: {earlier:,} up-to-date outputs, listed when written (and in --report's \"flagged\")",
                    err=True, fg=typer.colors.YELLOW)
        log.warning("flagged: %s up-to-date outputs, listed when written", earlier)
    for failure in summary.failures:
        typer.secho(f"failed: {failure['path']}: {printable(failure['reason'])}", err=True, fg=typer.colors.YELLOW)
        log.warning("failed: %s: %s", failure["path"], printable(failure["reason"]))
    line = (
        f"{summary.processed} processed ({len(summary.flagged)} flagged), {summary.skipped} skipped "
        f"({summary.up_to_date} up to date), "
        f"{summary.failed} failed in {summary.seconds:.1f} s ({summary.images_per_second:.0f} images/s"
        + (f", after {summary.load_seconds:.1f} s loading the model" if summary.load_seconds >= 0.05 else "")
        + f") with model {summary.model}"
    )
    if summary.stopped:
        line += f"; stopped early: {printable(summary.stopped)}"
    if summary.stopped_at_max_failures:
        line += f"; stopped after more than {summary.settings['max_failures']} failures"
    if summary.interrupted:
        line += "; interrupted, run again to finish"
    log.info(line)
    if not quiet or summary.interrupted or summary.stopped:
        typer.echo(line, err=quiet)


class _JsonLines(logging.Formatter):
    """One JSON object per line: time, level, message."""

    def format(self, record):
        return json.dumps({"time": self.formatTime(record), "level": record.levelname, "message": record.getMessage()})


def logger(log_file, log_format="text"):
    log = logging.getLogger("digit_denoise.cli.run")
    log.handlers.clear()
    log.propagate = False
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        text = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
        handler.setFormatter(_JsonLines() if log_format == "json" else text)
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    else:
        log.addHandler(logging.NullHandler())
    return log


@contextlib.contextmanager
def stop_on_signals(stop):
    """SIGINT and SIGTERM ask the run to finish the batches in flight and stop; a second SIGINT stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if not stop.is_set():
            typer.echo("stopping after the batches in flight (Ctrl-C again to abort)", err=True)
        stop.set()

    previous = {number: signal.signal(number, request_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def exit_code(summary):
    """The exit code of a run that ended: 130 interrupted, 1 when files failed or it stopped early, else 0."""
    if summary.interrupted:
        return EXIT_INTERRUPTED
    if summary.failed or summary.stopped:
        return EXIT_FILES_FAILED
    return 0


def check_writable_file(path, option):
    """Refuse, before any work, a --report or --log-file that could not be written at the end."""
    from digit_denoise.errors import ConfigError

    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"{option} {path}: the folder {folder} does not exist; create it or choose another path")
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a folder; give a file path")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"{option} {path}: cannot be written (permission denied); choose another path")


def write_report(report, summary, log):
    """Write the summary as JSON, atomically; a report that cannot be written is an error line and exit 1."""
    from digit_denoise.files import replace_atomically

    text = json.dumps(summary.to_dict(), indent=2) + "\n"
    try:
        replace_atomically(report, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as failure:
        error(f"--report {report}: cannot write the report ({failure.strerror or failure})", log)
        raise typer.Exit(EXIT_FILES_FAILED) from None
