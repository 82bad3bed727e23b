"""``digit-denoise run``: denoise folders and files of scans into a mirrored folder."""

import os
import sys
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from .options import ConfigFile, LogFormat, OutputDir, Quiet, with_settings_flags
from .reporting import (EXIT_EMPTY, check_writable_file, error, exit_code, library_errors, logger, progress,
                        stop_on_signals, tell, write_report)

app = typer.Typer()


@app.command()
@with_settings_flags
def run(
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="INPUTS", show_default=False,
                       help="Folders and image files (read only); '-' reads their paths from stdin, one per line."),
    ],
    output_dir: OutputDir,
    config: ConfigFile = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be processed; write nothing.")] = False,
    report: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Write the run summary as JSON.")] = None,
    log_file: Annotated[
        Optional[Path], typer.Option(dir_okay=False, help="Append a timestamped log of the run.")
    ] = None,
    log_format: LogFormat = "text",
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Exit 0 when the inputs hold no image files (else exit 4).")
    ] = False,
    null: Annotated[
        bool, typer.Option("--null", "-0", help="Paths on stdin are separated by NUL characters (find -print0).")
    ] = False,
    quiet: Quiet = False,
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
        check_writable_file(report, "--report")
        check_writable_file(log_file, "--log-file")
    log = logger(log_file, log_format)
    stop = threading.Event()
    with library_errors(log), stop_on_signals(stop), progress("denoising", quiet=quiet) as update:
        log.info("run %s -> %s", ", ".join(map(printable, inputs[:3])) + (" ..." if len(inputs) > 3 else ""),
                 printable(output_dir))
        summary = denoise_folder(inputs, output_dir, config=config, dry_run=dry_run, stop=stop, on_progress=update,
                                 **settings)
    tell(summary, log, quiet=quiet, dry_run=dry_run)
    if report:
        write_report(report, summary, log)
    if summary.found == 0 and not summary.failed and not allow_empty:
        error(f"no image files found in {', '.join(map(printable, inputs[:3]))} (is a share unmounted?); "
              "--allow-empty accepts an empty input", log)
        raise typer.Exit(EXIT_EMPTY)
    raise typer.Exit(exit_code(summary))


def _paths_from_stdin(null):
    """The paths on stdin: one per line, or NUL-separated (``-0``), as ``xargs`` takes them; blank ones dropped."""
    data = sys.stdin.buffer.read()
    names = data.split(b"\0") if null else data.splitlines()
    return [Path(os.fsdecode(name)) for name in names if name.strip()]
