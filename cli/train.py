"""``digit-denoise train``: reproduce a shipped model from scratch."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from .reporting import library_errors, progress

app = typer.Typer()


@app.command()
def train(
    model: Annotated[str, typer.Option(help="Recipe to train: digit-unet, conv-dae, dense-dae or dense-ae.")],
    data: Annotated[
        Optional[Path], typer.Option(exists=True, dir_okay=False, help="mnist.npz; without it Keras downloads MNIST.")
    ] = None,
    epochs: Annotated[
        Optional[int], typer.Option(min=1, help="At most this many epochs (early stopping may end sooner).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for initialisation, noise and shuffling.")] = 0,
    out: Annotated[
        Optional[Path],
        typer.Option(file_okay=False, help="Folder for the model, card and golden pair \\[default: ./trained-models]."),
    ] = None,
    limit: Annotated[
        Optional[int], typer.Option(min=10, help="Train and test on the first N images only (quick trials).")
    ] = None,
):
    """Train a shipped recipe; the last 5,000 training images validate, with early stopping."""
    from digit_denoise import train_model

    with library_errors(), progress(f"training {model}") as update:
        from digit_denoise.models import import_keras

        keras = import_keras()

        class ProgressBar(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if update:
                    update(batch + 1)

            def on_epoch_end(self, epoch, logs=None):
                typer.echo(f"epoch {epoch + 1}: loss {logs['loss']:.5f}, validation {logs['val_loss']:.5f}", err=True)

        card = train_model(
            model, data=data, epochs=epochs, seed=seed, out_dir=out, limit=limit, callbacks=[ProgressBar()]
        )
    scores = ", ".join(
        f"sigma {level}: {s['psnr']} dB / SSIM {s['ssim']}" for level, s in card["test"]["scores"].items()
    )
    typer.echo(f"{card['name']}: {card['training']['epochs']} epochs in {card['training']['seconds']} s; test {scores}")
