"""Make the example scans in examples/scans from committed MNIST test digits.

Each scan is one MNIST digit drawn as dark ink on off-white paper at 64-512 px,
with scanner-like degradations: paper texture, a little blur, Gaussian and
speckle noise, and JPEG artefacts for the JPEG files. Run from the repository
root: ``python examples/make_scans.py``. The output is fixed by the seed.
"""

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import transform

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT.parent / "tests" / "data" / "mnist_test_last300.npz"
LAYOUT = [
    ("letters-2024", ".png", 10),
    ("letters-2024/rescans", ".jpg", 8),
    ("forms", ".png", 6),
    ("forms/jpeg", ".jpg", 6),
]


def make_scan(digit, rng):
    size = int(rng.choice([64, 96, 128, 160, 200, 256, 320, 512], p=[.15, .15, .2, .15, .1, .1, .1, .05]))
    height = size
    width = int(size * rng.uniform(0.8, 1.25))
    ink = transform.resize(digit / 255.0, (int(height * 0.8),) * 2, order=3, anti_aliasing=False)
    canvas = np.zeros((height, width))
    top = rng.integers(0, height - ink.shape[0] + 1)
    left = rng.integers(0, max(1, width - ink.shape[1] + 1))
    canvas[top : top + ink.shape[0], left : left + min(ink.shape[1], width - left)] = ink[:, : width - left]
    paper = rng.uniform(0.82, 0.95) + ndimage.gaussian_filter(rng.normal(0, 0.03, canvas.shape), size / 64)
    scan = paper * (1 - canvas * rng.uniform(0.7, 0.9))
    scan = ndimage.gaussian_filter(scan, rng.uniform(0.3, 1.0) * size / 100)
    scan = scan * (1 + rng.normal(0, rng.uniform(0.02, 0.08), scan.shape))
    scan = scan + rng.normal(0, rng.uniform(0.02, 0.08), scan.shape)
    return np.clip(scan, 0, 1)


def main(seed=20261127):
    rng = np.random.default_rng(seed)
    with np.load(SOURCE) as data:
        digits = data["x"]
    index = 0
    for folder, suffix, count in LAYOUT:
        out = ROOT / "scans" / folder
        out.mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            image = Image.fromarray((make_scan(digits[index], rng) * 255).round().astype(np.uint8))
            path = out / f"scan-{index:03d}{suffix}"
            if suffix == ".jpg":
                image.save(path, quality=int(rng.integers(50, 85)))
            else:
                image.save(path, optimize=True)
            index += 1
    print(f"wrote {index} scans under {ROOT / 'scans'}")


if __name__ == "__main__":
    main()
