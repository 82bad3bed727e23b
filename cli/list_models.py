"""``digit-denoise models``: the shipped models, one line from each card."""

import typer

app = typer.Typer()


@app.command("models")
def list_models():
    """List the shipped models with their size and test PSNR; the default is marked *."""
    from digit_denoise.models import DEFAULT_MODEL, shipped_models

    for name, card in shipped_models().items():
        scores = card.get("test", {}).get("scores", {})
        psnr = " / ".join(f"{scores[level]['psnr']:.1f}" for level in scores)
        mark = "*" if name == DEFAULT_MODEL else " "
        typer.echo(f"{mark} {name:<12} {card.get('parameters', 0):>8,} params  PSNR {psnr} dB at sigma {' / '.join(scores)}")
        typer.echo(f"  {'':<12} {card.get('description', '')}")
