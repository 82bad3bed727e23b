"""Contact sheets that show what the adapter and the model do to a folder's scans."""

import itertools

import numpy as np
from skimage import transform
from skimage.util import montage

from .adapter import ScanAdapter, to_grayscale
from .config import make_settings
from .denoiser import load_denoiser
from .errors import ConfigError, ScanError
from .paths import discover
from .scans import read_scan


def contact_sheet(input_dir, *, n=32, config=None, scale=4, **settings):
    """A uint8 image with one row per scan: the scan (as 28x28 gray) | the adapter's output | the denoised digit.

    Unreadable files are left out. Raises ``ConfigError`` when no scan can be read.
    """
    settings = make_settings(config, **settings)
    adapter = ScanAdapter.from_settings(settings)
    denoiser = load_denoiser(settings.model)
    tiles = []
    for path in itertools.islice(discover(input_dir, recursive=settings.recursive), n * 2):
        try:
            scan = read_scan(path, max_pixels=settings.max_pixels, reduction=adapter.reduction)  # as run reads it
            digit, _ = adapter.before(scan)
        except ScanError:
            continue
        scan = transform.resize(to_grayscale(scan.pixels), (28, 28), anti_aliasing=True)
        tiles.append((scan, digit, denoiser.denoise(digit[None])[0]))
        if len(tiles) == n:
            break
    if not tiles:
        raise ConfigError(f"{input_dir}: no readable scans to preview")
    sheet = montage(
        np.array([tile for row in tiles for tile in row]), grid_shape=(len(tiles), 3), padding_width=2, fill=1.0
    )
    sheet = np.kron(np.clip(sheet, 0, 1), np.ones((scale, scale)))
    return (sheet * 255).round().astype(np.uint8)
