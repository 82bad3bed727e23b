"""The root ``digit-denoise`` app: one Typer app per command module, joined here."""

import typer

from . import config, evaluate, list_models, preview, run, train
from .reporting import EXIT_CODES_HELP

app = typer.Typer(
    name="digit-denoise",
    help="Denoise folders of handwritten-digit scans with Keras autoencoders trained on MNIST.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
)
for module in (run, list_models, train, evaluate, preview, config):
    app.add_typer(module.app)


def _show_version(value: bool):
    if value:
        from digit_denoise import __version__

        typer.echo(f"digit-denoise {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
):
    """Denoise folders of handwritten-digit scans with Keras autoencoders trained on MNIST."""


def main():
    """The console script: no traceback ever reaches the user; an unexpected error is one line and exit code 70."""
    import os

    from .reporting import EXIT_INTERNAL, error

    try:
        app(standalone_mode=True)
    except Exception as failure:  # a bug: say so in one line; DIGIT_DENOISE_TRACEBACK=1 shows the traceback
        if os.environ.get("DIGIT_DENOISE_TRACEBACK"):
            raise
        error(f"internal error: {type(failure).__name__}: {failure} (set DIGIT_DENOISE_TRACEBACK=1 to see where)")
        raise SystemExit(EXIT_INTERNAL) from None
