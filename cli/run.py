"""``digit-denoise run``: denoise a folder of scans into a mirrored folder."""

import contextlib
import json
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from .reporting import EXIT_FILES_FAILED, EXIT_INTERRUPTED, library_errors, progress

app = typer.Typer()


@app.command()
def run(
    input_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Folder of scans (read only).")],
    output_dir: Annotated[Path, typer.Argument(file_okay=False, help="Folder for the results; created if needed.")],
    model: Annotated[Optional[str], typer.Option(help="Shipped model name, 'default', 'none' (adapter only) or a .keras path.")] = None,
    config: Annotated[Optional[Path], typer.Option(exists=True, dir_okay=False, help="YAML settings; flags override it.")] = None,
    polarity: Annotated[Optional[str], typer.Option(help="auto | dark-on-light | light-on-dark")] = None,
    framing: Annotated[Optional[str], typer.Option(help="mnist | resize | none")] = None,
    normalize: Annotated[Optional[str], typer.Option(help="percentile | minmax | none")] = None,
    size: Annotated[Optional[str], typer.Option(help="model (28x28) | original (input's size)")] = None,
    format: Annotated[Optional[str], typer.Option("--format", help="png | same (keep each input's format)")] = None,
    recursive: Annotated[Optional[bool], typer.Option("--recursive/--no-recursive", help="Descend into sub-folders.")] = None,
    overwrite: Annotated[Optional[bool], typer.Option("--overwrite", help="Redo files that are up to date.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be processed; write nothing.")] = False,
    max_failures: Annotated[Optional[int], typer.Option(min=0, help="Stop once more than N files failed.")] = None,
    follow_symlinks: Annotated[Optional[bool], typer.Option("--follow-symlinks", help="Follow symlinks out of INPUT_DIR.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Images per model call.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Decode/encode threads (0: from the CPU count).")] = None,
    report: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Write the run summary as JSON.")] = None,
    log_file: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Append a timestamped log of the run.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
):
    """Denoise every scan under INPUT_DIR into the same tree under OUTPUT_DIR.

    Files already up to date (same input, model and settings, per the manifest
    in OUTPUT_DIR) are skipped, so an interrupted run can simply be run again.
    """
    from digit_denoise import denoise_folder
    from digit_denoise.files import replace_atomically

    log = _logger(log_file)
    stop = threading.Event()
    with library_errors(), _stop_on_signals(stop), progress("denoising", quiet=quiet) as update:
        log.info("run %s -> %s", input_dir, output_dir)
        summary = denoise_folder(
            input_dir, output_dir, config=config, dry_run=dry_run, stop=stop, on_progress=update, model=model,
            polarity=polarity, framing=framing, normalize=normalize, size=size, format=format, recursive=recursive,
            overwrite=overwrite, max_failures=max_failures, follow_symlinks=follow_symlinks, batch_size=batch_size,
            workers=workers,
        )
        if report:
            text = json.dumps(summary.to_dict(), indent=2) + "\n"
            replace_atomically(report, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    if dry_run:
        for path in summary.planned:
            typer.echo(f"would process {path}")
    for failure in summary.failures:
        typer.secho(f"failed: {failure['path']}: {failure['reason']}", err=True, fg=typer.colors.YELLOW)
        log.warning("failed: %s: %s", failure["path"], failure["reason"])
    line = (
        f"{summary.processed} processed, {summary.skipped} skipped ({summary.up_to_date} up to date), "
        f"{summary.failed} failed in {summary.seconds:.1f} s ({summary.images_per_second:.0f} images/s) "
        f"with model {summary.model}"
    )
    if summary.stopped_at_max_failures:
        line += f"; stopped after more than {summary.settings['max_failures']} failures"
    if summary.interrupted:
        line += "; interrupted, run again to finish"
    log.info(line)
    if not quiet or summary.interrupted:
        typer.echo(line, err=quiet)
    if summary.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary.failed:
        raise typer.Exit(EXIT_FILES_FAILED)


def _logger(log_file):
    log = logging.getLogger("digit_denoise.cli.run")
    log.handlers.clear()
    log.propagate = False
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
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
        stop.set()

    previous = {number: signal.signal(number, request_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
