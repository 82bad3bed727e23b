"""``digit-denoise preview``: a contact sheet of scan | model input | written output, with captions."""

from pathlib import Path
from typing import Annotated

import typer

from .options import ConfigFile, with_settings_flags
from .reporting import library_errors

app = typer.Typer()


@app.command()
@with_settings_flags
def preview(
    input_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Folder of scans.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="PNG file for the contact sheet.")],
    n: Annotated[int, typer.Option(min=1, help="How many scans.")] = 24,
    per_row: Annotated[int, typer.Option(min=1, help="Scans side by side in a row of the sheet.")] = 3,
    config: ConfigFile = None,
    **settings,
):
    """Write a contact sheet: for each scan, the scan, what the model is given and the output as `run` writes it
    with the same settings (flags and --config), captioned with the file's name."""
    from digit_denoise.preview import contact_sheet
    from digit_denoise.scans import write_image

    with library_errors():
        sheet = contact_sheet(input_dir, n=n, config=config, per_row=per_row, **settings)
        write_image(out, sheet)
    typer.echo(f"{out}: {sheet.shape[1]}x{sheet.shape[0]} contact sheet")
