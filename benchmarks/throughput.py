"""Throughput of `digit-denoise run` against the I/O floor and a naive per-image loop.

Generates N grayscale PNG scans (256x256 unless --size) in a temporary folder and, on the same
files, times:

  (a) the I/O floor: Pillow decode + 28x28 PNG encode, on as many threads as `run` uses;
  (b) `digit-denoise run` with the default model (a subprocess; images/s over its processing time);
  (c) a naive loop: skimage imread -> resize with anti-aliasing -> model.predict on one image -> imsave;
  (d) the default model alone, batched as `run` batches it, on 28x28 inputs already in memory.

(a) and (d) bound (b): on the same cores, a run with a free adapter could at best
spend 1/a + 1/d seconds per image, so it prints that ceiling beside b/a.

Each figure is the median of --repeats runs. Also prints peak RSS of (b) at N
(and at --big N, opt-in), and start-up times. Not a test: run it by hand.

    python benchmarks/throughput.py [--n 5000] [--repeats 3] [--big 50000] [--naive 300] [--dir /dev/shm] [--size 256]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from digit_denoise import Settings
from digit_denoise.runner import default_workers

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from digit_denoise.cli import main; main()"]
MEASURE_RSS = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def make_scans(folder, count, seed=0, size=256):
    """``count`` noisy ``size``x``size`` scans of dark digits on light paper, made from the committed test digits."""
    with np.load(ROOT / "tests" / "data" / "mnist_test_last300.npz") as data:
        digits = data["x"].astype(np.float32) / 255.0
    folder.mkdir(parents=True, exist_ok=True)

    def one(index):
        rng = np.random.default_rng([seed, index])
        zoom = max(1, round(7 * size / 256))
        ink = np.kron(digits[index % len(digits)], np.ones((zoom, zoom), np.float32))  # 196x196 at size 256
        scan = np.full((size, size), 0.9, np.float32)
        top, left = rng.integers(0, size - len(ink), 2)
        scan[top : top + len(ink), left : left + len(ink)] -= ink * 0.75
        scan += rng.normal(0, 0.05, scan.shape).astype(np.float32)
        sub = folder / f"{index // 1000:03d}"
        sub.mkdir(exist_ok=True)
        Image.fromarray((np.clip(scan, 0, 1) * 255).astype(np.uint8)).save(sub / f"scan-{index:06d}.png")

    with ThreadPoolExecutor() as pool:
        list(pool.map(one, range(count)))
    return sorted(folder.rglob("*.png"))


def io_floor(files, out, workers):
    out.mkdir(parents=True, exist_ok=True)

    def one(path):
        with Image.open(path) as image:
            small = image.convert("L").resize((28, 28), Image.BOX)
        small.save(out / path.name)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))
    return len(files) / (time.perf_counter() - started)


def cli_run(scans, out, report, *extra):
    """Run the CLI in a subprocess; return (images/s over processing, wall seconds, peak RSS MiB)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", MEASURE_RSS, *CLI, "run", str(scans), str(out), "--quiet", "--overwrite",
         "--report", str(report), *extra],
        capture_output=True, text=True,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"digit-denoise run failed: {result.stderr}")
    summary = json.loads(report.read_text())
    return summary["images_per_second"], wall, int(result.stdout.split()[-1]) / 1024


def naive_loop(files, out):
    import keras
    from skimage import io, transform
    from skimage.util import img_as_ubyte

    from digit_denoise.models import DEFAULT_MODEL, shipped_files

    model = keras.saving.load_model(shipped_files(DEFAULT_MODEL).weights)
    out.mkdir(parents=True, exist_ok=True)
    model.predict(np.zeros((1, 28, 28), np.float32), verbose=0)
    started = time.perf_counter()
    for path in files:
        image = io.imread(path)
        small = 1.0 - transform.resize(image, (28, 28), anti_aliasing=True)
        result = model.predict(small[None].astype(np.float32), verbose=0)[0]
        io.imsave(out / path.name, img_as_ubyte(np.clip(1.0 - result, 0, 1)), check_contrast=False)
    return len(files) / (time.perf_counter() - started)


def model_alone(count, batch_size):
    from digit_denoise import load_denoiser

    denoiser = load_denoiser("default")
    digits = np.random.default_rng(0).random((count, 28, 28), dtype=np.float32)
    denoiser.warm_up()
    started = time.perf_counter()
    for start in range(0, count, batch_size):
        denoiser.denoise(digits[start : start + batch_size])
    return count / (time.perf_counter() - started)


def timed(command, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="scans for the throughput runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive", type=int, default=300, help="scans for the (slow) naive loop")
    parser.add_argument("--big", type=int, default=0, help="also measure peak RSS of run on this many scans")
    parser.add_argument("--size", type=int, default=256, help="scan width and height in px")
    parser.add_argument("--dir", help="where to make the temporary folder (say /dev/shm, to leave the disk out)")
    args = parser.parse_args()
    workers = default_workers()
    batch_size = Settings().batch_size
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        files = make_scans(tmp / "scans", args.n, size=args.size)
        floor = statistics.median(io_floor(files, tmp / "floor", workers) for _ in range(args.repeats))
        runs = [cli_run(tmp / "scans", tmp / "out", tmp / "report.json") for _ in range(args.repeats)]
        run_speed = statistics.median(r[0] for r in runs)
        run_wall = statistics.median(r[1] for r in runs)
        run_rss = max(r[2] for r in runs)
        naive = statistics.median(naive_loop(files[: args.naive], tmp / "naive") for _ in range(args.repeats))
        model = statistics.median(model_alone(args.n, batch_size) for _ in range(args.repeats))
        one = tmp / "one"
        make_scans(one, 1)
        single = timed([*CLI, "run", str(one), str(tmp / "one-out"), "--quiet", "--overwrite"], args.repeats)
        tf_import = timed([sys.executable, "-c", "import keras, tensorflow"], args.repeats)
        help_time = timed([*CLI, "--help"], 5)
        models_time = timed([*CLI, "models"], 5)
        big = None
        if args.big:
            make_scans(tmp / "big", args.big)
            big = cli_run(tmp / "big", tmp / "big-out", tmp / "big.json")
    ceiling = 1 / (1 / floor + 1 / model)
    print(f"{args.n} scans of {args.size}x{args.size} px in {tmp.parent}, {workers} I/O threads, median of {args.repeats}")
    print(f"(a) I/O floor (Pillow decode + 28x28 PNG encode)  {floor:9.0f} images/s")
    print(f"(b) digit-denoise run, default model            {run_speed:9.0f} images/s  "
          f"({args.n / run_wall:.0f} images/s counting start-up, {run_wall:.1f} s wall)")
    print(f"(c) naive loop (skimage + predict per image)    {naive:9.0f} images/s  (on {min(args.naive, args.n)} scans)")
    print(f"(d) default model alone, batches of {batch_size}       {model:9.0f} images/s")
    print(f"b/a = {run_speed / floor:.2f}    b/c = {run_speed / naive:.0f}x    "
          f"ceiling for b with a free adapter, 1/(1/a + 1/d) = {ceiling:.0f} images/s, b/a = {ceiling / floor:.2f}")
    print(f"peak RSS of run: {run_rss:.0f} MiB at N={args.n}" + (f", {big[2]:.0f} MiB at N={args.big}" if big else ""))
    print(f"start-up: --help {help_time:.2f} s, models {models_time:.2f} s, "
          f"run on one scan {single:.2f} s (import keras+tensorflow alone {tf_import:.2f} s)")


if __name__ == "__main__":
    main()
