"""``digit-denoise config show|check``: the effective settings, and validating a file."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from .reporting import library_errors

app = typer.Typer(name="config", help="Show the effective settings or check a settings file.", no_args_is_help=True)


@app.command()
def show(
    config: Annotated[Optional[Path], typer.Option(exists=True, dir_okay=False, help="YAML settings to apply.")] = None,
):
    """Print the effective settings as YAML (defaults, with --config applied)."""
    import yaml

    from digit_denoise.config import make_settings

    with library_errors():
        settings = make_settings(config)
    typer.echo(yaml.safe_dump(settings.to_dict(), sort_keys=False), nl=False)


@app.command()
def check(config: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML settings file.")]):
    """Validate a settings file; exit code 2 names the first bad key."""
    from digit_denoise.config import make_settings

    with library_errors():
        make_settings(config)
    typer.echo(f"{config}: ok")
