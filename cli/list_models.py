"""``digit-denoise models``: the models that can be loaded by name, one line from each card."""

import typer

app = typer.Typer()


@app.command("models")
def list_models():
    """List the shipped and plugin models with size and test PSNR; the default is marked *."""
    from digit_denoise.registry import DEFAULT_MODEL, available_models

    models, broken = available_models()
    for name, entry in models.items():
        card = entry.card
        scores = card.get("test", {}).get("scores", {})
        psnr = " / ".join(f"{scores[level]['psnr']:.1f}" for level in scores)
        quality = f"PSNR {psnr} dB at sigma {' / '.join(scores)}" if scores else "no test scores in its card"
        mark = "*" if name == DEFAULT_MODEL else " "
        typer.echo(f"{mark} {name:<12} {entry.origin:<10} {card.get('parameters', 0):>8,} params  {quality}")
        typer.echo(f"  {'':<12} {card.get('description', '')}")
    for plugin, reason in broken:
        typer.secho(f"skipped broken plugin {plugin}: {reason}", err=True, fg=typer.colors.YELLOW)
