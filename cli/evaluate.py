"""``digit-denoise evaluate``: PSNR/SSIM tables on the MNIST test set."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .reporting import library_errors

app = typer.Typer()


@app.command()
def evaluate(
    data: Annotated[
        Optional[Path], typer.Option(exists=True, dir_okay=False, help="mnist.npz; without it Keras downloads MNIST.")
    ] = None,
    models: Annotated[str, typer.Option(help="Comma-separated model names or .keras paths.")] = "default",
    baselines: Annotated[
        bool, typer.Option("--baselines", help="Also score tuned scikit-image denoisers (and BM3D if installed).")
    ] = False,
    noise: Annotated[str, typer.Option(help="gaussian | salt-pepper | speckle")] = "gaussian",
    levels: Annotated[
        str, typer.Option(help="Comma-separated noise levels (sigma, or salt-and-pepper amount).")
    ] = "0.1,0.2,0.4",
    limit: Annotated[Optional[int], typer.Option(min=1, help="Score only the first N test images.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the noise.")] = 0,
    json_file: Annotated[
        Optional[Path], typer.Option("--json", dir_okay=False, help="Write the results as JSON.")
    ] = None,
    plot: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Write a PSNR-vs-level chart (PNG).")] = None,
):
    """Score models on the MNIST test set: mean PSNR and SSIM over images."""
    from digit_denoise import evaluate as run_evaluation
    from digit_denoise.evaluation import plot_results, results_table
    from digit_denoise.files import replace_atomically

    with library_errors():
        try:
            level_values = [float(level) for level in levels.split(",")]
        except ValueError:
            raise typer.BadParameter(
                f"expected numbers separated by commas, got {levels!r}", param_hint="--levels"
            ) from None
        results = run_evaluation(
            data, models=[name.strip() for name in models.split(",")], baselines=baselines, noise_kind=noise,
            levels=level_values, limit=limit, seed=seed,
        )
        if json_file:
            text = json.dumps({"results": results}, indent=2) + "\n"
            replace_atomically(json_file, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        if plot:
            plot_results(results, plot)
    typer.echo(results_table(results))
