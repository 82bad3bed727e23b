"""The scan adapter: the fast path's quality against the slow path, and where `run`'s time goes.

Quality: 100 scans made from the committed test digits (200-700 px pages,
digits of 60-680 px, noise sigma 0.05, PNG), adapted by the fast path
(`ScanAdapter.read`: shrunk on decoding) and by the slow path (`fast=False`,
full resolution); PSNR of each against the slow path on the clean page.

Threads: `denoise_folder` with the identity model over N 256x256 scans (as
benchmarks/throughput.py makes them), with 2 threads, 1 thread, and fully
serial (the pool replaced by a synchronous stand-in), printing images/s and
CPU ms per image. Not a test: run it by hand.

    python benchmarks/adapter.py [--n 5000] [--dir /dev/shm]
"""

import argparse
import concurrent.futures
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import transform

from digit_denoise import ScanAdapter, denoise_folder, load_denoiser, runner
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


class _Serial:
    """A stand-in for ThreadPoolExecutor that runs each task at once, in the caller's thread."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, function, *args):
        future = concurrent.futures.Future()
        future.set_result(function(*args))
        return future


def threads(scans, out):
    identity = load_denoiser("none")
    for label, workers, pool in (("2 threads", 2, None), ("1 thread", 1, None), ("serial", 1, _Serial)):
        original = runner.ThreadPoolExecutor
        if pool:
            runner.ThreadPoolExecutor = pool
        try:
            shutil.rmtree(out, ignore_errors=True)
            cpu = time.process_time()
            summary = denoise_folder(scans, out, denoiser=identity, workers=workers)
            cpu_ms = (time.process_time() - cpu) / summary.processed * 1e3
        finally:
            runner.ThreadPoolExecutor = original
        print(f"model none, {label:<9} {summary.images_per_second:6.0f} images/s  {cpu_ms:.2f} ms CPU per image")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="scans for the threading figures")
    parser.add_argument("--dir", help="where to make the temporary folder (say /dev/shm)")
    args = parser.parse_args()
    quality()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        make_scans(Path(tmp) / "scans", args.n)
        threads(Path(tmp) / "scans", Path(tmp) / "out")


if __name__ == "__main__":
    main()
