"""Throughput of `digit-denoise run` against the I/O floor and a naive per-image loop.

Generates N grayscale PNG scans (256x256 unless --size) in a temporary folder and, on the same
files, times:

  (a) the I/O floor: Pillow decode + 28x28 PNG encode, on as many threads as `run` uses;
  (b) `digit-denoise run` with the default model (a subprocess; images/s over its processing time);
  (c) a naive loop: skimage imread -> resize with anti-aliasing -> model.predict on one image -> imsave;
  (d) the default model alone, batched as `run` batches it, on 28x28 inputs already in memory.

(a) and (d) bound (b): on the same cores, a run with a free adapter could at best
spend 1/a + 1/d seconds per image, so it prints that ceiling and b/ceiling. It also
times each stage of the pixel work alone, in one thread of a fresh process (decode,
adapt, infer on one model thread, encode), and prints the pipeline efficiency:
b against (cores / the sum of those seconds per image), what the engine loses to
the GIL, to stalls and to queues.

Each figure is the median of --repeats runs. Also prints the peak memory of (b): the
proportional set sizes (PSS) of its process and its worker processes, summed, at N (and at --big N, opt-in), and
start-up times; the memory comes from a run of its own, since sampling it costs CPU. Not a test: run it by hand.

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


def tree_pss_mib(pid):
    """Memory of ``pid`` and all its descendants, in MiB: the sum of their proportional set sizes (Linux /proc), so
    that library pages the worker processes share (TensorFlow's, mostly) are counted once, not once per process."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(parents.get(current, []))
        try:
            status = Path(f"/proc/{current}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Pss:")), 0)
    return total / 1024


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


def io_floor(files, out, workers, original=False):
    """Decode with Pillow and write a 28x28 PNG (or, ``original``, the full-size image as PNG, at the compression
    digit-denoise uses), on ``workers`` threads."""
    out.mkdir(parents=True, exist_ok=True)

    def one(path):
        with Image.open(path) as image:
            result = image.convert("L") if original else image.convert("L").resize((28, 28), Image.BOX)
        result.save(out / path.name)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))
    return len(files) / (time.perf_counter() - started)


def cli_run(scans, out, report, *extra, memory=False):
    """Run the CLI in a subprocess; return (images/s over processing, wall seconds, peak PSS in MiB of its
    process tree, with ``memory``). Reading the PSS walks the page tables of every process of the tree, about
    15 ms of CPU each time: a run whose memory is sampled is not timed, and one that is timed is not sampled."""
    started = time.perf_counter()
    process = subprocess.Popen([*CLI, "run", str(scans), str(out), "--quiet", "--overwrite", "--report", str(report),
                                *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        if memory:
            peak = max(peak, tree_pss_mib(process.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"digit-denoise run failed: {process.stderr.read()}")
    summary = json.loads(report.read_text())
    return summary["images_per_second"], wall, peak


STAGES = """
import json, sys, time
import numpy as np
from pathlib import Path
from digit_denoise import ScanAdapter, load_denoiser
from digit_denoise.scans import encode_image, read_scan
try:
    from digit_denoise.denoiser import limit_threads
    limit_threads(1)
except ImportError:  # an older digit-denoise, measured side by side
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
files = sorted(Path(sys.argv[1]).rglob("*.png"))[: int(sys.argv[2])]
adapter, denoiser = ScanAdapter(), load_denoiser("default")
denoiser.warm_up()
seconds = dict(decode=0.0, adapt=0.0, infer=0.0, encode=0.0)
for start in range(0, len(files), 256):
    batch = files[start : start + 256]
    t = time.perf_counter(); [read_scan(path) for path in batch]; seconds["decode"] += time.perf_counter() - t
    t = time.perf_counter()
    if hasattr(adapter, "read_many"):  # as run adapts a batch
        adapted = adapter.read_many(batch)
    else:  # an older digit-denoise, one file at a time
        adapted = [adapter.read(path) for path in batch]
    seconds["adapt"] += time.perf_counter() - t
    t = time.perf_counter(); results = denoiser.denoise(np.stack([digit for digit, _ in adapted]))
    seconds["infer"] += time.perf_counter() - t
    t = time.perf_counter(); [encode_image(adapter.after(r, f), ".png") for r, (_, f) in zip(results, adapted)]
    seconds["encode"] += time.perf_counter() - t
seconds["adapt"] -= seconds["decode"]  # reading decodes too
print(json.dumps({stage: value / len(files) for stage, value in seconds.items()}))
"""


def stage_seconds(scans, count):
    """Seconds per image of each stage, each alone in one thread of a fresh process (one model thread)."""
    result = subprocess.run([sys.executable, "-c", STAGES, str(scans), str(count)], capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout)


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
    parser.add_argument("--extra", default="", help="more flags for run, say '--workers 1'")
    parser.add_argument("--original", action="store_true",
                        help="run with --size original, against a floor that writes the full-size image")
    parser.add_argument("--size", type=int, default=256, help="scan width and height in px")
    parser.add_argument("--dir", help="where to make the temporary folder (say /dev/shm, to leave the disk out)")
    args = parser.parse_args()
    workers = default_workers()
    batch_size = Settings().batch_size
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        files = make_scans(tmp / "scans", args.n, size=args.size)
        floor = statistics.median(io_floor(files, tmp / "floor", workers, args.original) for _ in range(args.repeats))
        extra = args.extra.split() + (["--size", "original"] if args.original else [])
        runs = [cli_run(tmp / "scans", tmp / "out", tmp / "report.json", *extra) for _ in range(args.repeats)]
        run_speed = statistics.median(r[0] for r in runs)
        run_wall = statistics.median(r[1] for r in runs)
        run_rss = cli_run(tmp / "scans", tmp / "out", tmp / "report.json", *extra, memory=True)[2]
        stages = [stage_seconds(tmp / "scans", min(args.n, 2000)) for _ in range(args.repeats)]
        stages = {stage: statistics.median(s[stage] for s in stages) for stage in stages[0]}
        naive = (
            statistics.median(naive_loop(files[: args.naive], tmp / "naive") for _ in range(args.repeats))
            if args.naive
            else float("nan")
        )
        model = statistics.median(model_alone(args.n, batch_size) for _ in range(args.repeats))
        one = tmp / "one"
        make_scans(one, 1)
        single = timed([*CLI, "run", str(one), str(tmp / "one-out"), "--quiet", "--overwrite"], args.repeats)
        examples = [*CLI, "run", str(ROOT / "examples" / "scans"), str(tmp / "examples-out"), "--quiet"]
        subprocess.run(examples, capture_output=True, check=True)  # the first run; what follows finds it up to date
        up_to_date = timed(examples, args.repeats)
        tf_import = timed([sys.executable, "-c", "import keras, tensorflow"], args.repeats)
        help_time = timed([*CLI, "--help"], 5)
        models_time = timed([*CLI, "models"], 5)
        big = None
        if args.big:
            make_scans(tmp / "big", args.big)
            big = cli_run(tmp / "big", tmp / "big-out", tmp / "big.json", memory=True)
    ceiling = 1 / (1 / floor + 1 / model)
    pipeline = workers / sum(stages.values())
    print(f"{args.n} scans of {args.size}x{args.size} px in {tmp.parent}, {workers} workers, median of {args.repeats}")
    print(
        f"(a) I/O floor (Pillow decode + {'full-size' if args.original else '28x28'} PNG encode){floor:9.0f} images/s"
    )
    print(f"(b) digit-denoise run, default model            {run_speed:9.0f} images/s  "
          f"({args.n / run_wall:.0f} images/s counting start-up, {run_wall:.1f} s wall)")
    if args.naive:
        print(f"(c) naive loop (skimage + predict per image)    {naive:9.0f} images/s  (on {min(args.naive, args.n)} "
              "scans)")
    print(f"(d) default model alone, batches of {batch_size}       {model:9.0f} images/s")
    print(
        f"b/a = {run_speed / floor:.2f}    " + (f"b/c = {run_speed / naive:.0f}x    " if args.naive else "")
        + f"ceiling for b with a free adapter, 1/(1/a + 1/d) = {ceiling:.0f} images/s, "
        f"b/ceiling = {run_speed / ceiling:.2f}"
    )
    print(
        "stages alone, one thread, ms per image: "
        + ", ".join(f"{k} {v * 1e3:.3f}" for k, v in stages.items())
        + f"; {workers} cores / their sum = {pipeline:.0f} images/s, "
        f"pipeline efficiency b/that = {run_speed / pipeline:.2f}"
    )
    print(
        f"peak memory (PSS, summed over the run's processes) of run: {run_rss:.0f} MiB at N={args.n}"
        + (f", {big[2]:.0f} MiB at N={args.big}" if big else "")
    )
    print(f"up-to-date re-run of examples/scans: {up_to_date:.2f} s wall (target under 1 s)")
    print(f"start-up: --help {help_time:.2f} s, models {models_time:.2f} s, "
          f"run on one scan {single:.2f} s (import keras+tensorflow alone {tf_import:.2f} s)")


if __name__ == "__main__":
    main()
