"""``digit-denoise run``: denoise a folder of scans into a mirrored folder."""

import contextlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from .options import with_settings_flags
from .reporting import EXIT_EMPTY, EXIT_FILES_FAILED, EXIT_INTERRUPTED, error, library_errors, progress

app = typer.Typer()


@app.command()
@with_settings_flags
def run(
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="INPUTS...", show_default=False,
                       help="Folders and image files (read only); '-' reads their paths from stdin, one per line."),
    ],
    output_dir: Annotated[Path, typer.Argument(file_okay=False, help="Folder for the results; created if needed.")],
    config: Annotated[
        Optional[Path],
        typer.Option("--config", "-c", exists=True, dir_okay=False, help="YAML settings; flags override it."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be processed; write nothing.")] = False,
    report: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Write the run summary as JSON.")] = None,
    log_file: Annotated[
        Optional[Path], typer.Option(dir_okay=False, help="Append a timestamped log of the run.")
    ] = None,
    log_format: Annotated[
        Literal["text", "json"], typer.Option(help="--log-file lines as text, or one JSON object per line.")
    ] = "text",
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Exit 0 when the inputs hold no image files (else exit 4).")
    ] = False,
    null: Annotated[
        bool, typer.Option("--null", "-0", help="Paths on stdin are separated by NUL characters (find -print0).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    **settings,
):
    """Denoise the scans of INPUTS (folders and files) into OUTPUT_DIR: a folder's tree is mirrored there, a
    file's output goes at its top.

    One image holds one digit; a scan that does not look like one is written and listed as flagged (see
    --strict). Files already up to date (same input, model and settings, per the manifest in OUTPUT_DIR) are
    skipped, so an interrupted run can simply be run again.
    """
    from digit_denoise import denoise_folder
    from digit_denoise.files import printable

    if [str(given) for given in inputs] == ["-"]:
        inputs = _paths_from_stdin(null)
    with library_errors():
        _check_writable_file(report, "--report")
        _check_writable_file(log_file, "--log-file")
    log = _logger(log_file, log_format)
    stop = threading.Event()
    with library_errors(log), _stop_on_signals(stop), progress("denoising", quiet=quiet) as update:
        log.info("run %s -> %s", ", ".join(map(printable, inputs[:3])) + (" ..." if len(inputs) > 3 else ""),
                 printable(output_dir))
        summary = denoise_folder(inputs, output_dir, config=config, dry_run=dry_run, stop=stop, on_progress=update,
                                 **settings)
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
        typer.secho(f"flagged: {flagged['path']}: {printable(flagged['reason'])}", err=True, fg=typer.colors.YELLOW)
        log.warning("flagged: %s: %s", flagged["path"], printable(flagged["reason"]))
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
    if report:
        _write_report(report, summary, log)
    if summary.found == 0 and not summary.failed and not allow_empty:
        error(f"no image files found in {', '.join(map(printable, inputs[:3]))} (is a share unmounted?); "
              "--allow-empty accepts an empty input", log)
        raise typer.Exit(EXIT_EMPTY)
    if summary.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary.failed or summary.stopped:
        raise typer.Exit(EXIT_FILES_FAILED)


def _paths_from_stdin(null):
    """The paths on stdin: one per line, or NUL-separated (``-0``), as ``xargs`` takes them; blank ones dropped."""
    data = sys.stdin.buffer.read()
    names = data.split(b"\0") if null else data.splitlines()
    return [Path(os.fsdecode(name)) for name in names if name.strip()]


def _check_writable_file(path, option):
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


def _write_report(report, summary, log):
    from digit_denoise.files import replace_atomically

    text = json.dumps(summary.to_dict(), indent=2) + "\n"
    try:
        replace_atomically(report, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as failure:
        error(f"--report {report}: cannot write the report ({failure.strerror or failure})", log)
        raise typer.Exit(EXIT_FILES_FAILED) from None


class _JsonLines(logging.Formatter):
    """One JSON object per line: time, level, message."""

    def format(self, record):
        return json.dumps({"time": self.formatTime(record), "level": record.levelname, "message": record.getMessage()})


def _logger(log_file, log_format="text"):
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
def _stop_on_signals(stop):
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
