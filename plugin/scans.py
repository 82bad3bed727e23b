"""Reading scans from disk and writing results back, atomically (Pillow)."""

import dataclasses
import warnings
from pathlib import Path

import numpy as np
from skimage.util import img_as_ubyte, img_as_uint

from .errors import ScanError
from .files import replace_atomically

PILLOW_FORMATS = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
    ".bmp": "BMP", ".pgm": "PPM", ".ppm": "PPM", ".pnm": "PPM",
}
IMAGE_SUFFIXES = frozenset(PILLOW_FORMATS)
COARSE_SIZE = 64  # px: the shorter side of the coarse copy that decides how far a large scan may shrink


@dataclasses.dataclass(frozen=True)
class Scan:
    """A decoded scan. ``pixels`` is the image, shrunk ``reduced_by`` times on decoding
    by block averaging when that loses nothing the model can see; ``shape`` is the
    (rows, columns) of the file's full image, which outputs at original size keep."""

    pixels: np.ndarray
    shape: tuple
    reduced_by: int = 1


def is_image_name(path):
    """Whether ``path`` has the suffix of a supported image format."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_scan(path, *, max_pixels=50_000_000, reduction=None):
    """Decode an image file, refusing oversized images before decoding.

    Parameters
    ----------
    path : str, Path or binary file object
        A file object (say, ``io.BytesIO``) should carry a ``name`` for messages.
    max_pixels : int
    reduction : callable, optional
        ``reduction(coarse_pixels, coarse_factor) -> factor``: given a cheap
        copy of the image reduced ``coarse_factor`` times, the integer factor
        by which the image may be shrunk (``ScanAdapter.reduction``). The
        shrinking is Pillow's box reduction, done in C, for 8-bit images.

    Returns
    -------
    Scan
        Its ``pixels`` are (M, N) or (M, N, C) with C in {3, 4} channels
        (gray+alpha comes back as RGBA); uint8, uint16 or float32 as stored.

    Raises
    ------
    ScanError
        Naming ``path``: unreadable, not an image, truncated or corrupt, or
        larger than ``max_pixels``.
    """
    from PIL import Image

    path = Path(path) if isinstance(path, str) else path
    name = path if isinstance(path, Path) else getattr(path, "name", "<stream>")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ScanError(
                        f"{name}: {width}x{height} is over the limit of {max_pixels} pixels; "
                        "raise max_pixels if the file is trusted"
                    )
                shape, factor = (height, width), 1
                coarse_factor = min(width, height) // COARSE_SIZE
                if reduction is not None and image.mode in ("L", "RGB", "RGBA") and coarse_factor > 1:
                    coarse = np.asarray(image.reduce(coarse_factor))
                    factor = reduction(coarse, coarse_factor)
                    if factor == coarse_factor:
                        return Scan(coarse, shape, factor)  # the very pixels the callback saw
                    if factor > 1:
                        image = image.reduce(factor)
                return Scan(_to_array(image), shape, factor)
    except ScanError:
        raise
    except PermissionError as error:
        raise ScanError(f"{name}: permission denied; make it readable") from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ScanError(f"{name}: the image is over the limit of {max_pixels} pixels ({error})") from error
    except Image.UnidentifiedImageError as error:
        raise ScanError(f"{name}: not a readable image ({error})") from error
    except (OSError, ValueError, SyntaxError) as error:
        raise ScanError(f"{name}: corrupt or truncated image ({error})") from error


def _to_array(image):
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image).astype(np.uint16)
    if image.mode == "I":
        array = np.asarray(image)
        if array.min() < 0 or array.max() > 65535:
            raise ScanError("32-bit integer images are not supported; use 8 or 16 bits")
        return array.astype(np.uint16)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    if image.mode in ("L", "RGB", "RGBA"):
        return np.asarray(image)
    if image.mode == "1":
        return np.asarray(image.convert("L"))
    has_alpha = "A" in image.mode or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))


def write_image(path, image):
    """Encode a 2-D image to ``path`` (format from its suffix) atomically.

    The file is written beside its destination under a hidden temporary name
    and moved into place with ``os.replace``, so a reader never sees a partial
    file. See ``encode_image`` for the bit depths.
    """
    path = Path(path)
    encoded = encode_image(image, path.suffix)
    replace_atomically(path, lambda tmp: tmp.write_bytes(encoded))


def encode_image(image, suffix):
    """The bytes of a 2-D image in the format of ``suffix`` ('.png', '.jpg', ...).

    ``uint16`` is kept where the format allows (PNG, TIFF, PGM), float is kept
    in TIFF and stored as 16 bits in PNG; other formats get 8 bits.
    """
    import io

    from PIL import Image

    pillow_format = PILLOW_FORMATS[suffix.lower()]
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
    options = {"quality": 95} if pillow_format == "JPEG" else {}
    buffer = io.BytesIO()
    encoded.save(buffer, format=pillow_format, **options)
    return buffer.getvalue()
