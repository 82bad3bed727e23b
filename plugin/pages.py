"""Synthetic scan pages: a digit rendered as a pen stroke on a page, with the faults of real scans.

What the realistic benchmark (``benchmarks/scans.py``) scores on, what the tests check the scan path with, and
what the default model is fine-tuned on (``training.scan_pairs``). Each page comes with its clean twin: the same
page without noise, specks, ruled line or JPEG, but with the light, because light is not noise.
"""

import dataclasses
import io

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import transform


@dataclasses.dataclass(frozen=True)
class Conditions:
    """The ranges a page's conditions are drawn from, uniformly (a range of one value is not drawn)."""

    size: tuple = (40, 400)  # px: the digit's side
    max_side: int = 1024  # px: the page's longest side
    paper: tuple = (0.75, 0.95)
    ink: tuple = (0.05, 0.35)
    sigma: tuple = (0.03, 0.2)  # Gaussian noise
    specks: tuple = (5, 29)  # how many dust specks
    lined: float = 0.3  # the share of pages with a ruled line
    jpeg: float = 0.5  # the share of pages saved as JPEG
    quality: tuple = (60, 90)
    pen: tuple = (14.0, 14.0)  # the steepness of the pen's edge (14: crisp; 6: soft)


BENCHMARK = Conditions()  # the realistic-scans issue's conditions: what benchmarks/scans.py scores
TRAINING = Conditions(size=(24, 400), max_side=640, paper=(0.65, 0.97), ink=(0.0, 0.38), sigma=(0.0, 0.22),
                      specks=(0, 40), quality=(35, 95), pen=(5.0, 20.0))  # wider, so as not to fit the benchmark


def _draw(rng, bounds, integer=False):
    low, high = bounds
    if low == high:
        return low
    return int(rng.integers(low, high + 1)) if integer else float(rng.uniform(low, high))


def pen_stroke(digit, size, steepness=14.0):
    """A (28, 28) digit in [0, 1] as a pen stroke ``size`` px high: smooth (cubic) upscaling, then a pen's steep
    edge, of the given ``steepness`` (14: crisp; 6: soft)."""
    return 1 / (1 + np.exp(-(transform.resize(digit, (size, size), order=3, mode="edge") - 0.45) * steepness))


def make_page(digit, rng, conditions=BENCHMARK):
    """One page from a (28, 28) digit in [0, 1] (light on dark): ``(noisy uint8, clean uint8, stroke mask, speck
    mask, conditions dict)``; the masks mark the digit's strokes and the specks that lie off them."""
    size = _draw(rng, conditions.size, integer=True)
    stroke = pen_stroke(digit, size, _draw(rng, conditions.pen))
    stroke = (stroke - stroke.min()) / max(stroke.max() - stroke.min(), 1e-6)
    limit = max(size + 17, min(conditions.max_side, size * 3) + 1)
    rows, cols = int(rng.integers(size + 16, limit)), int(rng.integers(size + 16, limit))
    top, left = int(rng.integers(8, rows - size - 7)), int(rng.integers(8, cols - size - 7))
    ink_map = np.zeros((rows, cols))
    ink_map[top : top + size, left : left + size] = stroke
    paper, ink = _draw(rng, conditions.paper), _draw(rng, conditions.ink)
    y, x = np.meshgrid(np.linspace(-0.5, 0.5, rows), np.linspace(-0.5, 0.5, cols), indexing="ij")
    gy, gx, vignette = rng.uniform(-0.15, 0.15, 2).tolist() + [rng.uniform(0, 0.3)]
    light = np.clip(1 + gy * y + gx * x - vignette * (x**2 + y**2), 0.6, 1.2)
    clean = light * (paper + (ink - paper) * ink_map)
    sigma = _draw(rng, conditions.sigma)
    noisy = clean + rng.normal(0, sigma, clean.shape)
    specks = np.zeros((rows, cols), bool)
    for _ in range(_draw(rng, conditions.specks, integer=True)):
        r, c, radius = int(rng.integers(0, rows)), int(rng.integers(0, cols)), rng.uniform(0.8, 3.5)
        window = np.s_[max(r - 4, 0) : min(r + 5, rows), max(c - 4, 0) : min(c + 5, cols)]
        yy, xx = np.ogrid[window]
        blob = (yy - r) ** 2 + (xx - c) ** 2 <= radius**2
        noisy[window][blob] = light[window][blob] * ink
        specks[window] |= blob
    lined = bool(rng.random() < conditions.lined)
    if lined:
        row = int(np.clip(top + rng.uniform(-0.2, 1.2) * size, 2, rows - 3))
        noisy[row : row + 2, :] = (light * ink)[row : row + 2, :] * 1.2
    jpeg = _draw(rng, conditions.quality, integer=True) if rng.random() < conditions.jpeg else None
    noisy8 = (np.clip(noisy, 0, 1) * 255).round().astype(np.uint8)
    if jpeg:
        buffer = io.BytesIO()
        Image.fromarray(noisy8).save(buffer, "JPEG", quality=jpeg)
        noisy8 = np.asarray(Image.open(buffer))
    speck_mask = specks & ~ndimage.binary_dilation(ink_map > 0.05, iterations=3)
    drawn = dict(size=size, shape=(rows, cols), sigma=sigma, paper=paper, ink=ink, jpeg=jpeg, lined=lined)
    return noisy8, (np.clip(clean, 0, 1) * 255).round().astype(np.uint8), ink_map > 0.5, speck_mask, drawn


def clean_pages(digits, size, margin=20):
    """(28, 28) digits in [0, 1] as clean pen strokes ``size`` px high, dark ink (0.2) on grey paper (0.9) with
    ``margin`` px of it around: ``(pages, strokes)``, (K, size + 2 margin, size + 2 margin) float32 stacks, the
    strokes' ink amounts in [0, 1]."""
    side = size + 2 * margin
    strokes = np.zeros((len(digits), side, side), np.float32)
    for stroke, digit in zip(strokes, digits):
        stroke[margin : margin + size, margin : margin + size] = pen_stroke(digit, size)
    return 0.9 - 0.7 * strokes, strokes


def fine_pen_page(digit, size, width, rng, *, noise=0.03, margins=(60, 50)):
    """A (28, 28) digit written with a fine pen: its skeleton drawn as a ``width`` px line on a digit of ``size`` px,
    with a scanner's blur (a Gaussian of 0.7 px), ``margins`` (top and bottom, left and right) of grey paper, and
    Gaussian noise. Returns ``(page, the line's mask)``, the page a float in [0, 1]."""
    from skimage import morphology

    line = morphology.skeletonize(transform.resize(digit, (size, size), order=3) > 0.45)
    line = ndimage.distance_transform_edt(~line) <= (width - 1) / 2
    top, left = margins
    page = np.full((size + 2 * top, size + 2 * left), 0.88)
    page[top : top + size, left : left + size] -= 0.68 * ndimage.gaussian_filter(line.astype(float), 0.7)
    mask = np.zeros(page.shape, bool)
    mask[top : top + size, left : left + size] = line
    return np.clip(page + rng.normal(0, noise, page.shape), 0, 1), mask


def same_frame(placement, reference):
    """Whether a 28x28 frame (``Frame.placement``: scale, centre row, centre col) is the ``reference`` frame, as
    the realistic-scans issue counts it: centres within half a model pixel, scales within 5%."""
    (scale, row, col), (reference_scale, reference_row, reference_col) = placement, reference
    return bool(np.hypot(row - reference_row, col - reference_col) * scale <= 0.5
                and abs(scale / reference_scale - 1) <= 0.05)
