"""How the default model's last training stage was made: fine-tuning on scan pages (see its card).

Two steps, the first on any machine with the package installed, the second best on a GPU:

    # 1. Scan pairs from MNIST *training* digits (pages.TRAINING conditions), as the default adapter frames them:
    python examples/fine_tune_on_scans.py pairs --data mnist.npz --start 0 --stop 18000 --out pairs-a.npz
    python examples/fine_tune_on_scans.py pairs --data mnist.npz --start 55000 --stop 57000 --out val.npz
    # 2. Fine-tune the shipped default on them, mixed with its MNIST recipe (KERAS_BACKEND=jax on a GPU):
    python examples/fine_tune_on_scans.py train --data mnist.npz --pairs pairs-*.npz --validation val.npz \
        --epochs 40 --out tuned/

The shipped weights came from two ``train`` runs on one H100: 40 epochs at 3e-4, seed 7, on pairs of digits
0-45,499 (48,670 pairs); then 55 epochs at 1.5e-4, seed 8, ``--init`` the first run's ``last.keras``, with 13,287
more pairs (``--seed 1``, digits 0-7,499 and 27,500-34,999). The second run's ``best.keras`` (epoch 54) shipped.
``train`` needs only ``models/`` and Keras: where the package is not installed (a GPU machine without TensorFlow),
it loads ``models/`` by path. Your own pairs work the same: (noisy, clean) arrays of 28x28 digits, uint8.
"""

import argparse
import importlib.util
import json
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def make_pairs(args):
    from digit_denoise.training import scan_pairs

    with np.load(args.data) as mnist:
        digits = mnist["x_train"][args.start : args.stop].astype(np.float32) / 255
    seed = [] if args.seed is None else [args.seed]
    parts = [scan_pairs(digits[i : i + 500], np.random.default_rng([args.start, i, *seed]))
             for i in range(0, len(digits), 500)]
    as_bytes = lambda images: (np.clip(np.concatenate(images), 0, 1) * 255).round().astype(np.uint8)  # noqa: E731
    np.savez_compressed(args.out, noisy=as_bytes([n for n, _ in parts]), clean=as_bytes([c for _, c in parts]))
    print(f"{args.out}: {sum(len(n) for n, _ in parts)} pairs from {len(digits)} digits")


def _models():
    """``digit_denoise.models``, installed or loaded from this checkout's ``models/``."""
    if importlib.util.find_spec("digit_denoise") is None:
        sys.modules["digit_denoise"] = types.ModuleType("digit_denoise")
        spec = importlib.util.spec_from_file_location("digit_denoise.models", ROOT / "models" / "__init__.py",
                                                      submodule_search_locations=[str(ROOT / "models")])
        sys.modules["digit_denoise.models"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["digit_denoise.models"])
    from digit_denoise.models import noise, training

    return noise, training


def _pairs(paths):
    """``(noisy, clean)`` float32 in [0, 1] from ``pairs``' files, each read once."""
    parts = [np.load(path) for path in paths]
    return tuple(np.concatenate([part[key] for part in parts]).astype(np.float32) / 255 for key in ("noisy", "clean"))


def train(args):
    noise, training = _models()
    import keras

    with np.load(args.data) as mnist:
        digits = mnist["x_train"].astype(np.float32) / 255
    fit, val = digits[:55000], digits[55000:56000]
    pairs, val_pairs = _pairs(args.pairs), _pairs([args.validation])
    checks = dict(  # noisy MNIST validation digits, to see that the MNIST quality holds
        g01=noise.add_gaussian_noise(val, 0.1, np.random.default_rng(54321)),
        g04=noise.add_gaussian_noise(val, 0.4, np.random.default_rng(54322)),
        sp=noise.add_salt_pepper_noise(val, 0.1, np.random.default_rng(54323)))
    base = ROOT / "models" / "weights" / "digit-unet.keras"
    model = keras.saving.load_model(args.init or base, compile=False)

    def psnr(images, truth):  # the mean over images, as the benchmarks score
        mse = np.mean((np.clip(images, 0, 1) - truth) ** 2, axis=(1, 2))
        return float(np.mean(10 * np.log10(1 / np.maximum(mse, 1e-10))))

    def scores(model):
        predict = lambda images: np.asarray(model.predict(images, batch_size=1024, verbose=0))  # noqa: E731
        return dict(pages=psnr(predict(val_pairs[0]), val_pairs[1]), pages_none=psnr(*val_pairs),
                    **{name: psnr(predict(images), val) for name, images in checks.items()})

    def save(model, name):  # the weights in an uncompiled copy: the custom loss stays behind, the file loads anywhere
        plain = keras.saving.load_model(base, compile=False)
        plain.set_weights(model.get_weights())
        plain.save(args.out / name)

    original = scores(keras.saving.load_model(base, compile=False))
    log, best, started = [dict(epoch=0, **scores(model))], -np.inf, time.monotonic()
    print("original", json.dumps(original), "\nstart", json.dumps(log[0]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)

    def on_epoch(epoch, model):
        nonlocal best
        log.append(dict(epoch=epoch, seconds=round(time.monotonic() - started, 1), **scores(model)))
        print(json.dumps(log[-1]), flush=True)
        # Kept: the best pages while MNIST holds, within 0.03 dB of the shipped model on each check.
        if log[-1]["pages"] > best and all(log[-1][key] >= original[key] - 0.03 for key in checks):
            best = log[-1]["pages"]
            save(model, "best.keras")
        (args.out / "log.json").write_text(json.dumps(log, indent=1))

    training.fine_tune(model, fit, pairs, epochs=args.epochs, seed=args.seed, learning_rate=args.learning_rate,
                       max_seconds=args.seconds, on_epoch=on_epoch)
    save(model, "last.keras")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    pairs = commands.add_parser("pairs", help="make scan pairs from MNIST training digits")
    pairs.add_argument("--data", type=Path, required=True)
    pairs.add_argument("--start", type=int, required=True)
    pairs.add_argument("--stop", type=int, required=True)
    pairs.add_argument("--seed", type=int, help="for more pages of the same digits")
    pairs.add_argument("--out", type=Path, required=True)
    pairs.set_defaults(run=make_pairs)
    tune = commands.add_parser("train", help="fine-tune the default model on pairs")
    tune.add_argument("--data", type=Path, required=True)
    tune.add_argument("--pairs", type=Path, nargs="+", required=True)
    tune.add_argument("--validation", type=Path, required=True)
    tune.add_argument("--init", type=Path, help="weights to start from (the shipped default if not given)")
    tune.add_argument("--epochs", type=int, default=40)
    tune.add_argument("--learning-rate", type=float, default=3e-4)
    tune.add_argument("--seed", type=int, default=7)
    tune.add_argument("--seconds", type=float, help="stop after this long")
    tune.add_argument("--out", type=Path, required=True)
    tune.set_defaults(run=train)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
