"""MNIST framing: where a digit's ink lies, to a fraction of a pixel, and the resampling that puts it in 28x28.

MNIST's recipe fits the ink's box (its longer side) to 20 px and centres its
centre of mass in 28x28. :func:`frame_many` does that for many images at once,
each exactly as alone; :func:`placing` maps a framed digit back onto the scan.
Framed digits whose strokes are much thinner than MNIST's (a fine pen) are
told apart here too (:func:`faint`).
"""

import numpy as np
from scipy import ndimage

from digit_denoise.models import MODEL_SIZE

from .analysis import block_mean, smoothed
from .scans import COARSE_SIZE

DIGIT_SIZE = 20
FRAME_CENTRE = (MODEL_SIZE - 1) / 2
THIN_PEAK = 0.8  # a framed digit fainter than this at its 99.5th percentile has strokes thinner than MNIST's
THIN = ("strokes too thin for the 28x28 model (a fine pen): the output may be faint, or lose them; "
        "--size original keeps them")
INK_THRESHOLD = 0.2  # below this, a pixel does not weigh in the centre of mass
FULL_STROKE = 0.8  # a digit whose strokes' 5x5 mean is under this has strokes too thin to fill one
INK_LEVEL = 0.45  # a 5x5 mean above this is ink, when finding the digit's box (0.45 keeps a clean page's digit at
# the scale it had when the box was a 3x3 mean above 0.5, in whole pixels: a median ratio of 1.000 on 120 pages)
SHRUNK_INK = 30  # px: a digit shrunk before framing keeps 1.5x the resolution it is framed to
STACKED_PIXELS = 1 << 18  # scans of one size are analysed this many pixels at a time (64 of 64x64)


def frame_like_mnist(gray, *, fast=True, box=None):
    """MNIST's recipe: fit the ink's longer side to 20 px and centre its centre of mass in 28x28.

    Where the 28x28 window reaches past the image's edges (a digit cropped
    tightly), it reads paper (0), as MNIST's margins are. With ``fast``, a
    large digit is first reduced by an integer factor with block averaging
    (keeping 1.5 times the final resolution), which makes the anti-aliased
    resampling that follows cheap at the same quality.

    ``box`` is the ink's ``(top, left, bottom, right)`` in ``gray``, when already
    known. Returns the digit and ``(scale, centre_row, centre_col)``: model
    pixels per input pixel, and where the centre of mass lies in the input.
    """
    (digit,), (placement,) = frame_many([gray], [box], fast=fast)
    return digit, placement


def frame_many(grays, boxes, *, fast):
    """``frame_like_mnist`` for lists of images and boxes (None where unknown): lists of digits and placements.
    Images of one shape are framed at once, each exactly as alone."""
    digits, placements, groups = [None] * len(grays), [None] * len(grays), {}
    for index, gray in enumerate(grays):
        coarse = min(gray.shape) // COARSE_SIZE
        if fast and coarse > 1:
            factor = mnist_reduction(ink_box(block_mean(gray, coarse)), coarse)
            if factor > 1:
                digit, placement = frame_like_mnist(block_mean(gray, factor), fast=False)
                digits[index], placements[index] = digit, enlarged(placement, factor)
                continue
        groups.setdefault(gray.shape, []).append(index)
    for shape, group in groups.items():
        for indices in stacks(group, shape):
            stack = np.stack([grays[index] for index in indices])
            known = [boxes[index] for index in indices]
            if any(box is None for box in known):
                known = ink_boxes(stack)
            for index, digit, placement in zip(indices, *_frame_stack(stack, np.array(known))):
                digits[index], placements[index] = digit, placement
    return digits, placements


def _frame_stack(grays, boxes):
    """MNIST framing of a (K, M, N) stack whose ink lies in the (K, 4) ``boxes``: the (K, 28, 28) digits and the
    placements."""
    rows, cols = np.arange(grays.shape[1]), np.arange(grays.shape[2])
    top, left, bottom, right = boxes.T
    scales = DIGIT_SIZE / np.maximum(bottom - top, right - left)
    weight = np.clip(grays - INK_THRESHOLD, 0.0, None)
    # The centre of mass of the pixels whose centres lie in the ink's box (its sides lie between pixels' edges).
    weight *= ((rows + 0.5 >= top[:, None]) & (rows + 0.5 < bottom[:, None]))[:, :, None]
    weight *= ((cols + 0.5 >= left[:, None]) & (cols + 0.5 < right[:, None]))[:, None, :]
    down, across = weight.sum(axis=2), weight.sum(axis=1)
    total = down.sum(axis=1)
    weighed = total > 0
    centre_rows, centre_cols = (top + bottom - 1) / 2, (left + right - 1) / 2
    centre_rows[weighed] = (down * rows).sum(axis=1)[weighed] / total[weighed]
    centre_cols[weighed] = (across * cols).sum(axis=1)[weighed] / total[weighed]
    # Anti-aliasing and resampling are separable: two small matrix products do both.
    digits = (_sampling(grays.shape[1], centre_rows, scales) @ grays
              @ _sampling(grays.shape[2], centre_cols, scales).transpose(0, 2, 1))
    return digits, [(float(s), float(r), float(c)) for s, r, c in zip(scales, centre_rows, centre_cols)]


def faint(digits):
    """For each of a list of framed digits, whether its strokes are much thinner than MNIST's (a fine pen on a large
    digit: under a pixel wide once framed, and faint, which the models take for noise)."""
    if not digits:
        return np.zeros(0, bool)
    peaks = _peaks(digits)
    return (peaks >= 0.05) & (peaks < THIN_PEAK)


def thickened(digit):
    """A faint framed digit widened by a pixel on each side and brought back to full strength."""
    widened = ndimage.grey_dilation(digit, size=(3, 3))
    peak = _peaks([widened])[0]
    return np.clip((widened - 0.25 * peak) / (0.75 * peak), 0.0, 1.0)  # the faint rims the widening spread go


def _peaks(digits):
    """The 99.5th percentile of each of a list of framed digits, near enough: its 780th value of 784."""
    values = np.reshape(digits, (len(digits), -1))
    rank = int(0.995 * (values.shape[1] - 1))
    return np.partition(values, rank, axis=1)[:, rank]


def _sampling(length, centres, scales):
    """The (K, 28, length) matrices that frame one axis of K images: row r of image k reads the input at
    ``centres[k] + (r - FRAME_CENTRE) / scales[k]`` by linear interpolation, after a Gaussian blur of sigma
    ``(1 / scale - 1) / 2`` when shrinking (the anti-aliasing of skimage.transform.resize); beyond its edges the
    input is 0, paper. The same as ``scipy.ndimage.gaussian_filter`` (mode 'constant') then
    ``affine_transform(order=1, mode='grid-constant')``."""
    centres, scales = np.atleast_1d(centres), np.atleast_1d(scales)
    position = centres[:, None] + (np.arange(MODEL_SIZE) - FRAME_CENTRE) / scales[:, None]
    below = np.floor(position)
    taps = below[..., None].astype(np.intp) + [0, 1]
    weights = np.stack([1.0 - (position - below), position - below], axis=-1) * ((taps >= 0) & (taps < length))
    sigmas = np.where(scales < 1, (1 / scales - 1) / 2, 0.0)
    radii = (4 * sigmas + 0.5).astype(int)  # scipy's radius, truncate=4
    matrices = np.empty((len(scales), MODEL_SIZE, length))
    for radius in np.unique(radii):  # images blurred alike are sampled at once
        chosen = np.flatnonzero(radii == radius)
        chosen_taps, chosen_weights = taps[chosen], weights[chosen]
        if radius > 0:
            offsets = np.arange(-radius, radius + 1)
            kernels = np.exp(-0.5 * (offsets / sigmas[chosen, None]) ** 2)
            chosen_taps = chosen_taps[..., None] + offsets
            chosen_weights = chosen_weights[..., None] * (kernels / kernels.sum(axis=1, keepdims=True))[:, None, None]
            chosen_weights = chosen_weights * ((chosen_taps >= 0) & (chosen_taps < length))
        cells = (np.arange(len(chosen))[:, None] * MODEL_SIZE + np.arange(MODEL_SIZE)) * length
        index = cells.reshape(len(chosen), MODEL_SIZE, *[1] * (chosen_taps.ndim - 2)) + np.clip(chosen_taps, 0,
                                                                                                  length - 1)
        matrices[chosen] = np.bincount(index.ravel(), chosen_weights.ravel(), len(chosen) * MODEL_SIZE * length
                                       ).reshape(len(chosen), MODEL_SIZE, length)
    return matrices


def placing(pixels, centre, scale):
    """The (len(pixels), 28) matrix that undoes the framing along one axis: input pixel i reads the frame at
    ``FRAME_CENTRE + (i - centre) * scale`` by linear interpolation, and is 0 (paper) off the frame. The
    same as ``scipy.ndimage.affine_transform(order=1, mode='constant')``."""
    position = FRAME_CENTRE + (pixels - centre) * scale
    on_frame = np.flatnonzero((position >= 0) & (position <= MODEL_SIZE - 1))
    below = np.clip(np.floor(position[on_frame]), 0, MODEL_SIZE - 2).astype(np.intp)
    fraction = position[on_frame] - below
    matrix = np.zeros((len(pixels), MODEL_SIZE), np.float32)
    matrix[on_frame, below] = 1.0 - fraction
    matrix[on_frame, below + 1] = fraction
    return matrix


def mnist_reduction(coarse_box, coarse_factor, keep=SHRUNK_INK):
    """How far a digit may be reduced: its ink, boxed on a copy ``coarse_factor`` times smaller, stays at ``keep``
    px or more."""
    top, left, bottom, right = coarse_box
    return max(1, int(max(bottom - top, right - left) * coarse_factor // keep))


def enlarged(placement, factor):
    """A placement found on an image reduced ``factor`` times, in the full image's coordinates.

    Pixel i of the reduced image covers full pixels i*factor .. i*factor + factor - 1.
    """
    scale, row, col = placement
    return scale / factor, row * factor + (factor - 1) / 2, col * factor + (factor - 1) / 2


def ink_box(gray):
    """(top, left, bottom, right) of the ink; the whole image for a blank page."""
    return ink_boxes(gray[None])[0]


def ink_boxes(grays):
    """``ink_box`` of each image of a (K, M, N) stack, to a fraction of a pixel: each side lies where the 5x5 mean
    of the most inked row (or column) crosses INK_LEVEL (less, for strokes too thin to fill a 5x5 mean),
    interpolated linearly between the two rows on either side of it. A box in whole pixels would move by a pixel,
    and the frame's scale by several percent, as noise tips a row over the level or not; the 5x5 mean makes that
    noise small."""
    means = smoothed(grays)[1]
    rows = means.max(axis=2).astype(np.float64)
    # Strokes under 2.5 px wide never fill a 5x5 mean: for them the level is lowered as much as their mean falls short
    # (the strokes' mean: the median of the rows' strongest means, over the rows the digit crosses).
    crossed = rows >= 0.25 * rows.max(axis=1, keepdims=True)  # at least one row, the strongest
    ordered = np.sort(np.where(crossed, rows, np.inf), axis=1)
    stroke = ordered[np.arange(len(rows)), crossed.sum(axis=1) // 2]
    level = INK_LEVEL * np.clip(stroke / FULL_STROKE, 0.1, 1.0)  # never down to a blank page's noise
    sides = []
    for profiles in (rows, means.max(axis=1).astype(np.float64)):  # (K, M) rows, then (K, N) columns
        inked = profiles > level[:, None]
        length = profiles.shape[1]
        first, last = inked.argmax(axis=1), length - 1 - inked[:, ::-1].argmax(axis=1)
        at = np.arange(len(profiles))
        before, after = profiles[at, np.maximum(first - 1, 0)], profiles[at, np.minimum(last + 1, length - 1)]
        with np.errstate(divide="ignore", invalid="ignore"):  # at the image's edges, where nothing lies beyond
            start = np.where(first > 0, first - 0.5 + (level - before) / (profiles[at, first] - before), 0.0)
            end = np.where(last < length - 1,
                           last + 0.5 + (profiles[at, last] - level) / (profiles[at, last] - after), float(length))
        found = inked.any(axis=1)
        sides.append((np.where(found, start, 0.0), np.where(found, end, float(length))))
    (tops, bottoms), (lefts, rights) = sides
    return list(zip(tops.tolist(), lefts.tolist(), bottoms.tolist(), rights.tolist()))


def stacks(items, shape):
    """``items``, for images of ``shape``, in parts of at most ``STACKED_PIXELS`` pixels: what is stacked at once."""
    at_once = max(1, STACKED_PIXELS // (shape[0] * shape[1]))
    return [items[start : start + at_once] for start in range(0, len(items), at_once)]
