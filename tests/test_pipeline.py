"""The pipelined runner against a plain one-image-at-a-time path through the same library pieces."""

import numpy as np
import pytest
from helpers import make_scan
from PIL import Image

from digit_denoise import ScanAdapter, ScanError, denoise_folder, load_denoiser
from digit_denoise.scans import read_scan


def test_pipelined_outputs_equal_one_at_a_time(tmp_path, digits):
    root = tmp_path / "scans"
    rng = np.random.default_rng(3)
    for index in range(100):
        folder = root / f"part-{index % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        size = tuple(int(v) for v in rng.integers(100, 240, 2))
        scan = make_scan(
            digits[index],
            size=size,
            offset=(int(rng.integers(0, size[0] - 56)), int(rng.integers(0, size[1] - 56))),
            noise=0.05,
            rng=rng,
        )
        Image.fromarray((scan * 255).round().astype(np.uint8)).save(folder / f"{index:03d}.png")
    summary = denoise_folder(root, tmp_path / "out", batch_size=16, workers=3)
    assert summary.processed == 100

    adapter, denoiser = ScanAdapter(), load_denoiser("default")
    for source in sorted(root.rglob("*.png")):
        digit, frame = adapter.read(source)
        expected = adapter.after(denoiser.denoise(digit[None])[0], frame)
        written = np.asarray(Image.open(tmp_path / "out" / source.relative_to(root)))
        # Batches and single images give floats that differ by up to 1e-6, which rounding can turn into one level.
        np.testing.assert_allclose(written.astype(int), expected.astype(int), atol=1, err_msg=str(source))


@pytest.mark.parametrize("file_format", ["PNG", "JPEG"])
def test_shrinking_on_decode_loses_nothing_against_the_slow_path(tmp_path, digits, file_format):
    """Large scans are box-reduced right after decoding: no worse than the slow path against the truth."""
    from skimage import transform

    from digit_denoise.models.metrics import score

    rng = np.random.default_rng(1)
    # 'percentile', where noise sets the level (see test_fast_reduction_stays_within_half_a_db_of_the_slow_path).
    fast, slow = ScanAdapter(normalize="percentile"), ScanAdapter(normalize="percentile", fast=False)
    truths, slow_digits, shrunk_digits = [], [], []
    for index, digit in enumerate(digits[:12]):
        clean = np.full((640, 520), 0.9)
        clean[100:460, 80:440] -= transform.resize(digit, (360, 360), order=1) * 0.75
        noisy = (np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1) * 255).astype(np.uint8)
        path = tmp_path / f"{index}.{file_format.lower()}"
        Image.fromarray(noisy).save(path, file_format)
        scan = read_scan(path, reduction=fast.reduction)
        assert scan.reduced_by > 1 and scan.shape == noisy.shape
        truths.append(slow.before(clean)[0])
        slow_digits.append(slow.before(noisy)[0])
        shrunk_digits.append(fast.before(scan)[0])
    truths = np.array(truths)
    assert score(truths, np.array(shrunk_digits))[0] > score(truths, np.array(slow_digits))[0] - 0.5


@pytest.mark.parametrize("settings", [{}, {"size": "original"}, {"normalize": "percentile"}, {"framing": "resize"}])
def test_scans_adapted_together_equal_each_adapted_alone(tmp_path, digits, settings):
    """read_many analyses and frames scans of one size at once: each comes out exactly as read alone gives it, and a
    file that cannot be read spoils none of the others."""
    rng = np.random.default_rng(5)
    sources = []
    for index in range(24):
        size = (256, 256) if index % 3 else tuple(int(v) for v in rng.integers(70, 300, 2))  # mostly one size
        offset = tuple(int(v) for v in rng.integers(0, np.subtract(size, 56)))
        scan = make_scan(digits[index], size=size, offset=offset, noise=rng.uniform(0.0, 0.2), rng=rng)
        if index % 5 == 0:  # several sizes of digit: the frames blur them by different amounts
            scan = np.kron(scan, np.ones((2, 2)))[: size[0], : size[1]]
        for _ in range(index % 4 * 3):  # dust of several sizes: components that are not the digit
            row, col, radius = *(int(v) for v in rng.integers(0, size)), int(rng.integers(2, 9))
            scan[max(0, row - radius) : row + radius, max(0, col - radius) : col + radius] = 0.15
        path = tmp_path / f"{index:02d}.png"
        Image.fromarray((scan * 255).round().astype(np.uint8)).save(path)
        sources.append(path)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    sources.insert(7, tmp_path / "broken.png")
    adapter = ScanAdapter(**settings)
    together = adapter.read_many(sources)
    assert isinstance(together[7], ScanError) and "broken.png" in str(together[7])
    for source, (digit, frame) in zip(sources[:7] + sources[8:], together[:7] + together[8:]):
        alone, alone_frame = adapter.read(source)
        np.testing.assert_array_equal(digit, alone, err_msg=str(source))
        assert frame.placement == alone_frame.placement and frame.analysis == alone_frame.analysis
        assert frame.trust == alone_frame.trust
        if frame.sharp is not None:
            np.testing.assert_array_equal(frame.sharp, alone_frame.sharp)


def test_a_scan_that_trips_the_stacked_analysis_fails_alone(tmp_path, digits, monkeypatch):
    """Whatever fault one scan sets off in the analysis of a stack, the scans analysed with it still come out."""
    import digit_denoise.adapter
    from digit_denoise import Settings
    from digit_denoise.batch import denoise_files

    analyse = digit_denoise.adapter.analyse_stack

    def tripped(grays, **options):
        if (grays.max(axis=(1, 2)) < 0.5).any():  # the dark scan below
            raise FloatingPointError("a fault no test foresaw")
        return analyse(grays, **options)

    monkeypatch.setattr(digit_denoise.adapter, "analyse_stack", tripped)
    sources = []
    for index in range(6):
        scan = make_scan(digits[index]) if index != 2 else np.full((90, 80), 0.3)
        sources.append(tmp_path / f"{index}.png")
        Image.fromarray((scan * 255).round().astype(np.uint8)).save(sources[-1])
    outcomes = denoise_files(sources, [".png"] * 6, Settings(), "none").outcomes
    assert "FloatingPointError" in outcomes[2].error and outcomes[2].data is None
    assert all(outcome.error is None and outcome.data for index, outcome in enumerate(outcomes) if index != 2)
