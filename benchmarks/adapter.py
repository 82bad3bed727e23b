"""The scan adapter: the fast path's quality against the slow path, and where `run`'s time goes.

Quality: 100 scans made from the committed test digits (200-700 px pages,
digits of 60-680 px, noise sigma 0.05, PNG), adapted by the fast path
(`ScanAdapter.read`: shrunk on decoding) and by the slow path (`fast=False`,
full resolution); PSNR of each against the slow path on the clean page.

Stacks: the adapter's own time per 256x256 scan (as benchmarks/throughput.py
makes them), reading a batch with `read_many` against reading one file at a
time, less decoding. Not a test: run it by hand.

    python benchmarks/adapter.py [--dir /dev/shm]
"""

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import transform

from digit_denoise import ScanAdapter
from digit_denoise.models.metrics import score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import ROOT, make_scans  # noqa: E402


def quality():
    with np.load(ROOT / "tests" / "data" / "mnist_test_last300.npz") as data:
        digits = data["x"][:100] / 255.0
    rng = np.random.default_rng(1)
    clean_pages, noisy_pages, files = [], [], []
    for digit in digits:
        height, width = rng.integers(200, 700, 2)
        size = int(rng.integers(60, min(height, width) - 20))
        page = np.full((height, width), 0.9)
        top, left = rng.integers(0, height - size), rng.integers(0, width - size)
        page[top : top + size, left : left + size] -= transform.resize(digit, (size, size), order=1) * 0.75
        noisy = (np.clip(page + rng.normal(0, 0.05, page.shape), 0, 1) * 255).astype(np.uint8)
        encoded = io.BytesIO()
        Image.fromarray(noisy).save(encoded, "PNG")
        clean_pages.append(page), noisy_pages.append(noisy), files.append(encoded.getvalue())
    slow, fast = ScanAdapter(fast=False), ScanAdapter()
    truth = np.array([slow.before(page)[0] for page in clean_pages])
    slow_digits = np.array([slow.before(page)[0] for page in noisy_pages])
    started = time.perf_counter()
    fast_digits = np.array([fast.read(io.BytesIO(data))[0] for data in files])
    fast_ms = (time.perf_counter() - started) / len(files) * 1e3
    print(f"quality, 100 scans of 200-700 px: fast path {score(truth, fast_digits)[0]:.2f} dB, "
          f"slow path {score(truth, slow_digits)[0]:.2f} dB against the clean page; "
          f"fast vs slow {score(slow_digits, fast_digits)[0]:.2f} dB; fast read+adapt {fast_ms:.2f} ms/scan")


def stacked(scans, repeats=8):
    """The adapter's own time per scan, as `run` spends it: reading a batch with ``read_many`` (scans of one size
    analysed as stacks), one file at a time with ``read``, and decoding alone (``read_scans``) for the difference;
    the best of ``repeats``, on 256 scans held in memory."""
    from digit_denoise.scans import read_scans

    blobs = [path.read_bytes() for path in sorted(scans.rglob("*.png"))[:256]]
    adapter = ScanAdapter()
    timings = {"decode": [], "read_many": [], "read": []}
    for _ in range(repeats):
        for label, work in (("decode", lambda: read_scans([io.BytesIO(b) for b in blobs],
                                                           reductions=lambda copies: [f for _, f in copies])),
                            ("read_many", lambda: adapter.read_many([io.BytesIO(b) for b in blobs])),
                            ("read", lambda: [adapter.read(io.BytesIO(b)) for b in blobs])):
            started = time.perf_counter()
            work()
            timings[label].append((time.perf_counter() - started) / len(blobs) * 1e3)
    best = {label: min(values) for label, values in timings.items()}
    print(f"256 scans of 256x256 px, ms per scan: decode {best['decode']:.3f}; adapt (reading less decoding) "
          f"{best['read_many'] - best['decode']:.3f} with read_many, {best['read'] - best['decode']:.3f} one by one")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to make the temporary folder (say /dev/shm)")
    args = parser.parse_args()
    quality()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        make_scans(Path(tmp) / "scans", 256)
        stacked(Path(tmp) / "scans")


if __name__ == "__main__":
    main()
