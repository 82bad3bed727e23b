"""Reading scans from disk and writing results back, atomically (Pillow); pixels to [0, 1] gray floats and back."""

import contextlib
import dataclasses
import functools
import os
import warnings
from pathlib import Path

import numpy as np
from skimage import color
from skimage.util import img_as_float, img_as_ubyte, img_as_uint

from .errors import ScanError
from .files import replace_atomically

# Formats Pillow opens that are not scans: vector, video, scientific containers, icons, game textures, and
# PostScript, which needs Ghostscript. Every other format Pillow reads is read.
NOT_SCANS = frozenset({"BLP", "BUFR", "CUR", "DCX", "DDS", "EPS", "FITS", "FLI", "FTEX", "GBR", "GRIB", "HDF5",
                       "ICNS", "ICO", "IM", "IPTC", "MPEG", "MSP", "PIXAR", "WMF"})
KEPT_METADATA = ("dpi", "icc_profile")  # what an output of the scan's own geometry keeps of its file
COARSE_SIZE = 64  # px: the shorter side of the coarse copy that decides how far a large scan may shrink


@dataclasses.dataclass(frozen=True)
class Scan:
    """A decoded scan. ``pixels`` is the image, shrunk ``reduced_by`` times on decoding
    by block averaging when that loses nothing the model can see; ``shape`` is the
    (rows, columns) of the file's full image, which outputs at original size keep."""

    pixels: np.ndarray
    shape: tuple
    reduced_by: int = 1
    metadata: dict = dataclasses.field(default_factory=dict)  # the file's dpi and ICC profile, when it has them
    full: np.ndarray = None  # the full-resolution pixels too, when asked for and the scan was shrunk


def to_grayscale(image, dtype=np.float64):
    """Any supported image as a 2-D float array in [0, 1] (float64, or ``dtype``); alpha composited on white."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] in (1, 3, 4):
        channels = image.shape[-1]
    elif image.ndim == 2:
        channels = 0
    else:
        raise ScanError(f"expected a 2-D image or one with 1, 3 or 4 channels last, got shape {image.shape}")
    if image.size == 0:
        raise ScanError(f"the image is empty (shape {image.shape})")
    if image.dtype == np.uint8 and channels == 0:
        return image * dtype(1 / 255)  # what img_as_float does, without its overhead
    if image.dtype.kind == "f":
        if not np.all(np.isfinite(image)):
            raise ScanError("the image holds NaN or infinite values")
        image = image / float_peak(image)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # img_as_float's precision-loss warnings are expected here
        image = img_as_float(image)
    if image.dtype.kind == "f" and (image.min() < 0 or image.max() > 1):
        image = np.clip(image, 0.0, 1.0)
    if channels == 4:
        alpha = image[..., 3:]
        image = image[..., :3] * alpha + (1.0 - alpha)
        channels = 3
    if channels == 3:
        image = color.rgb2gray(image)
    elif channels == 1:
        image = image[..., 0]
    return image.astype(dtype, copy=False)


def float_peak(image):
    """The value that stands for white in ``image``: 1 for floats in [0, 1] (and for integer images), 255 or 65535
    for a float image that holds 8- or 16-bit values, as some TIFF writers store them."""
    if image.dtype.kind != "f" or image.size == 0:
        return 1.0
    largest = float(np.max(image))
    for peak in (1.0, 255.0, 65535.0):
        if largest <= peak:
            return peak
    raise ScanError(f"a float image with values up to {largest:g}; expected [0, 1], 0-255 or 0-65535")


def to_dtype(image, dtype):
    """A [0, 1] float image converted to ``dtype``: uint16 stays 16-bit, floats keep their
    precision, and every other integer or boolean type becomes uint8."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return np.rint(image * 255).astype(np.uint8)  # what img_as_ubyte does, without its overhead
    if dtype.kind == "f":
        return image.astype(dtype)
    if dtype == np.uint16:
        return img_as_uint(image)
    return img_as_ubyte(image)


@functools.cache
def pillow_formats():
    """``{suffix: Pillow format}`` for every raster format Pillow reads that a scan may come in (PNG, JPEG, TIFF,
    BMP, PGM/PPM, WebP, GIF, JPEG 2000, TGA, PSD, ...)."""
    from PIL import Image

    Image.init()
    return {suffix: name for suffix, name in Image.registered_extensions().items()
            if name in Image.OPEN and name not in NOT_SCANS}


def is_image_name(path):
    """Whether ``path`` (a path or a file name) has the suffix of a format we read."""
    return os.path.splitext(path)[1].lower() in pillow_formats()  # a string split: no Path made per file


def writable_suffix(suffix):
    """``suffix`` when Pillow can write its format, else '.png' (a PSD or a PCD scan is written as PNG)."""
    from PIL import Image

    return suffix if pillow_formats().get(suffix.lower()) in Image.SAVE else ".png"


def read_scan(path, *, max_pixels=50_000_000, reduction=None, keep_full=False):
    """Decode an image file, refusing oversized images before decoding.

    Parameters
    ----------
    path : str, Path or binary file object
        A file object (say, ``io.BytesIO``) should carry a ``name`` for messages.
    max_pixels : int
        Larger images are refused before decoding. Pillow's own limit is raised
        to this value when it is lower.
    reduction : callable, optional
        ``reduction(coarse_pixels, coarse_factor) -> factor``: given a cheap
        copy of the image reduced ``coarse_factor`` times, the integer factor
        by which the image may be shrunk (``ScanAdapter.reduction``). The
        shrinking is Pillow's box reduction, done in C.
    keep_full : bool
        Also keep the full-resolution pixels of a scan that was shrunk
        (``Scan.full``), for an output at the scan's own sharpness.

    Returns
    -------
    Scan
        Its ``pixels`` are (M, N) or (M, N, C) with C in {3, 4} channels
        (gray+alpha comes back as RGBA); uint8, uint16 or float32 as stored.
        An EXIF orientation is applied, so the pixels are as the image is shown.

    Raises
    ------
    ScanError
        Naming ``path``: unreadable, not an image, truncated or corrupt, holding
        several pages or frames, or larger than ``max_pixels``.
    """
    reductions = None if reduction is None else lambda copies: [reduction(*copy) for copy in copies]
    (scan,) = read_scans([path], max_pixels=max_pixels, reductions=reductions, keep_full=keep_full)
    if isinstance(scan, Exception):
        raise scan
    return scan


HELD_PIXELS = 1 << 22  # decoded pixels held at once while read_scans decides how far to shrink them


def read_scans(paths, *, max_pixels=50_000_000, reductions=None, keep_full=False):
    """:func:`read_scan` for several files, with one call of ``reductions`` for many of them.

    ``reductions(copies) -> factors`` takes a list of ``(coarse_pixels, coarse_factor)``, one per file that may be
    shrunk, and returns their factors (so that a caller can analyse many coarse copies at once), or for a copy it
    cannot make sense of, the exception that says why. Returns a list with a ``Scan`` for each path, or the
    exception that stopped it: a ``ScanError`` naming the file, or whatever else its decoder raised. At most about
    ``HELD_PIXELS`` decoded pixels are held at once.
    """
    results, waiting, held = [None] * len(paths), [], 0

    def scan(index, decoded, factor):
        try:  # one odd file must not stop the others, whatever its decoder raises
            with _reading(decoded.name, max_pixels):
                if isinstance(factor, Exception):  # the reduction could not make sense of these pixels
                    raise factor
                results[index] = decoded.scan(factor, keep_full)
        except Exception as error:
            results[index] = error

    def settle():
        copies = [(decoded.coarse, decoded.coarse_factor) for _, decoded in waiting]
        for (index, decoded), factor in zip(waiting, reductions(copies) if copies else []):
            scan(index, decoded, factor)
        waiting.clear()

    for index, path in enumerate(paths):
        try:
            decoded = _decode(path, max_pixels, coarse=reductions is not None)
        except Exception as error:
            results[index] = error
            continue
        if decoded.coarse is None:
            scan(index, decoded, 1)
            continue
        waiting.append((index, decoded))
        held += decoded.image.width * decoded.image.height
        if held >= HELD_PIXELS:  # 64 scans of 256x256: one stack for the analysis, not 64 and 1
            settle()
            held = 0
    settle()
    return results


@dataclasses.dataclass
class _Decoded:
    """A decoded image (Pillow, in a mode it can reduce) and, when it may be shrunk, its coarse copy."""

    name: object
    image: object
    metadata: dict
    coarse: np.ndarray = None
    coarse_factor: int = 1

    def scan(self, factor, keep_full):
        shape = (self.image.height, self.image.width)
        full = _to_array(self.image) if keep_full and factor > 1 else None
        if factor == 1:
            return Scan(_to_array(self.image), shape, 1, self.metadata)
        if factor == self.coarse_factor:
            return Scan(self.coarse, shape, factor, self.metadata, full)  # the very pixels the reduction saw
        return Scan(_to_array(self.image.reduce(factor)), shape, factor, self.metadata, full)


def _decode(path, max_pixels, *, coarse):
    """Decode ``path`` into a ``_Decoded``, with a coarse copy when ``coarse`` and the image is large enough."""
    from PIL import Image, ImageOps

    path = Path(path) if isinstance(path, str) else path
    name = path if isinstance(path, Path) else getattr(path, "name", "<stream>")
    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels  # our own check below is the guard; Pillow's must not undercut it
    with _reading(name, max_pixels):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked against max_pixels below
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ScanError(f"{width}x{height} is {_too_large(max_pixels)}", name)
                pages = getattr(image, "n_frames", 1)
                if pages > 1:
                    raise ScanError(
                        f"holds {pages} pages or frames, and only one image per file is supported; "
                        "split it into one file per page", name
                    )
                if image.getexif().get(_ORIENTATION, 1) != 1:
                    image = ImageOps.exif_transpose(image)
                metadata = {key: image.info[key] for key in KEPT_METADATA if image.info.get(key)}
                image = _decodable(image)
                image.load()
        decoded = _Decoded(name, image, metadata)
        coarse_factor = min(image.size) // COARSE_SIZE
        if coarse and coarse_factor > 1 and image.mode in _REDUCIBLE:
            decoded.coarse, decoded.coarse_factor = _to_array(image.reduce(coarse_factor)), coarse_factor
        return decoded


def _too_large(max_pixels):
    return f"over the limit of {max_pixels:,} pixels; raise max_pixels if the file is trusted"


@contextlib.contextmanager
def _reading(name, max_pixels):
    """Pillow's and the system's errors while reading ``name``, as ``ScanError``s that name it and say what to do."""
    from PIL import Image

    try:
        yield
    except ScanError as error:
        if error.path is None:
            raise ScanError(error.reason, name) from None
        raise
    except PermissionError as error:
        raise ScanError("permission denied; make it readable", name) from error
    except FileNotFoundError as error:
        raise ScanError("no such file", name) from error
    except IsADirectoryError as error:
        raise ScanError("a folder, not an image file", name) from error
    except Image.DecompressionBombError as error:
        raise ScanError(f"the image is {_too_large(max_pixels)}", name) from error
    except Image.UnidentifiedImageError as error:
        raise ScanError("not a readable image (Pillow does not recognise its format)", name) from error
    except MemoryError as error:
        raise ScanError("not enough memory to decode it; lower max_pixels or free memory", name) from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise ScanError(f"corrupt or truncated image ({error})", name) from error


_ORIENTATION = 0x0112  # the EXIF tag
_REDUCIBLE = ("L", "RGB", "RGBA", "I", "F")  # the modes Pillow's reduce() takes


def _decodable(image):
    """``image`` in a mode that decodes and reduces compactly: palette and odd 8-bit modes become L, RGB or
    RGBA, and 16-bit gray becomes 32-bit 'I', which Pillow can reduce (numpy then takes it back to uint16)."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return image.convert("I")
    if image.mode in ("L", "RGB", "RGBA", "I", "F"):
        return image
    if image.mode == "1":
        return image.convert("L")
    has_alpha = "A" in image.mode or "transparency" in image.info
    if image.mode == "P" and not has_alpha and _gray_palette(image):
        return image.convert("L")
    return image.convert("RGBA" if has_alpha else "RGB")


def _gray_palette(image):
    colours = np.frombuffer(image.palette.tobytes(), np.uint8)
    if image.palette.mode != "RGB" or colours.size % 3:
        return False
    colours = colours.reshape(-1, 3)
    return bool((colours == colours[:, :1]).all())


def _to_array(image):
    if image.mode == "I":
        array = np.asarray(image)
        if array.min() < 0 or array.max() > 65535:
            raise ScanError("32-bit integer images are not supported; use 8 or 16 bits")
        return array.astype(np.uint16)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    return np.asarray(image)


def write_image(path, image):
    """Encode a 2-D image to ``path`` (format from its suffix) atomically.

    The file is written beside its destination under a hidden temporary name
    and moved into place with ``os.replace``, so a reader never sees a partial
    file. See ``encode_image`` for the bit depths.
    """
    path = Path(path)
    encoded = encode_image(image, path.suffix)
    replace_atomically(path, lambda tmp: tmp.write_bytes(encoded))


def encode_image(image, suffix, metadata=None):
    """The bytes of a 2-D image in the format of ``suffix`` ('.png', '.jpg', ...).

    ``uint16`` is kept where the format allows (PNG, TIFF, PGM), float is kept
    in TIFF and stored as 16 bits in PNG; other formats get 8 bits; WebP is
    written lossless. ``metadata`` (``Scan.metadata``: dpi, ICC profile) is
    written where the format holds it.
    """
    import io

    from PIL import Image

    pillow_format = pillow_formats()[suffix.lower()]
    if image.dtype.kind == "f" and pillow_format == "TIFF":
        encoded = Image.fromarray(image.astype(np.float32), mode="F")
    elif image.dtype != np.uint8 and pillow_format in ("PNG", "TIFF"):
        encoded = Image.fromarray(img_as_uint(image))
    elif image.dtype != np.uint8 and pillow_format == "PPM":
        encoded = Image.fromarray(img_as_uint(image).astype(np.int32), mode="I")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoded = Image.fromarray(img_as_ubyte(image))
    options = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}.get(pillow_format, {})
    options.update(metadata or {})
    buffer = io.BytesIO()
    encoded.save(buffer, format=pillow_format, **options)
    return buffer.getvalue()
