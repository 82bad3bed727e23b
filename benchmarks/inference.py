"""Batched inference speed and file size of each shipped model, on this machine's CPU.

Prints images/s through ``Denoiser.denoise`` (a compiled ``tf.function``) on
batches of --batch digits, the median of --repeats timed seconds each. Not a test.

    python benchmarks/inference.py [--batch 512] [--repeats 5]
"""

import argparse
import statistics
import time

import numpy as np

from digit_denoise import load_denoiser
from digit_denoise.models import shipped_files, shipped_models


def images_per_second(denoiser, batch, seconds=1.0):
    denoiser.denoise(batch)  # trace and warm up
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        denoiser.denoise(batch)
        count += len(batch)
    return count / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    batch = np.random.default_rng(0).random((args.batch, 28, 28), dtype=np.float32)
    print(f"{'model':<12} {'params':>9} {'size':>9} {'images/s':>10}  (batch {args.batch}, median of {args.repeats})")
    for name, card in shipped_models().items():
        denoiser = load_denoiser(name)
        speed = statistics.median(images_per_second(denoiser, batch) for _ in range(args.repeats))
        size = shipped_files(name).weights.stat().st_size / 1e6
        print(f"{name:<12} {card['parameters']:>9,} {size:>7.2f}MB {speed:>10.0f}")


if __name__ == "__main__":
    main()
