"""``digit-denoise watch``: denoise a folder now and again whenever files change in it."""

import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from .options import ConfigFile, LogFormat, OutputDir, Quiet, with_settings_flags
from .reporting import check_writable_file, exit_code, library_errors, logger, stop_on_signals, tell, write_report

app = typer.Typer()


@app.command()
@with_settings_flags
def watch(
    inputs: Annotated[list[Path], typer.Argument(metavar="INPUTS", show_default=False,
                                                 help="Folders (and files) to watch; read only.")],
    output_dir: OutputDir,
    config: ConfigFile = None,
    report: Annotated[
        Optional[Path], typer.Option(dir_okay=False, help="Write each pass's summary as JSON (the last one stays).")
    ] = None,
    log_file: Annotated[
        Optional[Path], typer.Option(dir_okay=False, help="Append a timestamped log of every pass.")
    ] = None,
    log_format: LogFormat = "text",
    quiet: Quiet = False,
    **settings,
):
    """Denoise INPUTS into OUTPUT_DIR as `run` does, then again after each change, until Ctrl-C or SIGTERM.

    The model is loaded once; a file still being written is waited for. Each pass does only new and changed
    scans (the manifest skips the rest), so a watcher that is stopped or killed can simply be started again.
    Exit codes are run's, for the last pass: 0 when it ended well (a stop while waiting included). See
    examples/systemd/.
    """
    from digit_denoise.watch import watch_folders

    with library_errors():
        check_writable_file(report, "--report")
        check_writable_file(log_file, "--log-file")
    log = logger(log_file, log_format)
    stop = threading.Event()
    summary = None
    with library_errors(log), stop_on_signals(stop):
        for summary in watch_folders(inputs, output_dir, config=config, stop=stop, **settings):
            tell(summary, log, quiet=quiet)
            if report:
                write_report(report, summary, log)
    if summary is not None:
        raise typer.Exit(exit_code(summary))
