import json
import math
import subprocess
import sys

import numpy as np
import pytest
from helpers import make_scan
from PIL import Image
from typer.testing import CliRunner

from digit_denoise.cli import app

runner = CliRunner()


@pytest.fixture
def scan_tree(tmp_path, digits):
    """A small nested tree of scans in several formats, plus a text file."""
    root = tmp_path / "scans"
    (root / "a" / "b").mkdir(parents=True)
    rng = np.random.default_rng(0)
    files = {
        "one.png": None, "two.jpg": None, "a/three.tif": None, "a/b/four.bmp": None, "a/b/five.pgm": None,
    }
    for index, name in enumerate(files):
        pixels = (make_scan(digits[index], noise=0.05, rng=rng) * 255).round().astype(np.uint8)
        Image.fromarray(pixels).save(root / name)
    rgba = np.dstack([pixels] * 3 + [np.full_like(pixels, 255)])
    Image.fromarray(rgba).save(root / "a" / "six-rgba.png")
    (root / "a" / "notes.txt").write_text("not an image")
    return root


def test_run_mirrors_the_tree_and_skips_non_images(tmp_path, scan_tree):
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    result = runner.invoke(app, ["run", str(scan_tree), str(out), "--report", str(report)])
    assert result.exit_code == 0, result.output
    written = sorted(
        str(path.relative_to(out)) for path in out.rglob("*") if path.is_file() and not path.name.startswith(".")
    )
    assert written == ["a/b/five.png", "a/b/four.png", "a/six-rgba.png", "a/three.png", "one.png", "two.png"]
    for path in out.rglob("*.png"):
        assert Image.open(path).size == (28, 28)
    summary = json.loads(report.read_text())
    assert (summary["processed"], summary["skipped"], summary["failed"]) == (6, 1, 0)
    assert summary["model"] == "digit-unet" and summary["images_per_second"] > 0
    assert len(summary["model_sha256"]) == len(summary["card_sha256"]) == 64
    assert summary["settings"]["framing"] == "mnist" and summary["seconds"] > 0
    assert "6 processed (0 flagged), 1 skipped (0 up to date), 0 failed" in result.output


def test_run_with_format_same_and_original_size(tmp_path, scan_tree):
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["run", str(scan_tree), str(out), "--format", "same", "--size", "original", "--no-recursive"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir() if not path.name.startswith(".")) == ["one.png", "two.jpg"]
    assert Image.open(out / "two.jpg").size == Image.open(scan_tree / "two.jpg").size


def test_bad_files_are_reported_and_the_rest_is_done(tmp_path, scan_tree):
    (scan_tree / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (scan_tree / "empty.jpg").write_bytes(b"")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scan_tree), str(out), "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 1
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["processed"] == 6 and summary["failed"] == 2
    assert {failure["path"].rsplit("/", 1)[-1] for failure in summary["failures"]} == {"corrupt.png", "empty.jpg"}
    assert "corrupt.png" in result.output


def test_inputs_are_never_modified(tmp_path, scan_tree):
    before = {path: path.read_bytes() for path in scan_tree.rglob("*") if path.is_file()}
    result = runner.invoke(app, ["run", str(scan_tree), str(scan_tree / "out-inside")])
    assert result.exit_code == 0, result.output
    assert {path: path.read_bytes() for path in before} == before
    # The layout where an output path could be an input (the input inside the output) is in test_hostile_inputs.


def test_the_summary_goes_to_stdout_and_failures_to_stderr(tmp_path, scan_tree):
    (scan_tree / "empty.png").write_bytes(b"")
    result = runner.invoke(app, ["run", str(scan_tree), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "processed" in result.stdout and "processed" not in result.stderr
    assert "failed:" in result.stderr and "failed:" not in result.stdout


def test_two_inputs_with_one_output_name_fail_the_second(tmp_path, digits):
    from PIL import Image

    root = tmp_path / "scans"
    root.mkdir()
    image = Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8))
    image.save(root / "a.png")
    image.save(root / "a.jpg")
    result = runner.invoke(
        app, ["run", str(root), str(tmp_path / "out"), "--model", "none", "--report", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 1
    summary = json.loads((tmp_path / "r.json").read_text())
    assert (summary["processed"], summary["failed"]) == (1, 1)
    assert "use format 'same'" in summary["failures"][0]["reason"]


def test_output_inside_input_is_not_fed_back(tmp_path, scan_tree):
    out = scan_tree / "denoised"
    for processed in (6, 0):  # the second run finds everything up to date
        result = runner.invoke(app, ["run", str(scan_tree), str(out), "--report", str(tmp_path / "r.json")])
        assert result.exit_code == 0, result.output
        summary = json.loads((tmp_path / "r.json").read_text())
        assert (summary["processed"], summary["up_to_date"]) == (processed, 6 - processed)
    assert not (out / "denoised").exists()


def test_output_equal_to_input_is_refused(scan_tree):
    result = runner.invoke(app, ["run", str(scan_tree), str(scan_tree)])
    assert result.exit_code == 2
    assert "must differ" in result.output


def test_bad_yaml_key_names_the_key_and_suggests_one(tmp_path, scan_tree):
    config = tmp_path / "settings.yaml"
    config.write_text("polarty: auto\n")
    result = runner.invoke(app, ["run", str(scan_tree), str(tmp_path / "out"), "--config", str(config)])
    assert result.exit_code == 2
    assert "polarty" in result.output and "'polarity'" in result.output
    config.write_text("batch_size: many\n")
    result = runner.invoke(app, ["config", "check", str(config)])
    assert result.exit_code == 2 and "batch_size" in result.output


def test_flags_override_the_config_file(tmp_path, scan_tree):
    config = tmp_path / "settings.yaml"
    config.write_text("model: none\nframing: resize\n")
    result = runner.invoke(app, ["run", str(scan_tree), str(tmp_path / "out"), "--config", str(config),
                                 "--framing", "mnist", "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["model"] == "none" and summary["settings"]["framing"] == "mnist"


def test_example_config_is_valid_and_complete():
    from digit_denoise.config import FIELDS, read_config_file

    assert set(read_config_file("examples/config.yaml")) == set(FIELDS)
    assert runner.invoke(app, ["config", "check", "examples/config.yaml"]).exit_code == 0


def test_models_and_version():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0 and "* digit-unet" in result.output and "conv-dae" in result.output
    assert runner.invoke(app, ["--version"]).output.startswith("digit-denoise ")


def test_importing_the_cli_does_not_import_tensorflow():
    code = "import sys, digit_denoise.cli; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


def test_evaluate_writes_the_documented_schema(tmp_path, mnist_npz):
    path = tmp_path / "results.json"
    plot = tmp_path / "psnr.png"
    result = runner.invoke(app, ["evaluate", "--data", str(mnist_npz), "--limit", "50", "--json", str(path),
                                 "--levels", "0.1,0.2", "--baselines", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert Image.open(plot).size[0] > 100
    rows = json.loads(path.read_text())["results"]
    for row in rows:
        assert set(row) == {"method", "noise", "level", "psnr", "ssim", "images", "seconds"}
        assert math.isfinite(row["psnr"]) and math.isfinite(row["ssim"]) and row["images"] == 50
    psnr = {row["method"]: row["psnr"] for row in rows if row["level"] == 0.2}
    assert {"noisy", "digit-unet", "tv-chambolle", "bilateral", "nl-means", "wavelet"} <= set(psnr)
    assert psnr["digit-unet"] > psnr["noisy"]


def test_preview_writes_a_contact_sheet(tmp_path, scan_tree):
    out = tmp_path / "sheet.png"
    result = runner.invoke(app, ["preview", str(scan_tree), "--out", str(out), "--n", "4", "--per-row", "2"])
    assert result.exit_code == 0, result.output
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[1] > sheet.shape[0]  # two rows of two scans, three pictures each
    from digit_denoise.preview import CAPTION, TILE

    written = sheet[CAPTION + 6 : CAPTION + 6 + TILE, 2 + 2 * (TILE + 2) : 2 + 3 * TILE + 4]
    assert np.median(written) > 128  # the output as run writes it: dark ink on light paper, like the scan


def test_preview_takes_the_settings_flags_that_run_takes(tmp_path, digits):
    root = tmp_path / "scans"
    root.mkdir()
    scan = make_scan(digits[0], size=(60, 150), offset=(2, 40), noise=0.03)  # wide: 2.5 times as wide as high
    Image.fromarray((scan * 255).round().astype(np.uint8)).save(root / "wide.png")
    from digit_denoise.preview import CAPTION, TILE

    written = {}
    for size in ("model", "original"):
        out = tmp_path / f"{size}.png"
        result = runner.invoke(app, ["preview", str(root), "--out", str(out), "--size", size, "--levels", "normalize"])
        assert result.exit_code == 0, result.output
        sheet = np.asarray(Image.open(out))
        written[size] = sheet[CAPTION + 6 : CAPTION + 6 + TILE, 2 + 2 * (TILE + 2) : 2 + 3 * TILE + 4]
    # At 28x28 the written output fills its tile; at the scan's own size it keeps the scan's shape, a band
    # across the tile's middle with the sheet's mid-grey above and below.
    assert (written["model"][:10] != 128).any()
    assert (written["original"][:20] == 128).all() and (written["original"][-20:] == 128).all()
    assert written["original"][TILE // 2].max() == 255  # paper written white, as levels 'normalize' asks


def test_the_previews_written_column_is_what_run_writes_for_a_large_scan_at_size_original(tmp_path, digits):
    from digit_denoise import denoise_folder
    from digit_denoise.preview import CAPTION, TILE, _fitted, contact_sheet
    from digit_denoise.scans import to_grayscale

    root = tmp_path / "scans"
    root.mkdir()
    scan = np.kron(make_scan(digits[1], noise=0.03), np.ones((6, 6)))  # 540x480: shrunk on decoding by run
    Image.fromarray((scan * 255).round().astype(np.uint8)).save(root / "large.png")
    denoise_folder(root, tmp_path / "out", model="none", size="original")
    written = _fitted(to_grayscale(np.asarray(Image.open(tmp_path / "out" / "large.png"))))
    sheet = contact_sheet(root, model="none", size="original")
    assert np.array_equal(sheet[CAPTION + 6 : CAPTION + 6 + TILE, 2 + 2 * (TILE + 2) : 2 + 3 * TILE + 4], written)


def test_outputs_keep_the_input_bit_depth(tmp_path, digits):
    root = tmp_path / "scans"
    root.mkdir()
    scan = make_scan(digits[0], noise=0.03)
    Image.fromarray((scan * 65535).round().astype(np.uint16)).save(root / "deep.png")
    Image.fromarray((scan * 65535).round().astype(np.uint16)).save(root / "deep.tif")
    Image.fromarray((scan * 255).round().astype(np.uint8)).save(root / "plain.pgm")
    result = runner.invoke(app, ["run", str(root), str(tmp_path / "out"), "--format", "same", "--size", "original"])
    assert result.exit_code == 0, result.output
    for name, dtype in (("deep.png", np.uint16), ("deep.tif", np.uint16), ("plain.pgm", np.uint8)):
        out = np.asarray(Image.open(tmp_path / "out" / name))
        assert out.dtype == dtype and out.shape == scan.shape, name
        assert np.median(out) > 0.7 * np.iinfo(dtype).max  # light paper, as in the input


def test_baseline_tuning_picks_the_best_parameter_of_its_grid(digits):
    from digit_denoise.evaluation import BASELINES, _apply, _tune
    from digit_denoise.models.metrics import score
    from digit_denoise.models.noise import add_gaussian_noise

    clean = digits[:20]
    noisy = add_gaussian_noise(clean, 0.2, np.random.default_rng(0))
    function, grid = BASELINES["tv-chambolle"]
    scores = {parameter: score(clean, _apply(function, noisy, parameter))[0] for parameter in grid}
    assert scores[_tune("tv-chambolle", clean, noisy)] == max(scores.values())


def test_baselines_are_blind_and_at_their_best_and_the_plot_says_what_it_shows(mnist_npz):
    from digit_denoise import evaluate
    from digit_denoise.evaluation import results_figure

    rows = evaluate(mnist_npz, models=(), baselines=True, levels=(0.4,), limit=40)
    psnr = {row["method"]: row["psnr"] for row in rows}
    assert psnr["nl-means"] > psnr["noisy"] + 1  # told the nominal sigma of clipped noise, it fell below the input
    figure = results_figure(rows)
    assert figure.axes[0].get_title() == "Denoising 40 MNIST test digits, gaussian noise"


def test_the_man_page_covers_every_command_and_setting():
    from digit_denoise import Settings

    result = runner.invoke(app, ["man"])
    assert result.exit_code == 0 and result.stdout.startswith(".TH DIGIT-DENOISE 1")
    for command in ("run", "watch", "models", "train", "evaluate", "preview", "config"):
        assert f".SS {command}\n" in result.stdout
    for name, *_ in Settings.describe():
        assert "\\-\\-" + name.replace("_", "\\-") in result.stdout, name
