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

from .scans import to_grayscale

COARSE = 64  # px: the page's levels are first looked at on a copy about this small
FIT = 32  # px: and the light is fitted on a copy about this small (light varies slowly; the strokes are a minority)
LINE_COVER = 0.85  # a row or column this much covered by ink, in a band at most LINE_WIDTH px wide (or at the
LINE_WIDTH = 3  # image's edge) with paper on either side, is a ruled line (or a page edge), not a stroke
DIGIT_PART = 0.15  # a component at least this part of the largest one's ink, close to it, belongs to the digit
DIGIT_SIZED = 0.4  # ... and one with this part of its ink, beside it rather than part of it, is another digit
ANOTHER_INK = 2.0  # a mark with pixels this many times as far off the paper as most of the digit's is a blot
ROUND = 1.25  # a mark no longer than this many times its thickness is a speck, not a stroke (benchmark specks 1.0-1.1;
# the parts apart from the main stroke of 3,000 MNIST test digits 1.66 or more; the tests' 1 with a flag 1.5)
TOO_SMALL = 8  # px: a scan or a digit smaller than this cannot be framed
EDGES_ON_ONE_SIDE = 0.7  # where this much of a page's edges is on one side (light or dark) of its middle level,
PAPER_EDGES = 0.4  # and that side holds this much of its pixels, it is the paper's


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


@functools.lru_cache(maxsize=4)  # after and _sharpened ask for the same page's field; treat it as read-only
def light_field(coefficients, shape, window=None, step=1, dtype=np.float64):
    """The light's relative strength (1 on average) at every pixel of an image of ``shape``: a quadratic surface
    in coordinates that run from 0 to 1 along each side, so it fits any resolution of the same page. With
    ``window`` (top, left, bottom, right), only that part of it; with ``step``, every step-th row and column.
    A full-resolution page asks for float32, which halves the work."""
    rows, cols = (np.linspace(0.0, 1.0, n, dtype=dtype)[::step] for n in shape)
    if window is not None:
        top, left, bottom, right = window
        rows, cols = rows[top:bottom], cols[left:right]
    return _fields(np.asarray([coefficients], dtype), rows, cols)[0]


def _fields(coefficients, rows, cols):
    """The light fields of (count, 6) ``coefficients`` over the grid of ``rows`` x ``cols``: (count, rows, cols)."""
    field = _surfaces(coefficients, rows, cols)
    return np.clip(field, 0.2, 5.0, out=field)


def _surfaces(coefficients, rows, cols):
    """The quadratic surfaces a + b y + c x + d y² + e xy + f x² of (count, 6) ``coefficients`` over the grid of
    ``rows`` x ``cols``: (count, rows, cols)."""
    a, b, c, d, e, f = (coefficients[:, index, None, None] for index in range(6))
    surface = (e * rows[:, None]) * cols  # built in place: a full-resolution page has millions of pixels
    surface += a + b * rows[:, None] + d * rows[:, None] ** 2
    surface += c * cols + f * cols**2
    return surface


def analyse(gray, *, polarity="auto"):
    """Analyse a grayscale scan.

    Parameters
    ----------
    gray : (M, N) float ndarray in [0, 1]
    polarity : {'auto', 'dark-on-light', 'light-on-dark'}
        'auto' takes the side (light or dark) most of the page's edges are on as the paper, where that side holds
        PAPER_EDGES of the pixels, else the side most pixels are on.

    Returns
    -------
    Analysis
    """
    return analyse_stack(gray[None], polarity=polarity)[0][0]


def analyse_stack(grays, *, polarity="auto"):
    """Analyse scans of one size at once; each comes out as :func:`analyse` would find it alone, to the bit.

    Parameters
    ----------
    grays : (K, M, N) float ndarray in [0, 1]
    polarity : {'auto', 'dark-on-light', 'light-on-dark'}

    Returns
    -------
    analyses : list of K Analysis
    amounts : (K, M, N) float ndarray
        Each scan as ink amounts in [0, 1], light on dark: 0 is clean paper, 1 clean ink, after flattening the
        light; nothing outside the digit's strokes (and a margin around them).
    """
    grays = np.asarray(grays, np.float32)  # float32 halves the work; levels need no more than its 7 digits
    count, height, width = grays.shape
    flags = [[] for _ in range(count)]
    if min(height, width) < TOO_SMALL:
        for reasons in flags:
            reasons.append(f"too small to hold a digit ({height}x{width} px, under {TOO_SMALL} px)")
    coarse, factor = _coarse(grays)
    paper_is_light, middle = _polarities(coarse, polarity, flags)
    light, paper, noise = _fit_light(coarse, factor, (height, width), paper_is_light, middle)
    noise *= factor  # the coarse copy averaged factor x factor pixels
    grid = (np.linspace(0.0, 1.0, n, dtype=np.float32) for n in (height, width))
    flat = grays / _fields(light.astype(np.float32), *grid)
    across, smooth = smoothed(flat)
    sign = np.where(paper_is_light, -1.0, 1.0)
    # The ink's level, roughly, from the pixels clearly off the paper (five times the noise left after the 5x5 mean,
    # which divides it by 5), and of those the ones more than halfway to the fifth of them furthest from it: a stain or
    # a shadow that the light's surface does not follow is off the paper too, but far less than the ink. (A stain with
    # several times the ink's pixels still passes for it; a fifth, not a tenth, so that a few blots far darker than a
    # pencil's strokes do not.) Then the digit, from the pixels nearer that level than the paper's.
    toward = smooth * _column(sign)  # larger towards the ink
    clearly = toward > _column(paper * sign + np.maximum(noise, 0.08))
    furthest = _medians(toward, clearly, 0.8)  # inf where nothing is clearly off the paper, which stays so
    clearly &= toward > _column(paper * sign + 0.5 * np.maximum(furthest - paper * sign, 0.0))
    ink = _medians(flat, clearly)
    with np.errstate(invalid="ignore"):  # no ink found: the level is inf, and nothing is inked
        towards_ink = np.nan_to_num(np.sign(ink - paper))
        ruled = _paint_out_lines(flat, across, paper, ink)
        if ruled.any():  # the strokes are found again where lines were painted out
            smooth[ruled] = smoothed(flat[ruled])[1]
        # A stroke under 2.5 px wide never fills a 5x5 mean, and where it is thinnest falls short of halfway: the
        # digit would break apart there. A 3x3 mean holds it, and bridges no gap wider than a pixel.
        halfway = _column((paper + ink) / 2 * towards_ink)
        inked = (smooth * _column(towards_ink) > halfway) | (smoothed(flat, 3)[1] * _column(towards_ink) > halfway)
    digits, boxes, more = _digit_components(inked, flat, paper, towards_ink)
    found = np.array([box is not None for box in boxes], bool)
    sizes = np.array([max(box[2] - box[0], box[3] - box[1]) if box is not None else 0 for box in boxes])
    margins = np.maximum(1, np.round(0.015 * sizes)).astype(int)
    regions = np.zeros_like(digits)
    for margin in np.unique(margins[found]):
        chosen = found & (margins == margin)
        regions[chosen] = grown(digits[chosen], int(margin))
    # Medians of the full-resolution pixels: noise clipped at black or white does not move them, as it moves the
    # means of the coarse copy.
    step = max(1, height * width // 20000)
    sampled = (flat.reshape(count, -1)[:, ::step], ~regions.reshape(count, -1)[:, ::step])
    paper = np.where(found & sampled[1].any(axis=1), _medians(*sampled), paper)
    cores = digits.copy()
    large = digits.sum(axis=(1, 2)) > 50
    cores[large] = ~grown(~digits[large], 1)  # eroded by a 3x3 square
    thin = ~cores.any(axis=(1, 2))
    cores[thin] = digits[thin]
    ink = np.where(found, _medians(flat, cores), paper + 0.5 * sign)  # no ink: a level on the paper's far side
    analyses = []
    for index in range(count):
        box = boxes[index]
        if box is None:
            flags[index].append("no ink found: the page looks blank")
            box = (0, 0, height, width)
        else:
            if box[2] - box[0] < TOO_SMALL and box[3] - box[1] < TOO_SMALL and not flags[index]:
                flags[index].append(f"the ink is too small to be a digit (under {TOO_SMALL} px)")
            flags[index].extend(more[index])
        analyses.append(Analysis(tuple(float(v) for v in light[index]), float(paper[index]), float(ink[index]),
                                 tuple(int(v) for v in box), regions[index] if found[index] else None,
                                 float(noise[index]), tuple(flags[index])))
    amounts = np.subtract(flat, _column(paper), out=flat)
    with np.errstate(divide="ignore"):
        amounts *= _column(np.where(ink == paper, 0.0, 1 / (ink - paper)))
    np.clip(amounts, 0.0, 1.0, out=amounts)
    amounts[found] *= regions[found]
    return analyses, amounts


def light_paper(gray):
    """Whether a grayscale scan's paper is light, as polarity 'auto' finds it (see :func:`analyse`)."""
    return bool(_polarities(_coarse(np.asarray(gray, np.float32)[None])[0], "auto", [[]])[0][0])


def _coarse(grays):
    """``(coarse, factor)``: a (K, M, N) stack reduced by block means to about COARSE px, and by what factor."""
    factor = max(1, min(grays.shape[1:]) // COARSE)
    return block_mean(grays, factor), factor


def _polarities(coarse, polarity, flags):
    """``(paper_is_light, middle)`` for each image of the (K, M, N) ``coarse`` stack: whether its paper is light, as
    ``polarity`` says or ('auto') as the side the page's edges are on, where most are on one side and it holds
    PAPER_EDGES of the pixels (a bold digit cut out at its ink's box is half ink or more), else as the side most
    pixels are on; and its middle level, halfway between its 1st and 99th percentiles, as a (K, 1) column, which
    splits the paper's side from the ink's. Adds to ``flags`` where the polarity is doubtful."""
    values = coarse.reshape(len(coarse), -1)
    last = values.shape[1] - 1
    ranks = [int(0.01 * last), last // 2, (last + 1) // 2, int(0.99 * last)]
    low, below, above, high = np.sort(values, axis=1)[:, ranks].T  # the 1st, 50th and 99th percentiles
    median = (below + above) / 2
    middle = ((low + high) / 2)[:, None]
    edges = np.concatenate([coarse[:, 0], coarse[:, -1], coarse[:, 1:-1, 0], coarse[:, 1:-1, -1]], axis=1)
    edges_light = (edges > middle).mean(axis=1)
    edges_on_light, edges_on_dark = edges_light >= EDGES_ON_ONE_SIDE, 1 - edges_light >= EDGES_ON_ONE_SIDE
    light = (values > middle).mean(axis=1)
    by_edges = np.where(edges_on_light, light >= PAPER_EDGES, edges_on_dark & (1 - light >= PAPER_EDGES))
    most_light = high - median < median - low  # most pixels, the paper, sit nearer the light end
    looks_light = np.where(by_edges, edges_on_light, most_light)
    paper_is_light = looks_light if polarity == "auto" else np.full(len(values), polarity == "dark-on-light")
    contrasty = high - low > 0.05
    clear = contrasty & (by_edges | (np.abs((high - median) - (median - low)) >= 0.2 * (high - low)))
    for index, reasons in enumerate(flags):
        if contrasty[index] and not clear[index] and polarity == "auto":
            reasons.append("polarity doubtful: as much of the page is dark as light")
        elif clear[index] and polarity != "auto" and paper_is_light[index] != looks_light[index]:
            reasons.append(f"polarity doubtful: set to {polarity}, but the page looks "
                           f"{'dark-on-light' if looks_light[index] else 'light-on-dark'}")
    return paper_is_light, middle


def _ruled(share):
    """Which rows of an image are ruled lines or page edges, from ``share``, the part of each row that ink covers:
    runs of rows covered almost from edge to edge, with paper (rows covered about as little as most rows, which
    noise covers in part) from 2 to LINE_WIDTH + 1 rows beyond them; at most
    LINE_WIDTH rows wide, or at the image's edge. A wider run inside the image, or one in a thick bar, is a stroke
    of a digit cropped tightly."""
    covered = share > LINE_COVER
    paper = (np.median(share) + LINE_COVER) / 2  # rows less covered than this are paper, with noise's specks
    starts = np.flatnonzero(covered & ~np.r_[False, covered[:-1]])
    ends = np.flatnonzero(covered & ~np.r_[covered[1:], False]) + 1
    lines = np.zeros_like(covered)
    for start, end in zip(starts, ends):
        beyond = [row for row in (*range(start - LINE_WIDTH - 1, start - 1), *range(end + 1, end + LINE_WIDTH + 1))
                  if 0 <= row < len(share)]
        at_edge = start == 0 or end == len(share)
        if (end - start <= LINE_WIDTH or at_edge) and end - start < len(share) / 2 and (share[beyond] < paper).all():
            lines[start:end] = True
    return lines


def smoothed(images, width=5):
    """``(across, smooth)``: a (K, M, N) stack smoothed along its rows (``width`` px, odd), then along its columns
    too, which makes a ``width`` x ``width`` mean."""
    across = _mean(images, 2, width)
    return across, _mean(across, 1, width)


def _mean(images, axis, width):
    """The mean of ``width`` pixels along ``axis`` of a (K, M, N) stack, the edges repeated (scipy's
    uniform_filter1d, mode 'nearest'): sums of shifted slices, a third faster on small images."""
    length, reach = images.shape[axis], width // 2
    ends = [np.repeat(np.take(images, [end], axis=axis), reach, axis=axis) for end in (0, length - 1)]
    padded = np.concatenate([ends[0], images, ends[1]], axis=axis)
    shifted = [padded[(slice(None),) * axis + (slice(offset, offset + length),)] for offset in range(width)]
    total = shifted[0] + shifted[1]
    for part in shifted[2:]:
        total += part
    total *= 1 / width
    return total


def _column(values):
    """Per-image values as a (K, 1, 1) float32 array, to broadcast over a stack of images without a float64 copy."""
    return np.asarray(values, np.float32)[:, None, None]


def _medians(values, masks, fraction=0.5):
    """The median of each of ``values``' (K, ...) images over its mask (the upper one for an even count; inf for an
    empty mask), or the order statistic a ``fraction`` of the way up: without ``np.median``'s overhead, the same
    whatever the other images are."""
    values, masks = values.reshape(len(values), -1), masks.reshape(len(masks), -1)
    counts = masks.sum(axis=1)
    if len(values) == 1:  # one partition beats sorting a large image
        chosen = values[0][masks[0]]
        return np.array([_median(chosen, fraction) if chosen.size else np.inf])
    if counts.max() < values.shape[1] // 2:  # few pixels masked: sort them alone, each image's row padded with inf
        chosen = values[masks]
        packed = np.full((len(values), max(1, counts.max())), np.inf, values.dtype)
        starts = np.cumsum(counts) - counts
        packed[np.repeat(np.arange(len(values)), counts), np.arange(len(chosen)) - np.repeat(starts, counts)] = chosen
        values, masks = packed, None
    ordered = np.sort(values if masks is None else np.where(masks, values, np.inf), axis=1)
    return ordered[np.arange(len(values)), (counts * fraction).astype(int)]


def _median(values, fraction=0.5):
    """The median of a 1-D array (the upper one for an even count), or the order statistic a ``fraction`` of the
    way up: one partition."""
    rank = int(len(values) * fraction)
    return np.partition(values, rank)[rank]


def grown(mask, pixels):
    """``mask`` grown by ``pixels`` in every direction (a square), as fast for a wide margin as for a thin one;
    a (K, M, N) stack image by image."""
    if pixels == 1 and mask.dtype == bool:  # the analysis' usual margin: shifted ORs, several times faster
        grown = mask.copy()
        grown[..., 1:, :] |= mask[..., :-1, :]
        grown[..., :-1, :] |= mask[..., 1:, :]
        down = grown.copy()
        grown[..., 1:] |= down[..., :-1]
        grown[..., :-1] |= down[..., 1:]
        return grown
    size = 2 * pixels + 1
    return ndimage.maximum_filter(mask, (1, size, size) if mask.ndim == 3 else size)


def block_mean(image, factor):
    """Integer-factor reduction by block averaging of the last two axes; a remainder of fewer than ``factor`` rows
    or columns is dropped."""
    if factor == 1:
        return image
    *lead, rows, cols = image.shape
    rows, cols = (rows // factor) * factor, (cols // factor) * factor
    # Sums of strided slices: numpy reduces a reshaped block's short axes several times slower.
    across = sum(image[..., :rows, offset:cols:factor] for offset in range(factor))
    return sum(across[..., offset:rows:factor, :] for offset in range(factor)) * (1 / factor**2)


def _fit_light(coarse, factor, shape, paper_is_light, middle, rounds=2):
    """Fit a quadratic surface to each image's paper pixels, again and again without those it does not fit (the
    ink, specks). Returns the (K, 6) coefficients, each surface scaled to average 1, the paper levels under
    average light, and the noise's standard deviations on the paper. ``coarse`` holds K scans of ``shape``
    reduced ``factor`` times; ``middle`` their middle levels, as ``_polarities`` finds them."""
    count = len(coarse)
    reduced = max(1, min(coarse.shape[1:]) // FIT)
    coarse = block_mean(coarse, reduced)
    terms, monomials, pairs, grid = _surface_terms(coarse.shape[1:], factor * reduced, shape)
    values = coarse.reshape(count, -1).astype(np.float64)
    sign = np.where(paper_is_light, 1.0, -1.0)[:, None]
    # The paper's level, to start from: the median of the pixels on its side of the middle (the ink may be most of
    # the pixels, in a bold digit cut out at its box).
    centre = _medians(values, (values - middle) * sign >= 0)
    paper = (values - centre[:, None]) * sign > -0.5 * np.ptp(values, axis=1)[:, None]  # all but strong ink
    coefficients = np.zeros((count, 6))
    coefficients[:, 0] = centre
    noise, running = np.zeros(count), np.ones(count, bool)
    for _ in range(rounds):
        running &= paper.sum(axis=1) >= 12
        if not running.any():
            break
        # Normal equations from sums of the surface's monomials over the paper. A product per image (a stack of
        # (1, pixels) rows) sums each image alike whatever the others are; one (K, pixels) product would not.
        weights = paper.astype(float)[:, None, :]
        normal = (weights @ monomials)[:, 0, pairs] + 1e-9 * np.eye(6)
        solved = np.linalg.solve(normal, ((weights * values[:, None, :]) @ terms).transpose(0, 2, 1))[..., 0]
        residual = values - _surfaces(solved, *grid).reshape(count, -1)
        deviation = residual.astype(np.float32)  # enough for the noise's level, and twice as fast to sort
        found = 1.4826 * _medians(np.abs(deviation - _medians(deviation, paper)[:, None]), paper).astype(float)
        coefficients[running], noise[running] = solved[running], found[running]
        paper[running] = (residual * sign > -np.maximum(3 * found, 0.01)[:, None])[running]
    level = (coefficients * terms.mean(axis=0)).sum(axis=1)  # each surface's mean over the copy
    noise *= reduced  # the copy averaged reduced x reduced pixels
    dark = np.abs(level) < 1e-6
    light = coefficients / np.where(dark, 1.0, level)[:, None]
    light[dark] = (1.0, 0, 0, 0, 0, 0)
    return light, level, noise


@functools.lru_cache(maxsize=16)
def _surface_terms(shape, factor, full_shape):
    """For a quadratic surface over a copy of ``shape`` made by averaging ``factor`` x ``factor`` blocks of an image
    of ``full_shape``: its (pixels, 6) terms 1, y, x, y², xy, x², each block at its centre, in the full image's
    coordinates, which run from 0 to 1 along each side as in ``light_field`` (the blocks leave out a remainder);
    the (pixels, 15) monomials of degree up to 4 whose sums make the normal equations; the (6, 6) indices of
    those monomials that each pair of terms multiplies to; and the blocks' row and column coordinates."""
    grid = tuple((np.arange(n) * factor + (factor - 1) / 2) / max(1, full - 1) for n, full in zip(shape, full_shape))
    rows, cols = (axis.ravel() for axis in np.meshgrid(*grid, indexing="ij"))
    powers = [(i, j) for i in range(5) for j in range(5 - i)]  # y**i * x**j
    monomials = np.stack([rows**i * cols**j for i, j in powers], axis=-1)
    exponents = [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
    pairs = np.array([[powers.index((i + k, j + m)) for k, m in exponents] for i, j in exponents])
    terms = monomials[:, [powers.index(power) for power in exponents]]
    return terms, monomials, pairs, grid


def _paint_out_lines(flat, across, paper, ink):
    """Paint out, in place, the ruled lines and page edges of each (K, M, N) ``flat`` image (see :func:`_ruled`). A
    line is found on the pixels smoothed along it only, which keep a thin line's full depth where noise breaks it,
    and its pixels are interpolated from the rows (or columns) on either side: the paper, and the strokes that
    cross it. ``across`` is ``flat`` smoothed along its rows (5 px). Returns which images held one."""
    towards_ink = np.sign(ink - paper)
    off_paper = _column(paper * towards_ink + 0.25 * np.abs(ink - paper))  # a quarter of the way to the ink
    ruled = np.zeros(len(flat), bool)
    for axis in (1, 2):  # rows, then columns
        along = across if axis == 1 else _mean(flat, 1, 5)
        share = np.count_nonzero(along * _column(towards_ink) > off_paper, axis=3 - axis) / flat.shape[3 - axis]
        for index in np.flatnonzero((share > LINE_COVER).any(axis=1)):
            lines = _ruled(share[index])
            if not lines.any():
                continue
            image = np.moveaxis(flat[index], axis - 1, 0)  # a view, whose rows run along the lines
            lines, kept = np.flatnonzero(lines), np.flatnonzero(~lines)
            # Each line between the nearest rows kept on either side (the one there is, at an edge).
            after = np.searchsorted(kept, lines)
            below, above = kept[np.maximum(after - 1, 0)], kept[np.minimum(after, len(kept) - 1)]
            weight = np.where(above > below, (lines - below) / np.maximum(above - below, 1), 0.0)[:, None]
            image[lines] = image[below] * (1 - weight) + image[above] * weight
            ruled[index] = True
    return ruled


def _digit_components(inked, flat, paper, towards_ink):
    """``(digits, boxes, flags)`` from each (K, M, N) mask's connected components: the one with the most ink, and
    the parts close to it that are large enough to be strokes; specks, far marks and blots of a darker ink are left
    out (``flat``, ``paper`` and ``towards_ink`` tell how far a pixel lies from the paper, towards the ink).
    ``boxes`` holds each digit's (top, left, bottom, right), or None where there is no ink."""
    count = len(inked)
    within = np.zeros((3, 3, 3), bool)
    within[1] = True  # connected within an image, never across images
    labels, total = ndimage.label(inked, structure=within)
    flags = [[] for _ in range(count)]
    if total == 0:
        return np.zeros_like(inked), [None] * count, flags
    areas = np.bincount(labels[inked], minlength=total + 1)[1:]
    image, top, left, bottom, right = np.array(
        [(s[0].start, s[1].start, s[2].start, s[1].stop, s[2].stop) for s in ndimage.find_objects(labels)]
    ).T
    # Each image's main component: the most ink, the first on a tie (labels run image by image, in raster order).
    order = np.lexsort((np.arange(total), -areas, image))
    first = np.r_[True, image[order][1:] != image[order][:-1]]
    main = np.zeros(count, int)
    main[image[order[first]]] = order[first]
    main = main[image]
    size = np.maximum(bottom - top, right - left)[main]
    candidate = (np.arange(total) != main) & (areas >= DIGIT_PART * areas[main])

    def box(index):  # a component's box in the stack
        return image[index], slice(top[index], bottom[index]), slice(left[index], right[index])

    def darkness(index):  # how far a component's pixels lie from the paper, towards the ink
        at, window = image[index], box(index)
        return (flat[window][labels[window] == index + 1] - paper[at]) * towards_ink[at]

    # A blot of a much darker ink: the means spread it over a ring as wide as a part of the digit, which its area
    # would pass for. Its darkest pixel is weighed against most of the main strokes' pixels (their 90th
    # percentile), not their darkest: another blot may touch them.
    # A round speck as thick as the strokes (see is_round) is left out too.
    typical = {}
    for index in np.flatnonzero(candidate):
        if main[index] not in typical:
            typical[main[index]] = np.percentile(darkness(main[index]), 90)
        candidate[index] = (darkness(index).max() < ANOTHER_INK * typical[main[index]]
                            and not is_round(labels[box(index)] == index + 1))
    gap = np.maximum.reduce([top - bottom[main], top[main] - bottom, left - right[main], left[main] - right,
                             np.zeros(total, int)])
    digit_sized = (areas >= DIGIT_SIZED * areas[main]) & (bottom - top >= 0.6 * (bottom - top)[main])
    beside = (left >= right[main] - 0.1 * size) | (right <= left[main] + 0.1 * size)
    another = candidate & digit_sized & beside
    for index in np.unique(image[another]):
        flags[index].append("several separate digit-sized marks: one image should hold one digit")
    kept = np.zeros(total + 1, bool)
    kept[1:] = (np.arange(total) == main) | (candidate & ~another & (gap <= 0.5 * size))
    digits = np.take(kept, labels)  # twice as fast as kept[labels]
    boxes = boxes_of(digits)
    return digits, boxes, flags


def boxes_of(masks):
    """The (top, left, bottom, right) of each of a (K, M, N) stack's masks, as a tuple of ints; None for an empty
    mask."""
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    boxes = np.stack([rows.argmax(axis=1), cols.argmax(axis=1), rows.shape[1] - rows[:, ::-1].argmax(axis=1),
                      cols.shape[1] - cols[:, ::-1].argmax(axis=1)], axis=1).tolist()
    return [tuple(box) if inked else None for box, inked in zip(boxes, rows.any(axis=1))]


def is_round(mask):
    """Whether the mark in ``mask`` (one component, cut out at its box) is round: no longer than ROUND times its
    thickness, twice its deepest pixel's distance from its outline. On a small digit a speck as thick as the
    strokes has the ink of a part of the digit, but a part of a digit is a piece of stroke, longer than thick."""
    thickness = 2 * ndimage.distance_transform_edt(np.pad(mask, 1)).max()
    return max(mask.shape) <= ROUND * thickness


def digit_parts(inked):
    """The connected components of ``inked`` large enough to be part of the digit (as the analysis keeps them):
    dust specks and fragments the analysis could not tell apart at its coarser resolution are left out, and so
    are round specks beside the largest component."""
    labels, count = ndimage.label(inked, structure=np.ones((3, 3)))
    if count < 2:
        return inked
    areas = np.bincount(labels.ravel())
    areas[0] = 0
    kept = areas >= DIGIT_PART * areas.max()
    largest, windows = int(areas.argmax()), ndimage.find_objects(labels)
    for index in np.flatnonzero(kept):
        if index != largest and is_round(labels[windows[index - 1]] == index):
            kept[index] = False
    return kept[labels]


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
