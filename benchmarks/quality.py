"""Denoising quality on the full MNIST test set, models beside tuned classical baselines.

Prints one table per noise kind and how the default model stands against the
targets of the models issue. Not a test: run it by hand.

    python benchmarks/quality.py --data ../shared/data/mnist.npz [--limit N] [--json results.json]
"""

import argparse
import json
from pathlib import Path

from digit_denoise import evaluate
from digit_denoise.evaluation import results_table
from digit_denoise.models import DEFAULT_MODEL

TARGET_PSNR = {0.1: 30.0, 0.2: 26.0, 0.4: 22.0}
TARGET_SSIM = {0.1: 0.97, 0.2: 0.95, 0.4: 0.90}
MODELS = (DEFAULT_MODEL, "conv-dae", "dense-dae", "dense-ae")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    gaussian = evaluate(args.data, models=MODELS, baselines=True, levels=(0.1, 0.2, 0.4), limit=args.limit)
    salt = evaluate(args.data, models=MODELS, baselines=True, noise_kind="salt-pepper", levels=(0.1,), limit=args.limit)
    print(results_table(gaussian + salt))
    print()
    classical = {"tv-chambolle", "bilateral", "nl-means", "wavelet", "median", "bm3d"}
    for level in TARGET_PSNR:
        rows = {r["method"]: r for r in gaussian if r["level"] == level}
        best = max((r for r in rows.values() if r["method"] in classical), key=lambda r: r["psnr"])
        ours = rows[DEFAULT_MODEL]
        print(
            f"gaussian {level}: {DEFAULT_MODEL} {ours['psnr']:.2f} dB (target {TARGET_PSNR[level]}), "
            f"SSIM {ours['ssim']:.4f} (target {TARGET_SSIM[level]}); "
            f"{ours['psnr'] - best['psnr']:+.2f} dB over {best['method']} (target +3); "
            f"{ours['psnr'] - rows['conv-dae']['psnr']:+.2f} dB over conv-dae (target +2)"
        )
    rows = {r["method"]: r for r in salt}
    print(
        f"salt-pepper 0.1: {rows[DEFAULT_MODEL]['psnr'] - rows['median']['psnr']:+.2f} dB over the median filter "
        "(target +3)"
    )
    if args.json:
        args.json.write_text(json.dumps({"results": gaussian + salt}, indent=2) + "\n")


if __name__ == "__main__":
    main()
