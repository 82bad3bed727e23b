"""The root ``digit-denoise`` app: one Typer app per command module, joined here."""

import typer

from . import config, evaluate, list_models, manual, preview, run, train, watch
from .reporting import EXIT_CODES_HELP

app = typer.Typer(
    name="digit-denoise",
    help="Denoise folders of handwritten-digit scans with Keras autoencoders trained on MNIST.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
for module in (run, watch, list_models, train, evaluate, preview, config, manual):
    app.add_typer(module.app)


def _show_version(value: bool):
    """The version, each shipped model with the start of its sha256, and the libraries a bug report needs."""
    if not value:
        return
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from digit_denoise import __version__
    from digit_denoise.models import shipped_files, shipped_models
    from digit_denoise.models.data import sha256_of

    def installed(*names):
        for name in names:
            try:
                return version(name)
            except PackageNotFoundError:
                continue
        return "not installed"

    typer.echo(f"digit-denoise {__version__}")
    for name in shipped_models():
        typer.echo(f"  model {name}: sha256 {sha256_of(shipped_files(name).weights)[:16]}")
    typer.echo(f"  keras {installed('keras')}, tensorflow {installed('tensorflow', 'tensorflow-cpu')}, "
               f"scikit-image {installed('scikit-image')}, Python {platform.python_version()}")
    raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True,
        help="Print the version, the shipped models' sha256 and the libraries' versions, and exit.",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", help="Show TensorFlow's own start-up lines, which are otherwise held back.",
    ),
):
    """Denoise folders of handwritten-digit scans with Keras autoencoders trained on MNIST."""
    import os

    if not verbose:
        # TensorFlow's documented switch; digit_denoise.models.import_keras also holds back the lines it misses.
        # A value the user set is kept.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


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
