"""The pipelined runner against a plain one-image-at-a-time path through the same library pieces."""

import numpy as np
from helpers import make_scan
from PIL import Image

from digit_denoise import ScanAdapter, denoise_folder, load_denoiser
from digit_denoise.scans import read_scan


def test_pipelined_outputs_are_bit_identical_to_one_at_a_time(tmp_path, digits):
    root = tmp_path / "scans"
    rng = np.random.default_rng(3)
    for index in range(100):
        folder = root / f"part-{index % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        size = tuple(int(v) for v in rng.integers(100, 240, 2))
        scan = make_scan(digits[index], size=size, offset=(int(rng.integers(0, size[0] - 56)), int(rng.integers(0, size[1] - 56))),
                         noise=0.05, rng=rng)
        Image.fromarray((scan * 255).round().astype(np.uint8)).save(folder / f"{index:03d}.png")
    summary = denoise_folder(root, tmp_path / "out", batch_size=16, workers=3)
    assert summary.processed == 100

    adapter, denoiser = ScanAdapter(), load_denoiser("default")
    for source in sorted(root.rglob("*.png")):
        digit, frame = adapter.before(read_scan(source, reduction=adapter.reduction))
        expected = adapter.after(denoiser.denoise(digit[None])[0], frame)
        written = np.asarray(Image.open(tmp_path / "out" / source.relative_to(root)))
        np.testing.assert_array_equal(written, expected, err_msg=str(source))
