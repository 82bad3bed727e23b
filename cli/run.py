"""``digit-denoise run``: denoise a folder of scans into a mirrored folder."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .reporting import EXIT_FILES_FAILED, library_errors, progress

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
    batch_size: Annotated[Optional[int], typer.Option(help="Images per model call.")] = None,
    report: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Write the run summary as JSON.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
):
    """Denoise every scan under INPUT_DIR into the same tree under OUTPUT_DIR."""
    from digit_denoise import denoise_folder
    from digit_denoise.files import replace_atomically

    with library_errors(), progress("denoising", quiet=quiet) as update:
        summary = denoise_folder(
            input_dir, output_dir, config=config, on_progress=update, model=model, polarity=polarity,
            framing=framing, normalize=normalize, size=size, format=format, recursive=recursive,
            batch_size=batch_size,
        )
        if report:
            text = json.dumps(summary.to_dict(), indent=2) + "\n"
            replace_atomically(report, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    for failure in summary.failures:
        typer.secho(f"failed: {failure['reason']}", err=True, fg=typer.colors.YELLOW)
    if not quiet:
        typer.echo(
            f"{summary.processed} processed, {summary.skipped} skipped, {summary.failed} failed "
            f"in {summary.seconds:.1f} s ({summary.images_per_second:.0f} images/s) with model {summary.model}"
        )
    if summary.failed:
        raise typer.Exit(EXIT_FILES_FAILED)
