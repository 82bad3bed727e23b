"""How the CLI talks to the terminal: one-line errors, exit codes, progress."""

import contextlib
import sys

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
