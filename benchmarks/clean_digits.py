"""Clean digits: does the scan analysis keep all of a handwritten digit, and frame it as MNIST would?

Every MNIST test digit (--data, or keras' download) is rendered as a clean pen stroke at each --sizes, dark ink
on grey paper with 20 px of margin (`pages.clean_pages`), and read by the default adapter. For each size it
prints how many digits:

  - lose strokes: the analysis' digit region covers under 95% of the stroke's pixels (a 5x5 mean always dims a
    few of the thinnest);
  - are framed unlike MNIST's recipe applied to the stroke itself: centres more than 0.5 model px apart, or
    scales more than 5% (`pages.same_frame`, the realistic benchmark's rule);
  - are flagged, and why.

A change to how the analysis tells the digit from specks should leave these counts alone: handwriting has
short strokes apart from the rest, which look like specks. Not a test: run it by hand (about a minute a size).

    python benchmarks/clean_digits.py --data ../shared/data/mnist.npz [--limit N] [--sizes 40,60,120]
"""

import argparse
import collections
from pathlib import Path

from digit_denoise import ScanAdapter
from digit_denoise.analysis import analyse_stack
from digit_denoise.framing import frame_like_mnist
from digit_denoise.models.data import load_mnist
from digit_denoise.pages import clean_pages, same_frame

STACK = 64  # pages analysed at once


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--sizes", default="40,60,120")
    args = parser.parse_args()
    _, digits, _ = load_mnist(args.data)  # float32 in [0, 1]
    digits = digits[: args.limit]
    adapter = ScanAdapter()
    limit = f" --limit {args.limit}" if args.limit else ""
    print(f"# python benchmarks/clean_digits.py --sizes {args.sizes}{limit}")
    for size in (int(value) for value in args.sizes.split(",")):
        lost, framed, flags, worst = 0, 0, collections.Counter(), []
        for start in range(0, len(digits), STACK):
            pages, strokes = clean_pages(digits[start : start + STACK], size)
            analyses, _ = analyse_stack(pages)
            for index, (stroke, page, analysis) in enumerate(zip(strokes, pages, analyses)):
                inked = stroke > 0.5
                covered = analysis.region[inked].mean() if analysis.region is not None else 0.0
                lost += covered < 0.95
                _, frame = adapter.before(page)
                _, reference = frame_like_mnist(stroke)
                same = same_frame(frame.placement, reference)
                framed += same
                if not same or covered < 0.95:
                    worst.append((round(float(covered), 3), start + index))
                flags.update(reason.split(":")[0].split(" (")[0] for reason in analysis.flags)
        print(f"{size:4d} px: {len(digits)} digits; strokes lost on {lost}; framed as MNIST's recipe frames the "
              f"stroke on {framed}; flagged: {dict(flags) or 'none'}")
        if worst:
            print(f"        lowest coverage (coverage, index): {sorted(worst)[:8]}")


if __name__ == "__main__":
    main()
