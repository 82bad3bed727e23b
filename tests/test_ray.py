"""The Ray path is the same run as `digit-denoise run`: same files, summary, resume (skipped without the ray extra)."""

import numpy as np
import pytest
from helpers import make_scan, write_scans
from PIL import Image

ray = pytest.importorskip("ray")

from digit_denoise import denoise_folder  # noqa: E402
from digit_denoise.ray import denoise_with_ray  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_outputs_are_identical_to_the_cli_runner(tmp_path, digits, local_ray):
    root = tmp_path / "scans"
    write_scans(root, digits, 100, folder=lambda i: "a" if i % 2 else "b/c", name=lambda i: f"{i:03d}.png", seed=5,
                size=(120, 110), offset=(20, 30), noise=0.05)
    (root / "notes.txt").write_text("skipped")
    (root / "bad.png").write_bytes(b"")

    summary = denoise_with_ray(root, tmp_path / "ray-out", batch_size=32)
    assert summary.processed == 100 and summary.failed == 1
    assert summary.failures[0]["path"].endswith("bad.png")
    local = denoise_folder(root, tmp_path / "cli-out")
    assert summary.to_dict().keys() == local.to_dict().keys()
    again = denoise_with_ray(root, tmp_path / "ray-out", batch_size=32)
    assert again.processed == 0 and again.up_to_date == 100

    ray_files = sorted(p.relative_to(tmp_path / "ray-out") for p in (tmp_path / "ray-out").rglob("*.png"))
    cli_files = sorted(p.relative_to(tmp_path / "cli-out") for p in (tmp_path / "cli-out").rglob("*.png"))
    assert ray_files == cli_files and len(ray_files) == 100
    for name in ray_files:
        assert (tmp_path / "ray-out" / name).read_bytes() == (tmp_path / "cli-out" / name).read_bytes(), name


def test_ray_keeps_the_input_format_with_format_same(tmp_path, digits, local_ray):
    root = tmp_path / "scans"
    root.mkdir()
    Image.fromarray((make_scan(digits[0]) * 255).round().astype(np.uint8)).save(root / "scan.jpg")
    summary = denoise_with_ray(root, tmp_path / "out", format="same", model="none")
    assert summary.processed == 1
    assert (tmp_path / "out" / "scan.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG, not PNG bytes
