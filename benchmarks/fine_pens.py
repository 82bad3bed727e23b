"""Fine pens: digits written with a line much thinner than MNIST's strokes, the adapter's known weak spot.

Each test digit's skeleton is drawn as a line of a given width (1-24 px) on a digit of 100-800 px, with a
scanner's blur, on grey paper with noise sigma 0.03 (`pages.fine_pen_page`), saved as PNG and read as `run`
reads it. For each digit size and line width it prints, over --n digits:

  - flagged: scans flagged at size model (no ink found, strokes too thin, ...);
  - faint 28x28: scans whose 28x28 model input peaks (99.5th percentile) under 0.5;
  - kept at original: scans whose size-original output keeps half the input's contrast on the line.

    python benchmarks/fine_pens.py [--n 6]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scans import as_file, test_digits  # noqa: E402

CELLS = {100: (1, 2, 3), 200: (2, 3, 4, 6), 400: (4, 6, 8, 12), 800: (8, 12, 16, 24)}  # digit size: line widths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6)
    args = parser.parse_args()

    from digit_denoise import ScanAdapter, load_denoiser
    from digit_denoise.pages import fine_pen_page

    denoiser, small, original = load_denoiser("default"), ScanAdapter(), ScanAdapter(size="original")
    digits, rng = test_digits(), np.random.default_rng(0)
    print(f"# python benchmarks/fine_pens.py --n {args.n}")
    print("digit  line   flagged  faint 28x28  kept at original")
    for size, widths in CELLS.items():
        for width in widths:
            flagged = faint = kept = 0
            for index in range(args.n):
                scan, line = fine_pen_page(digits[20 + index], size, width, rng)
                scan = (scan * 255).round().astype(np.uint8)
                encoded = as_file(scan, "page.png")
                digit, frame = small.read(encoded)
                flagged += bool(frame.flags)
                faint += float(np.percentile(digit, 99.5)) < 0.5
                encoded.seek(0)
                digit, frame = original.read(encoded)
                written = original.after(denoiser.denoise(digit[None])[0], frame).astype(float)
                paper = np.median(written[~ndimage.binary_dilation(line, iterations=3)])
                kept += paper - np.median(written[line]) > 0.5 * (paper - np.median(scan[line].astype(float)))
            counts = (f"{count:2d}/{args.n}" for count in (flagged, faint, kept))
            print(f"{size:4d} px {width:3d} px   " + "      ".join(counts))


if __name__ == "__main__":
    main()
