"""The scan adapter: scikit-image preprocessing between scans and the 28x28 model world.

``ScanAdapter.before`` turns a scan of any size, dtype and channel layout into
a 28x28 float32 digit, light on dark in [0, 1], as MNIST models expect, and
returns a ``Frame`` that remembers how. ``ScanAdapter.after`` uses that frame to
turn the model's output back into an image in the input's polarity and dtype,
at 28x28 or at the input's size.
"""

import dataclasses

import numpy as np
from scipy import ndimage
from skimage import transform

from digit_denoise.models import MODEL_SIZE

from .analysis import Analysis, analyse_stack, digit_parts, grown, light_field, light_paper, without_bumps
from .errors import ScanError
from .framing import (SHRUNK_INK, THIN, enlarged, faint, frame_many, ink_box, ink_boxes, mnist_reduction, placing,
                      stacks, thickened)
from .scans import Scan, float_peak, read_scans, to_dtype, to_grayscale

ANALYSED_INK = 96  # px: at size 'original', the copy the page is analysed on keeps the digit this large
STATISTICS_SAMPLE = 1 << 14


@dataclasses.dataclass(frozen=True)
class Frame:
    """What ``before`` did to one image, so that ``after`` can undo it."""

    shape: tuple
    dtype: np.dtype
    inverted: bool
    low: float
    high: float
    placement: tuple = None  # mnist framing: (model pixels per input pixel, centre row, centre col)
    peak: float = 1.0  # a float image's white: 1, or 255 or 65535 for one that holds 8- or 16-bit values
    analysis: Analysis = None  # normalize 'levels': the page's light, paper and ink levels, the digit's strokes
    sharp: np.ndarray = None  # size 'original' with 'levels': the strokes' ink amount at full resolution, uint8,
    window: tuple = None  # in this (top, left, bottom, right) window of the scan around the digit
    model_input: np.ndarray = None  # with 'levels': the digit as the model got it, and how far to trust the
    trust: float = 1.0  # model's change to it (0 to 1, from the noise the model was shown)
    metadata: dict = None  # size 'original': the file's dpi and ICC profile, for the output to keep

    @property
    def flags(self):
        """Why the scan does not look like one digit (``analysis.flags``); empty when it does."""
        return self.analysis.flags if self.analysis is not None else ()


@dataclasses.dataclass
class _Seen:
    """What the adapter worked out of a scan's pixels before framing them."""

    gray: np.ndarray  # light on dark, normalized
    inverted: bool
    low: float
    high: float
    analysis: Analysis = None
    box: tuple = None


@dataclasses.dataclass(frozen=True)
class ScanAdapter:
    """Preprocessing of scans for 28x28 digit models, and its inverse.

    Parameters
    ----------
    polarity : {'auto', 'dark-on-light', 'light-on-dark'}
    normalize : {'percentile', 'minmax', 'none'}
    percentiles : (float, float)
    framing : {'mnist', 'resize', 'none'}
    size : {'model', 'original'}
    fast : bool
        Reduce large digits by block averaging before the anti-aliased
        resampling (same quality within a fraction of a dB, several times faster).

    See :class:`digit_denoise.Settings` for what each option means.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = ScanAdapter()
    >>> scan = np.full((64, 48), 230, dtype=np.uint8)
    >>> scan[20:44, 20:26] = 30  # a dark stroke on light paper
    >>> digit, frame = adapter.before(scan)
    >>> digit.shape, digit.dtype, frame.inverted
    ((28, 28), dtype('float32'), True)
    >>> adapter.after(digit, frame).dtype
    dtype('uint8')
    """

    polarity: str = "auto"
    normalize: str = "levels"
    percentiles: tuple = (2.0, 99.8)
    framing: str = "mnist"
    size: str = "model"
    levels: str = "restore"
    fast: bool = True

    @classmethod
    def from_settings(cls, settings):
        """The adapter for ``settings``: every field of both that shares a name."""
        names = {field.name for field in dataclasses.fields(cls)} & set(settings.to_dict())
        return cls(**{name: getattr(settings, name) for name in names})

    def before(self, image: "np.ndarray | Scan") -> "tuple[np.ndarray, Frame]":
        """Scan to model input.

        Parameters
        ----------
        image : (M, N) or (M, N, C) ndarray, C in {1, 3, 4}; or a Scan
            Any dtype that ``img_as_float`` accepts; alpha is composited on
            white. A ``Scan`` from ``read_scan`` may come shrunk on decoding;
            the frame then records the file's full geometry.

        Returns
        -------
        digit : (28, 28) float32 ndarray in [0, 1], light on dark
        frame : Frame
            What ``after`` needs to undo the preprocessing.

        Raises
        ------
        ScanError
            For a shape that is not an image, or (framing 'none') not 28x28.
        """
        scan = image if isinstance(image, Scan) else Scan(np.asarray(image), np.shape(image)[:2])
        return _raised(self._before_many([scan])[0])

    def read(self, source, *, max_pixels: int = 50_000_000) -> "tuple[np.ndarray, Frame]":
        """Decode an image file (path or binary file object) and adapt it: ``before(read_scan(...))``,
        with large scans shrunk on decoding as far as this adapter allows. Raises ``ScanError``."""
        return _raised(self.read_many([source], max_pixels=max_pixels)[0])

    def read_many(self, sources, *, max_pixels: int = 50_000_000) -> list:
        """``read`` for several files: for each, ``(digit, frame)``, or the exception that stopped it (a
        ``ScanError`` naming the file, or whatever else its decoder raised). Scans of one size are analysed
        together, several times faster than one by one, and each exactly as ``read`` would on its own."""
        known = {}  # id of a coarse copy -> (the copy, held so that its id stays its own; what _look_many found)

        def reductions(copies):
            factors, seens = self._reductions(copies)
            known.update((id(coarse), (coarse, seen)) for (coarse, _), seen in zip(copies, seens) if seen is not None)
            return factors

        # An output at the scan's own size takes its sharpness from the full-resolution pixels.
        keep_full = self.size == "original" and self.normalize == "levels"
        scans = read_scans(sources, max_pixels=max_pixels, reductions=reductions, keep_full=keep_full)

        def seen_of(scan):  # a scan that comes back as the very copy the reduction analysed is not analysed twice
            copy, seen = known.get(id(scan.pixels), (None, None))
            return seen if copy is scan.pixels else None

        return self._before_many(scans, [None if isinstance(scan, Exception) else seen_of(scan) for scan in scans])

    def reduction(self, coarse, coarse_factor):
        """The integer factor by which a scan may be shrunk before ``before`` at no loss.

        ``coarse`` is the scan reduced ``coarse_factor`` times. The factor keeps
        the ink at 30 px or more (1.5 times the 20 px it is framed to), or for
        framing 'resize' the image at 56 px or more; framing 'none' and
        ``fast=False`` never shrink.
        """
        return _raised(self._reductions([(coarse, coarse_factor)])[0][0])

    def _reductions(self, copies):
        """``(factors, seens)`` for a list of ``(coarse, coarse_factor)``: each factor as ``reduction`` finds it (or
        the exception that stopped it), and with mnist framing what ``_before_many`` needs of each coarse copy."""
        if not self.fast or self.framing == "none":
            return [1] * len(copies), [None] * len(copies)
        if self.framing == "resize":
            factors = [max(1, min(coarse.shape[:2]) * factor // (2 * MODEL_SIZE)) for coarse, factor in copies]
            return factors, [None] * len(copies)
        seens = self._look_many([coarse for coarse, _ in copies])
        keep = ANALYSED_INK if self.size == "original" else SHRUNK_INK  # the strokes' region must fit the page
        # A digit that the coarse copy already holds large enough is framed from that copy: shrinking it further
        # would gain little and cost a second analysis.
        factors = [seen if isinstance(seen, Exception) else min(factor, mnist_reduction(seen.box, factor, keep))
                   for (_, factor), seen in zip(copies, seens)]
        return factors, [None if isinstance(seen, Exception) else seen for seen in seens]

    def _before_many(self, scans, seens=None):
        """``before`` for a list of scans: for each, ``(digit, frame)`` or the exception raised for it (an exception
        in place of a scan is passed on). ``seens`` holds what ``_look_many`` found, where already known."""
        seens = list(seens or [None] * len(scans))
        todo = [index for index, scan in enumerate(scans) if not isinstance(scan, Exception) and seens[index] is None]
        for index, seen in zip(todo, self._look_many([scans[index].pixels for index in todo])):
            seens[index] = seen
        results = [scan if isinstance(scan, Exception) else seen for scan, seen in zip(scans, seens)]
        ready = [index for index, result in enumerate(results) if not isinstance(result, Exception)]
        frames = {index: self._frame_fields(scans[index], seens[index]) for index in ready}
        digits = {}
        if self.framing == "mnist":
            framed = frame_many([seens[index].gray for index in ready], [seens[index].box for index in ready],
                                fast=self.fast)
            for index, digit, placement, thin in zip(ready, *framed, faint(framed[0])):
                analysis = frames[index]["analysis"]
                if analysis is not None and seens[index].analysis.region is not None and thin:
                    if self.size == "original":  # the model's result only guides which full-resolution strokes
                        digit = thickened(digit)  # are the digit: it must not take these for noise
                    else:
                        frames[index]["analysis"] = dataclasses.replace(analysis, flags=(*analysis.flags, THIN))
                digits[index] = digit
                frames[index].update(placement=enlarged(placement, scans[index].reduced_by))
        else:
            for index in ready:
                gray = seens[index].gray
                if self.framing == "resize":
                    digits[index] = transform.resize(gray, (MODEL_SIZE, MODEL_SIZE), anti_aliasing=True)
                elif gray.shape == (MODEL_SIZE, MODEL_SIZE):
                    digits[index] = gray
                else:
                    results[index] = ScanError(
                        f"framing 'none' needs a 28x28 image, got {gray.shape[0]}x{gray.shape[1]}")
        for index, digit in digits.items():
            scan, seen, frame = scans[index], seens[index], frames[index]
            digit = np.asarray(digit, np.float32)
            if seen.analysis is not None:
                scale = (frame["placement"][0] * scan.reduced_by if "placement" in frame
                         else MODEL_SIZE / max(seen.gray.shape))
                frame.update(model_input=digit, trust=_trust(seen.analysis, min(1.0, scale)))
            results[index] = digit, Frame(**frame)
        return results

    def _frame_fields(self, scan, seen):
        """The fields of a scan's ``Frame`` that framing does not set; at size 'original', its sharp strokes."""
        frame = dict(shape=tuple(scan.shape), dtype=scan.pixels.dtype, inverted=seen.inverted, low=seen.low,
                     high=seen.high, peak=float_peak(scan.pixels),
                     analysis=seen.analysis and dataclasses.replace(seen.analysis, region=None),  # after needs no mask
                     metadata=scan.metadata if self.size == "original" else None)
        if seen.analysis is not None and seen.analysis.region is not None and self.size == "original":
            full = scan.full if scan.full is not None else scan.pixels if scan.reduced_by == 1 else None
            if full is not None:
                analysis = seen.analysis.at_full_resolution(full, scan.reduced_by)
                frame.update(zip(("sharp", "window"), _sharpened(full, analysis, scan.reduced_by)),
                             analysis=dataclasses.replace(analysis, region=None))
        return frame

    def _look_many(self, images):
        """For each image: grayscale, light on dark, normalized, with what was learnt on the way (a ``_Seen``, its
        ink box found for mnist framing), or the ``ScanError`` it raised. Images of one size are analysed at once,
        a few million pixels at a time."""
        seens, groups = [None] * len(images), {}
        for index, image in enumerate(images):
            try:
                gray = to_grayscale(image, np.float32 if self.normalize == "levels" else np.float64)
            except ScanError as error:
                seens[index] = error
                continue
            if self.normalize == "levels":
                groups.setdefault(gray.shape, []).append((index, gray))
            else:
                seens[index] = self._normalized(image, gray)
                if self.framing == "mnist":
                    seens[index].box = ink_box(seens[index].gray)
        for shape, group in groups.items():
            for part in stacks(group, shape):
                analyses, amounts = analyse_stack(np.stack([gray for _, gray in part]), polarity=self.polarity)
                boxes = ink_boxes(amounts) if self.framing == "mnist" else [None] * len(part)
                for (index, _), analysis, amount, box in zip(part, analyses, amounts, boxes):
                    low, high = sorted((analysis.paper, analysis.ink))
                    seens[index] = _Seen(amount, analysis.inverted, low, high, analysis, box)
        return seens

    def _normalized(self, image, gray):
        """The ``_Seen`` of normalize 'percentile', 'minmax' or 'none': levels from the intensity statistics."""
        # Intensity statistics from at most ~16k evenly spread pixels: as good, and much cheaper on large scans.
        # 8-bit gray scans get them from the raw bytes, through a histogram.
        bytes_ = image.dtype == np.uint8 and image.ndim == 2
        raw = image if bytes_ else gray
        sample = raw.ravel()[:: max(1, raw.size // STATISTICS_SAMPLE)]
        low_p, high_p = self.percentiles if self.normalize == "percentile" else (0.0, 100.0)
        # One pass for both polarities' percentiles (inverting maps percentile p to 1 - (100 - p)).
        low, high, low_inverted, high_inverted = percentiles(
            sample, [low_p, high_p, 100.0 - high_p, 100.0 - low_p]
        ) / (255.0 if bytes_ else 1.0)
        inverted = light_paper(gray) if self.polarity == "auto" else self.polarity == "dark-on-light"
        if inverted:
            gray, low, high = 1.0 - gray, 1.0 - high_inverted, 1.0 - low_inverted
        if self.normalize == "none":
            low, high = 0.0, 1.0
        low, high = float(low), float(high)
        if high > low:
            gray = np.clip((gray - low) / (high - low), 0.0, 1.0)
        return _Seen(gray, bool(inverted), low, high)

    def after(self, digit: np.ndarray, frame: Frame) -> np.ndarray:
        """Model output to the image to write.

        Parameters
        ----------
        digit : (28, 28) float ndarray in [0, 1], light on dark
        frame : Frame
            From ``before`` on the same image.

        Returns
        -------
        image : 2-D ndarray
            28x28 (size 'model') or the input's height and width (size
            'original'); grayscale, in the input's polarity, intensity range and
            dtype (uint8, uint16 or float).
        """
        digit = np.clip(digit, 0.0, 1.0)
        if frame.analysis is not None:
            return self._after_levels(digit, frame)
        if self.size == "original":
            digit = self._unframe(digit, frame)
        if self.levels == "normalize":
            return _written(1.0 - digit if frame.inverted else digit, frame)
        if frame.high > frame.low:
            digit = digit * (frame.high - frame.low) + frame.low
        if frame.inverted:
            digit = 1.0 - digit
        return _written(digit, frame)

    def _after_levels(self, digit, frame):
        """``after`` for a frame with an analysis: ink amounts to the page's clean levels (restore) or to white and
        black (normalize); at size 'original' the strokes keep the scan's sharpness, the model's result guiding
        which of them are the digit."""
        analysis = frame.analysis
        if frame.model_input is not None:
            digit = frame.model_input + frame.trust * (digit - frame.model_input)
        paper, ink = analysis.paper, analysis.ink
        if self.levels == "normalize":
            paper, ink = (1.0, 0.0) if analysis.inverted else (0.0, 1.0)
        if self.size == "model":
            return _written(paper + (ink - paper) * digit, frame)
        if frame.sharp is None:
            page = paper + (ink - paper) * np.clip(4.0 * self._unframe(digit, frame), 0.0, 1.0)
        else:
            # The model's result, mapped back, says which of the sharp strokes are the digit; outside the window
            # around it lies clean paper.
            top, left, bottom, right = frame.window
            guide = np.clip(4.0 * self._unframe(digit, frame, frame.window), 0.0, 1.0)
            page = np.full(frame.shape, paper, np.float32)
            page[top:bottom, left:right] += (ink - paper) * (guide * (frame.sharp * np.float32(1 / 255)))
        if self.levels == "restore":
            page *= light_field(analysis.light, frame.shape, dtype=np.float32)
        return _written(page, frame)

    def _unframe(self, digit, frame, window=None):
        """The 28x28 ``digit`` mapped back onto the scan's geometry, or onto its ``window`` only."""
        top, left, bottom, right = window or (0, 0, *frame.shape)
        if frame.placement is None:
            return transform.resize(digit, frame.shape, anti_aliasing=False)[top:bottom, left:right]
        scale, row, col = frame.placement
        return (placing(np.arange(top, bottom), row, scale) @ digit.astype(np.float32)
                @ placing(np.arange(left, right), col, scale).T)


def _written(image, frame):
    """A [0, 1] float image in the frame's dtype and scale."""
    image = to_dtype(np.clip(image, 0.0, 1.0), frame.dtype)
    return image * frame.peak if frame.peak != 1 else image


MAX_STEEPNESS = 3.0  # at full resolution, stroke edges are steepened at most this much (a crisp pen's)
THIN_STROKES = 4.0  # strokes under this many times their smoothed edges' width wide have crisp edges
SOFT_SMOOTHING = 3.0  # soft edges w px wide are smoothed as far as w (then steepened back to w), at most this
# many times as far as the noise alone asks: a third of its grain left, and no second blur many pixels wide
BUMP = 4.5  # px: at full resolution, specks and stubs up to this radius that touch a stroke are taken off it
TRUST_NOISE = 0.005  # ink-amount noise in the model's input at which its result is taken whole


def _trust(analysis, scale):
    """How much of the model's change to keep: the models are blind denoisers, which also restyle a digit that
    was clean; so their change counts in proportion to the noise left in their input. ``scale`` is model pixels
    per analysed pixel; shrinking averages the noise away (a Gaussian of sigma ``(1 / scale - 1) / 2``)."""
    contrast = abs(analysis.ink - analysis.paper)
    if contrast == 0:
        return 1.0
    blur = (1 / scale - 1) / 2
    noise = analysis.noise / contrast / max(1.0, 2 * np.sqrt(np.pi) * blur)
    return float(np.clip(noise / TRUST_NOISE, 0.0, 1.0))


def _sharpened(full, analysis, factor):
    """``(strokes, window)``: the digit's strokes at full resolution, in a window around its box. ``full`` is the
    scan's full-resolution pixels, ``analysis`` was made on a copy ``factor`` times smaller. The ink amounts are
    flattened and normalized as the analysis says, kept in the digit's region, smoothed just enough for the
    noise they hold, and given edges as wide as the scan's own; uint8 (0-255) keeps a batch of large pages small."""
    rows, cols = full.shape[:2]
    top, left, bottom, right = analysis.box
    margin = max(2, (max(bottom - top, right - left) + 9) // 10)
    window = (max(0, (top - margin) * factor), max(0, (left - margin) * factor),
              min(rows, (bottom + margin) * factor), min(cols, (right + margin) * factor))
    pixels = full[window[0] : window[2], window[1] : window[3]]
    # Not clipped to [0, 1] before smoothing: that would lift the paper and the ink towards each other.
    amount = to_grayscale(pixels, np.float32)  # float32 halves the work on a large page
    amount /= light_field(analysis.light, (rows, cols), window, dtype=np.float32)
    amount -= np.float32(analysis.paper)
    amount *= np.float32(1 / (analysis.ink - analysis.paper))
    region = analysis.region
    inside = np.ix_(np.minimum(np.arange(window[0], window[2]) // factor, region.shape[0] - 1),
                    np.minimum(np.arange(window[1], window[3]) // factor, region.shape[1] - 1))
    amount *= region[inside]
    # Smoothed until the noise left is a twentieth of the contrast (a Gaussian of sigma s divides white noise by
    # 2 sqrt(pi) s), but never by more than a thirtieth of the digit, which would round its corners.
    contrast = abs(analysis.ink - analysis.paper)
    noise = analysis.noise * factor / max(contrast, 1e-3)  # in ink amounts, at full resolution
    digit_size = max(bottom - top, right - left) * factor  # px, at full resolution
    sigma = float(np.clip(noise / (0.05 * 2 * np.sqrt(np.pi)), 0.6, max(0.6, 0.03 * digit_size)))
    smooth = ndimage.gaussian_filter(amount, sigma, mode="nearest", truncate=3.0)
    # Edges as wide as the scan's own: a soft pen, a pencil or a blurred scan stays as soft. Soft edges are smoothed
    # further (the noise with them), then steepened back to their width; a crisp pen's, as steep as a pen's.
    width = _edge_width(smooth, sigma)
    further = min(width, SOFT_SMOOTHING * sigma)
    if further > sigma:
        smooth = ndimage.gaussian_filter(smooth, np.sqrt(further**2 - sigma**2), mode="nearest", truncate=3.0)
        sigma = further
    steepness = float(np.clip(np.hypot(width, sigma) / max(width, 1e-6), 1.0, MAX_STEEPNESS))
    strokes = np.clip((smooth - 0.5) * steepness + 0.5, 0.0, 1.0)
    # Specks and bumps go; on a large digit, whose strokes are wide, every other pixel is enough to tell them apart.
    step = 2 if digit_size >= 200 else 1
    inked = strokes[::step, ::step] > 0.5
    kept = without_bumps(digit_parts(inked), largest=BUMP / step)
    # The strokes' edges are kept down to their feet; not the feet of what was taken off, beyond a pixel or two.
    feet = -(-(max(2, round(0.5 * sigma), int(np.ceil(1.25 * width))) + step - 1) // step)  # in steps
    near = grown(kept, feet)
    removed = inked & ~kept
    if removed.any():
        near &= ~grown(removed, feet) | grown(kept, 1)
    if step > 1:
        near = np.repeat(np.repeat(near, step, axis=0), step, axis=1)[: strokes.shape[0], : strokes.shape[1]]
    strokes *= near
    return np.rint(strokes * 255).astype(np.uint8), window


def _edge_width(smooth, sigma):
    """The width of the scan's own stroke edges (as a Gaussian's sigma, px), from ``smooth``, its ink amounts
    smoothed by a Gaussian of ``sigma``: an edge w wide is sqrt(w² + sigma²) wide once smoothed, which its slope
    where it crosses halfway tells. Strokes less than THIN_STROKES times that wide never reach their full slope
    (nor their full ink): their edges count as crisp."""
    halfway = (smooth > 0.4) & (smooth < 0.6)
    count = np.count_nonzero(halfway)
    if count < 20:
        return 0.0
    row, col = np.nonzero(halfway[1:-1, 1:-1])  # central differences there only: the band is a small part
    row += 1
    col += 1
    down, across = smooth[row + 1, col] - smooth[row - 1, col], smooth[row, col + 1] - smooth[row, col - 1]
    slope = max(0.5 * float(np.median(np.hypot(down, across))), 1e-6)
    smoothed_width = 1 / (np.sqrt(2 * np.pi) * slope)
    # A stroke's width: twice its area over its outline's length, the halfway band's area over its width (0.2 / slope).
    stroke_width = 2 * np.count_nonzero(smooth > 0.5) / (count * slope / 0.2)
    if stroke_width < THIN_STROKES * smoothed_width:
        return 0.0
    return float(np.sqrt(max(smoothed_width**2 - sigma**2, 0.0)))


def percentiles(sample, q):
    """``np.percentile(sample, q)`` (linear interpolation); for uint8 from a histogram, several times faster."""
    if sample.dtype != np.uint8:
        return np.percentile(sample, q)
    cumulative = np.cumsum(np.bincount(sample, minlength=256))
    position = np.asarray(q, dtype=np.float64) / 100 * (sample.size - 1)
    below = np.floor(position)
    # The k-th smallest value (from 0) is the first whose cumulative count exceeds k.
    low = np.searchsorted(cumulative, below, side="right")
    high = np.searchsorted(cumulative, np.minimum(below + 1, sample.size - 1), side="right")
    return low + (high - low) * (position - below)


def _raised(result):
    """``result``, or raise it if it is an exception (the many-at-once paths return, not raise, what one file
    raised)."""
    if isinstance(result, Exception):
        raise result
    return result
