"""Hard pages: real-world faults that the realistic benchmark (scans.py) does not draw, each beside its clean twin.

Each case is a page made from MNIST *test* digits with one fault of real scans: a coffee stain, graph paper, a
notebook's ruled lines and margin, a thick marker, blue ink on yellow paper, a phone photo in a shadow, a digit
cut by the page's edge, chalk on a board, pencil, a 16-bit TIFF, a pencil digit beside ink blots. Its twin is the
same page without the fault and without noise (light is not noise, so a shadow stays). Both are saved as files
and read as `run` reads them. For each case and over --n digits it prints:

  - frames: 28x28 frames within 0.5 px and 5% of the twin's;
  - flagged: pages flagged (and the first reason met);
  - size original: PSNR of the written page against the twin's grayscale, beside the noisy page's own;

and writes a contact sheet of the first digit's page, its size-original output and its 28x28 output, per case.

    python benchmarks/hard_pages.py [--n 10] [--out benchmarks/results]
"""

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import transform
from skimage.metrics import peak_signal_noise_ratio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scans import as_file, test_digits  # noqa: E402

SIDE = 240  # px: the page; the digit is 160 px, in its middle


def placed(ink, offset=40):
    page = np.zeros((SIDE, SIDE))
    page[offset : offset + len(ink), offset : offset + len(ink)] = ink
    return page


def coffee_stain(ink, rng):
    rows, cols = np.mgrid[0:SIDE, 0:SIDE]
    centre = rng.uniform(40, 200, 2)
    stain = 0.25 * np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * rng.uniform(15, 30) ** 2))
    clean = 0.9 - 0.75 * ink
    return clean - stain * (1 - ink), clean


def graph_paper(ink, rng):
    grid = np.zeros((SIDE, SIDE))
    start = int(rng.integers(0, 12))
    grid[start::12] = grid[:, start::12] = 0.25
    clean = 0.92 - 0.8 * ink
    return clean - grid * (1 - ink), clean


def notebook(ink, rng):
    paper = np.full((SIDE, SIDE, 3), 0.95)
    lined = paper.copy()
    for row in range(int(rng.integers(10, 30)), SIDE, 30):
        lined[row : row + 2] = (0.6, 0.7, 0.9)
    lined[:, 30:32] = (0.9, 0.4, 0.4)
    return lined * (1 - ink[..., None]) + 0.1 * ink[..., None], paper * (1 - ink[..., None]) + 0.1 * ink[..., None]


def marker(ink, rng):
    from scipy import ndimage

    thick = ndimage.grey_dilation(ink, size=(9, 9))
    clean = 0.9 - 0.8 * thick
    return clean, clean


def blue_ink(ink, rng):
    paper, blue = np.array([0.96, 0.93, 0.78]), np.array([0.15, 0.25, 0.7])
    clean = paper * (1 - ink[..., None]) + blue * ink[..., None]
    return clean, clean


def shadow(ink, rng):
    rows, cols = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    light = 0.45 + 0.55 * np.clip(cols * rng.uniform(0.8, 1.2) + rows * rng.uniform(0, 0.4), 0, 1)
    clean = light * (0.85 - 0.7 * ink)
    return clean, clean


def cut_by_the_edge(ink, rng):
    clean = (0.9 - 0.75 * ink)[:, : SIDE - int(rng.integers(60, 75))]  # the page ends inside the digit
    return clean, clean


def chalk(ink, rng):
    clean = 0.2 + 0.6 * ink
    return clean, clean


def pencil(ink, rng):
    clean = 0.88 - 0.25 * ink
    return clean, clean


def blots(ink, rng):
    clean = 0.88 - 0.25 * ink
    blotted = clean.copy()
    rows, cols = np.ogrid[0:SIDE, 0:SIDE]
    for _ in range(3):
        row, col, radius = *rng.integers(0, SIDE, 2), rng.uniform(4, 9)
        blotted[(rows - row) ** 2 + (cols - col) ** 2 <= radius**2] = 0.08
    return blotted, clean


CASES = {"coffee stain": coffee_stain, "graph paper": graph_paper, "notebook": notebook, "marker": marker,
         "blue ink": blue_ink, "shadow (JPEG)": shadow, "cut by the edge": cut_by_the_edge, "chalk": chalk,
         "pencil": pencil, "16-bit TIFF": pencil, "pencil and blots": blots}


def encoded(pixels, case):
    """``pixels`` in [0, 1] saved as the case's file format, as a named file object."""
    if case == "16-bit TIFF":
        return as_file((np.clip(pixels, 0, 1) * 65535).round().astype(np.uint16), "page.tif", "TIFF")
    image = (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)
    return as_file(image, "page.jpg", "JPEG", quality=85) if "JPEG" in case else as_file(image, "page.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()

    from digit_denoise import ScanAdapter, load_denoiser
    from digit_denoise.pages import pen_stroke, same_frame
    from digit_denoise.scans import to_grayscale

    denoiser, small, original = load_denoiser("default"), ScanAdapter(), ScanAdapter(size="original")
    digits, rng = test_digits(), np.random.default_rng(0)
    print(f"# python benchmarks/hard_pages.py --n {args.n}")
    print(f"{'case':>17}  frames  flagged  size original vs the twin (dB): written / noisy page   first reason")
    rows = []
    for case, make in CASES.items():
        framed, flagged, written_db, noisy_db, reasons = 0, 0, [], [], []
        for index in range(args.n):
            ink = placed(pen_stroke(digits[100 + index], 160))
            noisy, clean = make(ink, rng)
            noisy = noisy + rng.normal(0, 0.04, noisy.shape)
            (small_digit, frame), (_, twin) = (small.read(encoded(page, case)) for page in (noisy, clean))
            framed += same_frame(frame.placement, twin.placement)
            flagged += bool(frame.flags)
            reasons += frame.flags[:1]
            digit, full = original.read(encoded(noisy, case))
            written = to_grayscale(original.after(denoiser.denoise(digit[None])[0], full))
            reference = to_grayscale(np.clip(clean, 0, 1))
            written_db.append(peak_signal_noise_ratio(reference, written, data_range=1))
            noisy_db.append(peak_signal_noise_ratio(reference, to_grayscale(np.clip(noisy, 0, 1)), data_range=1))
            if index == 0:
                out_small = small.after(denoiser.denoise(small_digit[None])[0], frame)
                rows.append([to_grayscale(np.clip(noisy, 0, 1)), written, to_grayscale(out_small)])
        print(f"{case:>17}  {framed:2d}/{args.n}   {flagged:2d}/{args.n}    {statistics.fmean(written_db):5.1f} / "
              f"{statistics.fmean(noisy_db):5.1f}   {reasons[0] if reasons else ''}")
    tiles = [[transform.resize(image, (120, 120 * image.shape[1] // image.shape[0]), anti_aliasing=True,
                               order=0 if image.shape[0] == 28 else 1)[:, :120] for image in row] for row in rows]
    tiles = [[np.pad(tile, ((2, 2), (2, 122 - tile.shape[1])), constant_values=0.5) for tile in row] for row in tiles]
    half = -(-len(tiles) // 2)
    left, right = np.vstack([np.hstack(row) for row in tiles[:half]]), [np.hstack(row) for row in tiles[half:]]
    right = np.vstack(right + [np.full_like(left[: left.shape[0] - sum(r.shape[0] for r in right)], 0.5)])
    sheet = np.hstack([left, np.full((left.shape[0], 6), 0.3), right])
    args.out.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(sheet, 0, 1) * 255).round().astype(np.uint8)).save(args.out / "hard-pages.png")
    print(f"contact sheet (page | size original written | 28x28 written), a row a case: {args.out / 'hard-pages.png'}")


if __name__ == "__main__":
    main()
