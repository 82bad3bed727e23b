"""Helpers shared by the tests."""

import numpy as np


def make_scan(digit, *, size=(90, 80), offset=(12, 10), paper=0.9, ink=0.15, noise=0.0, rng=None):
    """A dark-on-light float scan with ``digit`` (28x28, light on dark) scaled 2x at ``offset``."""
    scan = np.full(size, paper, dtype=np.float64)
    big = np.kron(digit, np.ones((2, 2)))
    top, left = offset
    scan[top : top + 56, left : left + 56] -= big * (paper - ink)
    if noise:
        scan += (rng or np.random.default_rng(0)).normal(0, noise, size)
    return np.clip(scan, 0, 1)


def write_scans(root, digits, count, *, folder, name, seed=0, **scan_options):
    """Write ``count`` 8-bit PNG scans of ``digits`` under ``root``: scan ``i`` goes to ``root / folder(i) / name(i)``.
    ``scan_options`` go to ``make_scan`` (with one generator for all the noise). Returns ``root``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for index in range(count):
        path = root / folder(index) / name(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        scan = make_scan(digits[index], rng=rng, **scan_options)
        Image.fromarray((scan * 255).round().astype(np.uint8)).save(path)
    return root
