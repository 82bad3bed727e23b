"""How the CLI talks to the terminal: one-line errors, exit codes, progress."""

import contextlib
import sys

import typer

EXIT_OK = 0
EXIT_FILES_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_INTERRUPTED = 130
EXIT_CODES_HELP = (
    "Exit codes: 0 all files done; 1 some files failed (or --max-failures exceeded); "
    "2 usage, config or model error; 3 another run holds the output folder's lock; 130 interrupted."
)


def error(message):
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)


@contextlib.contextmanager
def library_errors():
    """Turn the library's exceptions into a one-line message and exit code 2 (3 for a held lock)."""
    from digit_denoise.errors import DigitDenoiseError
    from digit_denoise.manifest import RunLockedError

    try:
        yield
    except RunLockedError as failure:
        error(str(failure))
        raise typer.Exit(EXIT_LOCKED) from None
    except DigitDenoiseError as failure:
        error(str(failure))
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        error("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None


@contextlib.contextmanager
def progress(description, *, total=None, quiet=False):
    """A rich progress bar on a terminal; on a pipe or with ``quiet``, nothing.

    Yields ``update(completed)``.
    """
    if quiet or not sys.stderr.isatty():
        yield lambda completed: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda completed: bar.update(task, completed=completed)
