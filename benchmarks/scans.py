"""Realistic scans: digit-denoise against NL-means and the bilateral filter on pages made from MNIST *test* digits.

Each page: a test digit rendered as a pen stroke (smooth upscaling to 40-400 px, then a steep contrast
curve, so edges are crisp), at a random place on a page of up to 1024 px; uneven light; paper 0.75-0.95
and ink 0.05-0.35; Gaussian noise sigma 0.03-0.2; dust specks; a ruled line on some pages; JPEG quality
60-90 on half. The clean page keeps the light (light is not noise) and has no specks, line or noise
(`digit_denoise.pages.make_page`, with the `BENCHMARK` conditions).

All in one run, it prints, per noise band and overall:
  - size original: PSNR and SSIM against the clean page for digit-denoise (default model, levels
    restore), NL-means (sigma from estimate_sigma, h = 0.8 sigma, fast, patch 5, distance 6) and the
    bilateral filter, all at full resolution; and how many dust specks survive (a speck pixel off the
    digit more than 10 grey levels from the clean page);
  - 28x28: the default model's output and the noisy page's `--model none` output, both scored against
    the clean page's `--model none` output; and how often the frame's centre is within 0.5 px and its
    scale within 5% of the clean page's;
  - levels: the output's paper level against the clean page's (median over the paper), in grey levels.

    python benchmarks/scans.py [--n 48] [--seed 0] [--out benchmarks/results]
"""

import argparse
import io
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import restoration, transform
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

ROOT = Path(__file__).resolve().parent.parent
BANDS = ((0.03, 0.08), (0.08, 0.14), (0.14, 0.2001))


def test_digits():
    """The 300 committed MNIST test digits (tests/data), float in [0, 1]: never training data."""
    with np.load(ROOT / "tests" / "data" / "mnist_test_last300.npz") as data:
        return data["x"].astype(np.float64) / 255.0


def as_file(pixels, name, image_format="PNG", **options):
    """``pixels`` saved in ``image_format`` as an in-memory file named ``name``, at its start: read as `run` reads a
    file."""
    encoded = io.BytesIO()
    Image.fromarray(pixels).save(encoded, image_format, **options)
    encoded.seek(0)
    encoded.name = name
    return encoded


def ndilate(mask, iterations):
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=iterations)


def nl_means(noisy):
    image = noisy / 255.0
    sigma = float(restoration.estimate_sigma(image))
    return restoration.denoise_nl_means(image, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=5,
                                        patch_distance=6) * 255


def bilateral(noisy):
    image = noisy / 255.0
    sigma = float(restoration.estimate_sigma(image))
    return restoration.denoise_bilateral(image, sigma_color=2 * sigma, sigma_spatial=2) * 255


def scores(reference, image):
    reference, image = reference.astype(np.float64), np.asarray(image, np.float64)
    return (peak_signal_noise_ratio(reference, image, data_range=255),
            structural_similarity(reference, image, data_range=255))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    from digit_denoise import ScanAdapter, load_denoiser
    from digit_denoise.pages import make_page, same_frame

    denoiser = load_denoiser("default")
    original = ScanAdapter(size="original")
    small, none = ScanAdapter(), ScanAdapter()
    rng = np.random.default_rng(args.seed)
    digits = test_digits()
    rows, sheet = [], []
    started = time.perf_counter()
    for index in range(args.n):
        noisy, clean, stroke, speck_mask, cond = make_page(digits[index % len(digits)], rng)
        # Read from a file as `run` reads it: shrunk on decoding for the analysis.
        digit, frame = original.read(as_file(noisy, f"page-{index}.png"))
        # The 28x28 frames as `run` finds them too: both pages read from PNG files, shrunk on decoding.
        (_, read_noisy), (_, read_clean) = small.read_many([as_file(noisy, "noisy.png"), as_file(clean, "clean.png")])
        ours = original.after(denoiser.denoise(digit[None])[0], frame)
        nlm, bil = nl_means(noisy), bilateral(noisy)
        clean_digit, clean_frame = none.before(clean)
        noisy_digit, noisy_frame = none.before(noisy)
        small_out = small.after(denoiser.denoise(noisy_digit[None])[0], noisy_frame)
        reference = none.after(clean_digit, clean_frame)
        noisy_small = none.after(noisy_digit, noisy_frame)
        (cs, cr, cc), (ns, nr, nc) = clean_frame.placement, noisy_frame.placement
        paper_mask = ~ndilate(stroke, 4) & ~ndilate(speck_mask, 2)
        if cond["lined"]:
            paper_mask &= ~ndilate(np.abs(noisy.astype(float) - clean) > 60, 2)
        row = dict(cond, ours=scores(clean, ours), nlm=scores(clean, nlm), bilateral=scores(clean, bil),
                   small=scores(reference, small_out)[0], small_none=scores(reference, noisy_small)[0],
                   centre=float(np.hypot((nr - cr) * ns, (nc - cc) * ns)), scale=abs(ns / cs - 1),
                   framed=same_frame(noisy_frame.placement, clean_frame.placement),
                   read_framed=same_frame(read_noisy.placement, read_clean.placement),
                   specks=int((np.abs(ours.astype(float) - clean) > 10)[speck_mask].sum()),
                   paper_error=float(np.median(ours[paper_mask]) - np.median(clean[paper_mask])),
                   flags=frame.flags)
        rows.append(row)
        if len(sheet) < 8:
            sheet.append([transform.resize(np.asarray(image, float) / scale, (160, 160), anti_aliasing=True)
                          for image, scale in ((noisy, 255), (noisy_digit, 1), (small_out, 255), (ours, 255),
                                               (clean, 255), (nlm, 255))])
    seconds = time.perf_counter() - started

    lines = [f"# python benchmarks/scans.py --n {args.n} --seed {args.seed}   ({seconds:.0f} s)",
             f"{args.n} pages from MNIST test digits; size original against the clean page (PSNR dB / SSIM)"]
    for label, (low, high) in [("all", (0, 1))] + [(f"sigma {lo:.2f}-{hi:.2f}", (lo, hi)) for lo, hi in BANDS]:
        band = [row for row in rows if low <= row["sigma"] < high]
        if not band:
            continue

        def mean(key, part, band=band):
            return statistics.fmean(row[key][part] for row in band)

        lines.append(
            f"{label:>17} ({len(band):3d} pages): digit-denoise {mean('ours', 0):5.1f} / {mean('ours', 1):.3f}   "
            f"NL-means {mean('nlm', 0):5.1f} / {mean('nlm', 1):.3f}   bilateral {mean('bilateral', 0):5.1f} / "
            f"{mean('bilateral', 1):.3f}   28x28: model {statistics.fmean(r['small'] for r in band):5.1f} vs none "
            f"{statistics.fmean(r['small_none'] for r in band):5.1f}")
    framed = sum(row["framed"] for row in rows)
    lines.append(
        f"frame within 0.5 px and 5% of the clean page's: {framed}/{len(rows)} pages; "
        f"worst centre {max(r['centre'] for r in rows):.2f} px, worst scale {max(r['scale'] for r in rows):.3f}"
    )
    lines.append(f"  the same, as `run` reads the files (shrunk on decoding): "
                 f"{sum(row['read_framed'] for row in rows)}/{len(rows)} pages")
    lines.append(f"speck pixels off the digit more than 10 grey levels from the clean page: "
                 f"{sum(r['specks'] for r in rows)} (on {sum(r['specks'] > 0 for r in rows)} pages)")
    errors = [abs(r["paper_error"]) for r in rows]
    lines.append(f"paper level (levels restore) against the clean page: median {statistics.median(errors):.1f}, "
                 f"worst {max(errors):.1f} grey levels; within 3 on {sum(e <= 3 for e in errors)}/{len(rows)} pages")
    lines.append(f"flagged: {sum(bool(r['flags']) for r in rows)} pages "
                 f"({', '.join(sorted({f for r in rows for f in r['flags']})) or 'none'})")
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scans.txt").write_text("\n".join(lines) + "\n")
    grid = np.vstack([np.hstack([np.pad(tile, 2, constant_values=1) for tile in row]) for row in sheet])
    Image.fromarray((np.clip(grid, 0, 1) * 255).round().astype(np.uint8)).save(args.out / "scans-sheet.png")
    print(f"contact sheet (scan | adapter output | 28x28 written | size original written | clean page | NL-means): "
          f"{args.out / 'scans-sheet.png'}")


if __name__ == "__main__":
    main()
