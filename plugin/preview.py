"""Contact sheets that show what the adapter and the model do to a folder's scans."""

import itertools

import numpy as np

from .adapter import ScanAdapter
from .config import make_settings
from .denoiser import load_denoiser
from .errors import ConfigError, ScanError
from .paths import discover
from .scans import read_scan, to_grayscale

TILE = 112  # px: each picture's side on the sheet
COLUMNS = ("scan", "model input", "written")
CAPTION = 14  # px: the height of a line of text


def contact_sheet(input_dir, *, n=32, config=None, per_row=3, **settings):
    """A uint8 grid of the first ``n`` readable scans under ``input_dir``: for each, the scan, the adapter's
    output (what the model is given, light on dark) and the output as ``run`` writes it with these settings
    (``config`` and ``settings``, as for ``run``), captioned with the file's name, under a header naming the
    columns. ``per_row`` scans share a row of the grid.

    Unreadable files are left out. Raises ``ConfigError`` when no scan can be read.
    """
    from PIL import Image, ImageDraw

    settings = make_settings(config, **settings)
    adapter = ScanAdapter.from_settings(settings)
    denoiser = load_denoiser(settings.model)
    cells = []
    for path in itertools.islice(discover(input_dir, recursive=settings.recursive), n * 2):
        try:
            digit, frame = adapter.read(path, max_pixels=settings.max_pixels)  # as run reads it
            scan = read_scan(path, max_pixels=settings.max_pixels)  # and as it is, to be shown
        except ScanError:
            continue
        written = adapter.after(denoiser.denoise(digit[None])[0], frame)
        pictures = [_fitted(to_grayscale(scan.pixels)), _fitted(digit), _fitted(to_grayscale(written))]
        cells.append((path.relative_to(input_dir).as_posix(), pictures))
        if len(cells) == n:
            break
    if not cells:
        raise ConfigError(f"{input_dir}: no readable scans to preview")
    per_row = min(per_row, len(cells))
    cell_width, cell_height = 3 * TILE + 4 * 2, TILE + CAPTION + 6
    rows = -(-len(cells) // per_row)
    sheet = Image.new("L", (per_row * (cell_width + 8), CAPTION + 6 + rows * cell_height), 255)
    draw = ImageDraw.Draw(sheet)
    for column in range(per_row):
        for index, title in enumerate(COLUMNS):
            draw.text((column * (cell_width + 8) + 2 + index * (TILE + 2), 2), title, fill=0)
    for number, (name, pictures) in enumerate(cells):
        left = (number % per_row) * (cell_width + 8)
        top = CAPTION + 6 + (number // per_row) * cell_height
        for index, picture in enumerate(pictures):
            sheet.paste(Image.fromarray(picture), (left + 2 + index * (TILE + 2), top))
        draw.text((left + 2, top + TILE + 2), name if len(name) <= 56 else "..." + name[-53:], fill=0)
    return np.asarray(sheet)


def _fitted(image):
    """A [0, 1] image scaled to fit a TILE x TILE square (its aspect kept, nearest pixels for small ones), on
    mid-grey, as uint8."""
    from PIL import Image

    image = np.clip(np.asarray(image, float), 0, 1)
    scale = TILE / max(image.shape)
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    resample = Image.NEAREST if scale >= 1 else Image.LANCZOS
    picture = Image.fromarray((image * 255).round().astype(np.uint8)).resize(size, resample)
    tile = Image.new("L", (TILE, TILE), 128)
    tile.paste(picture, ((TILE - size[0]) // 2, (TILE - size[1]) // 2))
    return np.asarray(tile)
