"""Scan analysis: what a page shows before anything is framed or normalized.

:func:`analyse` finds, on a grayscale scan, the light that falls on the page
(a smooth field fitted to the paper), the paper's and the ink's clean levels
(estimated from many pixels, so that noise does not move them), and the
digit's strokes as connected components: dust specks, ruled lines and
page-edge marks are told apart from the digit and left out of its frame. It
also says when a scan does not look like one digit (``flags``).
"""

import dataclasses
import functools

import numpy as np
from scipy import ndimage

COARSE = 64  # px: the page's levels are first looked at on a copy about this small
FIT = 32  # px: and the light is fitted on a copy about this small (light varies slowly; the strokes are a minority)
LINE_COVER = 0.85  # a row or column this much covered by ink is a ruled line or a page edge, not a stroke
DIGIT_PART = 0.15  # a component at least this part of the largest one's ink, close to it, belongs to the digit
DIGIT_SIZED = 0.4  # ... and one with this part of its ink, beside it rather than part of it, is another digit
TOO_SMALL = 8  # px: a scan or a digit smaller than this cannot be framed


@dataclasses.dataclass(frozen=True)
class Analysis:
    """What :func:`analyse` found on one scan; levels are in the scan's own [0, 1] intensities.

    ``light`` holds the coefficients of the light field (see :func:`light_field`);
    ``paper`` and ``ink`` are the clean levels under average light; ``box`` is
    the digit's (top, left, bottom, right) in the analysed pixels; ``region`` the
    mask of the digit's strokes there with a margin (None when no ink was
    found); ``noise`` the noise's standard deviation on the paper; ``flags``
    the reasons the scan does not look like one digit.
    """

    light: tuple
    paper: float
    ink: float
    box: tuple
    region: np.ndarray
    noise: float
    flags: tuple = ()

    def at_full_resolution(self, full, factor):
        """This analysis with the paper and ink levels measured again on ``full``, the scan's pixels before it was
        shrunk ``factor`` times for the analysis: noise clipped at black or white biases the shrunk copy's block
        means, not the medians of the full-resolution pixels."""
        from .adapter import to_grayscale

        if self.region is None or factor == 1:
            return self
        step = max(1, int(np.sqrt(full.shape[0] * full.shape[1] / 40000)))
        sample = to_grayscale(full[::step, ::step]) / light_field(self.light, full.shape[:2], step=step)
        rows = np.minimum(np.arange(0, full.shape[0], step) // factor, self.region.shape[0] - 1)
        cols = np.minimum(np.arange(0, full.shape[1], step) // factor, self.region.shape[1] - 1)
        region = self.region[np.ix_(rows, cols)]
        if region.all() or not region.any():
            return self
        paper = float(_median(sample[~region]))
        inked = sample[region]
        inked = inked[np.abs(inked - self.ink) < np.abs(inked - paper)]
        ink = float(_median(inked)) if inked.size else self.ink
        return dataclasses.replace(self, paper=paper, ink=ink)

    @property
    def inverted(self):
        """Dark ink on light paper: the scan must be inverted to look like MNIST."""
        return self.paper > self.ink

    def ink_amount(self, gray):
        """``gray`` (the analysed pixels) as ink amounts in [0, 1], light on dark: 0 is clean paper, 1 clean ink,
        after flattening the light; nothing outside the digit's strokes (and a margin around them)."""
        flat = gray / light_field(self.light, gray.shape)
        if self.ink == self.paper:
            return np.zeros_like(flat)
        amount = np.clip((flat - self.paper) / (self.ink - self.paper), 0.0, 1.0)
        if self.region is not None:
            amount *= self.region
        return amount


@functools.lru_cache(maxsize=4)  # analyse and then ink_amount ask for the same field; treat it as read-only
def light_field(coefficients, shape, window=None, step=1, dtype=np.float64):
    """The light's relative strength (1 on average) at every pixel of an image of ``shape``: a quadratic surface
    in coordinates that run from 0 to 1 along each side, so it fits any resolution of the same page. With
    ``window`` (top, left, bottom, right), only that part of it; with ``step``, every step-th row and column.
    A full-resolution page asks for float32, which halves the work."""
    rows, cols = (np.linspace(0.0, 1.0, n, dtype=dtype)[::step] for n in shape)
    if window is not None:
        top, left, bottom, right = window
        rows, cols = rows[top:bottom], cols[left:right]
    a, b, c, d, e, f = coefficients
    field = np.multiply.outer(rows, e * cols)  # built in place: a full-resolution page has millions of pixels
    field += (a + b * rows + d * rows**2)[:, None]
    field += c * cols + f * cols**2
    return np.clip(field, 0.2, 5.0, out=field)


def analyse(gray, *, polarity="auto"):
    """Analyse a grayscale scan.

    Parameters
    ----------
    gray : (M, N) float ndarray in [0, 1]
    polarity : {'auto', 'dark-on-light', 'light-on-dark'}
        'auto' takes the side most pixels are on as the paper.

    Returns
    -------
    Analysis
    """
    flags = []
    if min(gray.shape) < TOO_SMALL:
        flags.append(f"too small to hold a digit ({gray.shape[0]}x{gray.shape[1]} px, under {TOO_SMALL} px)")
    factor = max(1, min(gray.shape) // COARSE)
    coarse = block_mean(gray, factor)
    last = coarse.size - 1
    ranks = [int(0.01 * last), last // 2, (last + 1) // 2, int(0.99 * last)]
    low, below, above, high = np.partition(coarse.ravel(), ranks)[ranks]  # the 1st, 50th and 99th percentiles
    median = (below + above) / 2
    looks_light = high - median < median - low  # most pixels, the paper, sit nearer the light end
    paper_is_light = {"auto": looks_light, "dark-on-light": True, "light-on-dark": False}[polarity]
    clear = high - low > 0.05 and abs((high - median) - (median - low)) >= 0.2 * (high - low)
    if high - low > 0.05 and not clear and polarity == "auto":
        flags.append("polarity doubtful: as much of the page is dark as light")
    elif clear and polarity != "auto" and paper_is_light != looks_light:
        flags.append(f"polarity doubtful: set to {polarity}, but the page looks "
                     f"{'dark-on-light' if looks_light else 'light-on-dark'}")
    light, paper, noise = _fit_light(coarse, factor, gray.shape, paper_is_light)
    noise *= factor  # the coarse copy averaged factor x factor pixels
    flat = gray / light_field(light, gray.shape)
    smooth = ndimage.uniform_filter(flat, 5, mode="nearest")
    sign = -1.0 if paper_is_light else 1.0
    # The ink's level, roughly, from the pixels clearly off the paper (five times the noise left after the 5x5 mean,
    # which divides it by 5); then the digit, from the pixels nearer that level than the paper's.
    clearly = (smooth - paper) * sign > max(noise, 0.08)
    digit, box, more, region = None, None, [], None
    if clearly.any():
        ink = float(_median(flat[clearly]))
        digit, box, more = _digit_components(_without_lines((smooth - paper) / (ink - paper) > 0.5))
    if digit is None:
        flags.append("no ink found: the page looks blank")
        ink = paper - 0.5 if paper_is_light else paper + 0.5
        box = (0, 0, gray.shape[0], gray.shape[1])
    else:
        # Medians of the full-resolution pixels: noise clipped at black or white does not move them, as it moves
        # the means of the coarse copy.
        step = max(1, gray.size // 20000)
        region = grown(digit, max(1, round(0.015 * max(box[2] - box[0], box[3] - box[1]))))
        off_digit = ~region
        paper = float(_median(flat.ravel()[::step][off_digit.ravel()[::step]])) if off_digit.any() else paper
        core = ndimage.minimum_filter(digit, 3) if digit.sum() > 50 else digit
        ink = float(_median(flat[core])) if core.any() else float(_median(flat[digit]))
        if box[2] - box[0] < TOO_SMALL and box[3] - box[1] < TOO_SMALL and not flags:
            flags.append(f"the ink is too small to be a digit (under {TOO_SMALL} px)")
        flags.extend(more)
    return Analysis(
        tuple(light), float(paper), float(ink), tuple(int(v) for v in box), region, float(noise), tuple(flags)
    )


def _median(values):
    """The median of a 1-D array (the upper one for an even count): one partition, without ``np.median``'s
    overhead, which these small arrays would feel."""
    middle = len(values) // 2
    return np.partition(values, middle)[middle]


def grown(mask, pixels):
    """``mask`` grown by ``pixels`` in every direction (a square), as fast for a wide margin as for a thin one."""
    return ndimage.maximum_filter(mask, 2 * pixels + 1)


def block_mean(image, factor):
    """Integer-factor reduction by block averaging; a remainder of fewer than ``factor`` rows or columns is dropped."""
    if factor == 1:
        return image
    rows, cols = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    return image[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor).mean(axis=(1, 3))


def _fit_light(coarse, factor, shape, paper_is_light, rounds=2):
    """Fit a quadratic surface to the paper's pixels, again and again without those it does not fit (the ink,
    specks). Returns the surface's coefficients scaled to average 1, the paper level under average light, and the
    noise's standard deviation on the paper. ``coarse`` is the scan of ``shape`` reduced ``factor`` times."""
    reduced = max(1, min(coarse.shape) // FIT)
    coarse = block_mean(coarse, reduced)
    terms = _surface_terms(coarse.shape, factor * reduced, shape)
    values = coarse.ravel()
    sign = 1.0 if paper_is_light else -1.0
    middle = _median(values)
    paper = (values - middle) * sign > -0.5 * np.ptp(values)  # a first guess: everything but strong ink
    coefficients, noise = np.array([middle, 0, 0, 0, 0, 0], float), 0.0
    for _ in range(rounds):
        if paper.sum() < 12:
            break
        used = terms[paper]  # normal equations by einsum: BLAS's threads would fight the worker processes
        coefficients = np.linalg.solve(np.einsum("ij,ik->jk", used, used) + 1e-9 * np.eye(6),
                                       np.einsum("ij,i->j", used, values[paper]))
        residual = values - np.einsum("ij,j->i", terms, coefficients)
        on_paper = residual[paper]
        noise = 1.4826 * float(_median(np.abs(on_paper - _median(on_paper))))
        paper = residual * sign > -max(3 * noise, 0.01)
    surface = np.einsum("ij,j->i", terms, coefficients)
    level = float(surface.mean())
    noise *= reduced  # the copy averaged reduced x reduced pixels
    if abs(level) < 1e-6:
        return (1.0, 0, 0, 0, 0, 0), level, noise
    return tuple(float(c) for c in coefficients / level), level, noise


@functools.lru_cache(maxsize=16)
def _surface_terms(shape, factor, full_shape):
    """The (pixels, 6) terms 1, y, x, y², xy, x² of a quadratic surface over a copy of ``shape`` made by averaging
    ``factor`` x ``factor`` blocks of an image of ``full_shape``: each block at its centre, in the full image's
    coordinates, which run from 0 to 1 along each side as in ``light_field`` (the blocks leave out a remainder)."""
    rows, cols = np.meshgrid(*((np.arange(n) * factor + (factor - 1) / 2) / max(1, full - 1)
                               for n, full in zip(shape, full_shape)), indexing="ij")
    return np.stack([np.ones_like(rows), rows, cols, rows**2, rows * cols, cols**2], axis=-1).reshape(-1, 6)


def _without_lines(inked):
    """``inked`` less the rows and columns that ink covers almost from edge to edge: ruled lines, page edges."""
    inked = inked.copy()
    for axis in (0, 1):
        covered = inked.mean(axis=1 - axis) > LINE_COVER
        if covered.any() and covered.mean() < 0.5:
            if axis == 0:
                inked[covered, :] = False
            else:
                inked[:, covered] = False
    return inked


def _digit_components(inked):
    """``(digit mask, box, flags)`` from the inked pixels' connected components: the one with the most ink, and
    the parts close to it that are large enough to be strokes; specks and far marks are left out."""
    if inked is None or not inked.any():
        return None, None, []
    labels, count = ndimage.label(inked, structure=np.ones((3, 3)))
    areas = np.bincount(labels.ravel())[1:]
    boxes = ndimage.find_objects(labels)
    main = int(np.argmax(areas))
    top, left, bottom, right = _box(boxes[main])
    size = max(bottom - top, right - left)
    keep, flags = [main], []
    for index in np.argsort(-areas):
        if index == main or areas[index] < DIGIT_PART * areas[main]:
            continue
        part_top, part_left, part_bottom, part_right = _box(boxes[index])
        gap = max(part_top - bottom, top - part_bottom, part_left - right, left - part_right, 0)
        digit_sized = areas[index] >= DIGIT_SIZED * areas[main] and part_bottom - part_top >= 0.6 * (bottom - top)
        beside = part_left >= right - 0.1 * size or part_right <= left + 0.1 * size
        if digit_sized and beside:
            flags.append("several separate digit-sized marks: one image should hold one digit")
            continue
        if gap <= 0.5 * size:
            keep.append(index)
    kept = np.zeros(count + 1, bool)
    kept[np.asarray(keep) + 1] = True
    digit = kept[labels]
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    box = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
    return digit, box, flags[:1]


def _box(slices):
    return slices[0].start, slices[1].start, slices[0].stop, slices[1].stop


def digit_parts(inked):
    """The connected components of ``inked`` large enough to be part of the digit (as the analysis keeps them):
    dust specks and fragments the analysis could not tell apart at its coarser resolution are left out."""
    labels, count = ndimage.label(inked, structure=np.ones((3, 3)))
    if count < 2:
        return inked
    areas = np.bincount(labels.ravel())
    areas[0] = 0
    return (areas >= DIGIT_PART * areas.max())[labels]


def without_bumps(inked, *, largest=4.5):
    """``inked`` less the bumps on its strokes: specks and ruled-line stubs that touch a stroke, which no
    component analysis can tell from it. An opening with a disk a little narrower than the strokes takes off
    whatever is narrower than they are; of that, the parts that are long (a thin stretch of stroke, a serif) are
    given back, the short ones (a speck, a stub) stay off. ``largest`` bounds the disk's radius, in pixels."""
    inside = ndimage.distance_transform_edt(inked)
    if not inside.any():
        return inked
    half_width = np.percentile(inside[inked], 90)  # the distances inside a stroke run evenly up to its half width
    radius = min(0.6 * half_width, largest)
    if radius < 1.0:
        return inked
    opened = inked & (ndimage.distance_transform_edt(inside <= radius) <= radius + 0.5)
    labels, count = ndimage.label(inked & ~opened, structure=np.ones((3, 3)))
    if count == 0:
        return inked
    long = np.zeros(count + 1, bool)
    for index, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1):
        long[index] = max(rows.stop - rows.start, cols.stop - cols.start) > 3 * radius
    return opened | long[labels]
