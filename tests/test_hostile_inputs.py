"""Hostile inputs and faults (issue 10): no data loss, no traceback, no run that fails every night.

Each test reproduces one case from the red-team report, through the CLI where the user meets it.
"""

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import make_scan
from PIL import Image
from typer.testing import CliRunner

from digit_denoise import ConfigError, ModelError, ScanAdapter, ScanError, denoise_folder, make_settings
from digit_denoise.cli import app
from digit_denoise.manifest import LOCK_NAME, MANIFEST_NAME
from digit_denoise.scans import read_scan

runner = CliRunner()
CLI = [sys.executable, "-c", "from digit_denoise.cli import main; main()"]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def save_scan(path, digit, **options):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((make_scan(digit, **options) * 255).round().astype(np.uint8)).save(path)
    return path


def snapshot(folder):
    return {path: path.read_bytes() for path in Path(folder).rglob("*") if path.is_file()}


def run(*args):
    return runner.invoke(app, ["run", *map(str, args)])


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tmpfs (root only); yields a function ``mount(folder, options)`` and unmounts at the end."""
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root")
    mounted = []

    def mount(folder, options):
        folder.mkdir(parents=True, exist_ok=True)
        if subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
        ).returncode:
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


# D1 -------------------------------------------------------------------------------------------


def test_an_input_folder_inside_the_output_folder_is_refused_and_nothing_changes(tmp_path, digits):
    inputs = tmp_path / "x" / "o" / "in"
    save_scan(inputs / "a.png", digits[0])
    save_scan(inputs / "in" / "a.png", digits[1])
    (inputs / ".keep.ddtmp.png").write_bytes((inputs / "a.png").read_bytes())
    before = snapshot(tmp_path / "x")
    result = run(inputs, tmp_path / "x" / "o")
    assert result.exit_code == 2
    assert "inside this output folder" in result.stderr and "Traceback" not in result.output
    assert snapshot(tmp_path / "x") == before  # no input overwritten, the user's look-alike temporary kept


def test_an_output_folder_inside_the_input_folder_never_replaces_a_scan_already_there(tmp_path, digits):
    # The walk leaves the output folder out, so scans/sub/a.png is no input of this run, but it is the user's scan:
    # scans/a.png's output must not replace it. A file the run wrote there itself is redone as usual.
    scans = tmp_path / "scans"
    save_scan(scans / "a.png", digits[0])
    save_scan(scans / "b.png", digits[1])
    save_scan(scans / "sub" / "a.png", digits[2])
    before = snapshot(scans / "sub")
    result = run(scans, scans / "sub", "--model", "none")
    assert result.exit_code == 1
    assert "would replace" in result.stderr and "sub/a.png" in result.stderr and "Traceback" not in result.output
    assert (scans / "sub" / "a.png").read_bytes() == before[scans / "sub" / "a.png"]
    assert (scans / "sub" / "b.png").exists()
    os.utime(scans / "b.png", ns=(1, 1))  # b's scan changed: its output, known to the manifest, is redone
    again = run(scans, scans / "sub", "--model", "none", "--report", tmp_path / "r.json")
    assert again.exit_code == 1 and json.loads((tmp_path / "r.json").read_text())["processed"] == 1
    assert (scans / "sub" / "a.png").read_bytes() == before[scans / "sub" / "a.png"]


def test_a_manifest_of_the_version_before_keeps_its_outputs_known_and_has_them_redone_once(tmp_path, digits):
    scans = tmp_path / "scans"
    save_scan(scans / "a.png", digits[0])
    assert run(scans, scans / "out", "--model", "none").exit_code == 0
    with sqlite3.connect(scans / "out" / MANIFEST_NAME) as db:  # as the version before wrote it: schema 2, no flags
        db.execute("ALTER TABLE outputs DROP COLUMN flag")
        db.execute("PRAGMA user_version = 2")
    db.close()
    report = tmp_path / "r.json"
    result = run(scans, scans / "out", "--model", "none", "--report", report, "--dry-run")
    assert result.exit_code == 0, result.output  # a dry run, which upgrades nothing, knows it as this tool's too
    assert (json.loads(report.read_text())["failed"], len(json.loads(report.read_text())["planned"])) == (0, 1)
    with sqlite3.connect(scans / "out" / MANIFEST_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2  # and left as it was
    db.close()
    result = run(scans, scans / "out", "--model", "none", "--report", report)
    assert result.exit_code == 0, result.output  # its output is known as this tool's, so it may be replaced
    assert json.loads(report.read_text())["processed"] == 1  # redone, to learn whether it is flagged
    assert run(scans, scans / "out", "--model", "none", "--report", report).exit_code == 0
    assert json.loads(report.read_text())["up_to_date"] == 1


def test_inputs_are_never_modified_even_beside_the_outputs(tmp_path, digits):
    scans = tmp_path / "scans"
    for index in range(3):
        save_scan(scans / f"{index}.png", digits[index])
    save_scan(scans / "sub" / "0.png", digits[3])  # would collide with 0.png's output if the tree were flattened
    (scans / ".0.ddtmp.png").write_bytes(b"the user's own file")
    before = snapshot(scans)
    out = tmp_path / "out"
    result = run(scans, out, "--model", "none")
    assert result.exit_code == 0, result.output
    assert snapshot(scans) == before
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["0.png", "1.png", "2.png", "sub/0.png"]


# D2, D13 and messages about odd file names -----------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_done_and_recorded(tmp_path, digits):
    scans = tmp_path / "scans"
    save_scan(scans / os.fsdecode(b"a\xffb.png"), digits[0])
    save_scan(scans / "plain.png", digits[1])
    report = tmp_path / "report.json"
    for processed in (2, 0):
        result = run(scans, tmp_path / "out", "--model", "none", "--report", report)
        assert result.exit_code == 0, result.output
        summary = json.loads(report.read_text(encoding="utf-8"))
        assert (summary["processed"], summary["up_to_date"]) == (processed, 2 - processed)
    assert (tmp_path / "out" / os.fsdecode(b"a\xffb.png")).exists()


def test_a_name_of_255_bytes_can_be_written(tmp_path, digits):
    name = "n" * 251 + ".png"
    save_scan(tmp_path / "scans" / name, digits[0])
    result = run(tmp_path / "scans", tmp_path / "out", "--model", "none")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / name).exists()


def test_a_failing_file_name_cannot_forge_log_lines(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "bad\n2026-01-01 00:00:00 INFO all good.png").write_bytes(b"not an image")
    (scans / os.fsdecode(b"bad\xff.png")).write_bytes(b"")
    log = tmp_path / "run.log"
    result = run(scans, tmp_path / "out", "--model", "none", "--log-file", log)
    assert result.exit_code == 1
    lines = log.read_text(encoding="utf-8").splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) ", line) for line in lines)
    assert sum("failed:" in line for line in lines) == 2 and "bad\\x0a2026" in log.read_text()
    assert "bad\\xff.png" in result.stderr


# D3, D8 and the manifest's trust ---------------------------------------------------------------


def test_a_corrupt_manifest_is_moved_aside_and_rebuilt(tmp_path, digits):
    scans = tmp_path / "scans"
    for index in range(3):
        save_scan(scans / f"{index}.png", digits[index])
    out = tmp_path / "out"
    assert run(scans, out, "--model", "none").exit_code == 0
    with open(out / MANIFEST_NAME, "r+b") as manifest:
        manifest.truncate(100)
    result = run(scans, out, "--model", "none")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("warning:") == 1 and "moved it aside" in result.stderr
    assert "3 processed" in result.stdout
    assert len(list(out.glob(f"{MANIFEST_NAME}.corrupt-*"))) == 1
    assert "0 processed" in run(scans, out, "--model", "none").stdout


def test_planted_symlinks_at_the_manifest_or_the_lock_are_refused(tmp_path, digits):
    save_scan(tmp_path / "scans" / "a.png", digits[0])
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    before = other.read_bytes()
    for name in (MANIFEST_NAME, LOCK_NAME):
        out = tmp_path / f"out-{name}"
        out.mkdir()
        (out / name).symlink_to(other)
        result = run(tmp_path / "scans", out, "--model", "none")
        assert result.exit_code == 2, result.output
        assert "symlink" in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert other.read_bytes() == before
        assert not (out / "a.png").exists()


def test_an_output_changed_or_removed_since_is_redone(tmp_path, digits):
    scans = tmp_path / "scans"
    for index in range(3):
        save_scan(scans / f"{index}.png", digits[index])
    out = tmp_path / "out"
    assert denoise_folder(scans, out, model="none").processed == 3
    good = (out / "0.png").read_bytes()
    (out / "0.png").write_bytes(b"junk")
    (out / "1.png").unlink()
    summary = denoise_folder(scans, out, model="none")
    assert (summary.processed, summary.up_to_date) == (2, 1)
    assert (out / "0.png").read_bytes() == good


def test_an_input_rewritten_to_another_size_with_its_mtime_restored_is_redone(tmp_path, digits):
    scans = tmp_path / "scans"
    scan = save_scan(scans / "a.png", digits[0])
    out = tmp_path / "out"
    assert denoise_folder(scans, out, model="none").processed == 1
    stat = scan.stat()
    save_scan(scan, digits[1], size=(120, 100))
    os.utime(scan, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert scan.stat().st_size != stat.st_size
    assert denoise_folder(scans, out, model="none").processed == 1


# D4, D11: a full disk and an unwritable output folder ------------------------------------------


def test_a_full_disk_stops_the_run_with_a_summary_and_a_report_and_the_rerun_finishes(tmp_path, digits, tmpfs):
    scans = tmp_path / "scans"
    for index in range(300):
        save_scan(scans / f"{index:03d}.png", digits[index], size=(60, 60), offset=(2, 2))
    disk = tmpfs(tmp_path / "disk", "size=256k")
    out, report = disk / "out", tmp_path / "report.json"
    result = run(scans, out, "--model", "none", "--batch-size", "16", "--report", report)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "stopped early" in result.stdout
    summary = json.loads(report.read_text())
    assert summary["stopped"] and 0 < summary["processed"] < 300
    assert summary["failed"] <= 3 * 16  # stopped at once: at most the batches in flight failed, not the rest
    with sqlite3.connect(f"file:{out / MANIFEST_NAME}?mode=ro", uri=True) as db:
        recorded = db.execute("SELECT COUNT(*) FROM outputs").fetchone()[0]
    assert recorded == summary["processed"]  # everything counted is recorded
    assert not [p for p in out.rglob("*") if ".ddtmp" in p.name]
    subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)
    rerun = run(scans, out, "--model", "none", "--report", report)
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(report.read_text())["processed"] == 300 - summary["processed"]


def test_a_read_only_output_folder_is_one_line_and_exit_code_2(tmp_path, digits, tmpfs):
    save_scan(tmp_path / "scans" / "a.png", digits[0])
    read_only = tmpfs(tmp_path / "ro", "ro,size=64k")
    result = run(tmp_path / "scans", read_only, "--model", "none")
    assert result.exit_code == 2, result.output
    assert "cannot write to the output folder" in result.stderr and len(result.stderr.strip().splitlines()) == 1


# D5, D14, D15: settings and paths checked before any work ---------------------------------------


def test_a_yaml_bomb_gives_a_short_message(tmp_path):
    value = "&p0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"
    for level in range(1, 9):  # each level holds the one below nine times: 9**9 numbers once expanded
        value = f"&p{level} [{value}, " + ", ".join([f"*p{level - 1}"] * 8) + "]"
    config = tmp_path / "bomb.yaml"
    config.write_text(f"percentiles: {value}\n")
    result = runner.invoke(app, ["config", "check", str(config)])
    assert result.exit_code == 2
    assert "percentiles" in result.stderr and len(result.output) < 1000


def test_a_yaml_syntax_error_is_one_line_that_says_where(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("size: original\n\tlevels: restore\n")  # a tab where YAML wants spaces
    result = runner.invoke(app, ["config", "check", str(config)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "\\x0a" not in result.stderr
    assert "broken.yaml" in result.stderr and "line 2, column 1" in result.stderr


def test_a_config_file_that_is_not_utf8_names_the_file(tmp_path):
    config = tmp_path / "latin1.yaml"
    config.write_bytes("# r\xe9glages\nmodel: none\n".encode("latin-1"))
    result = runner.invoke(app, ["config", "check", str(config)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr and str(config) in result.stderr


@pytest.mark.parametrize("option", ["--report", "--log-file"])
def test_a_report_or_log_in_a_missing_folder_is_refused_before_any_work(tmp_path, digits, option):
    save_scan(tmp_path / "scans" / "a.png", digits[0])
    result = run(tmp_path / "scans", tmp_path / "out", "--model", "none", option, tmp_path / "missing" / "f")
    assert result.exit_code == 2
    assert option in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "out").exists()


def test_batch_size_zero_is_refused():
    with pytest.raises(ConfigError, match="batch_size"):
        make_settings(batch_size=0)


# D6, D10: discovery ----------------------------------------------------------------------------


def test_symlink_loops_are_walked_once(tmp_path, digits):
    root = tmp_path / "l"
    save_scan(root / "scan-000.png", digits[0])
    (root / "sub").mkdir()
    (root / "sub" / "loop").symlink_to(".")
    (root / "sub" / "up").symlink_to("..")
    result = run(root, tmp_path / "lo", "--follow-symlinks", "--model", "none", "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["processed"] == 1
    assert sum("loop" in skipped["reason"] for skipped in summary["skipped_files"]) == 2


def test_unreadable_folders_fail_and_hidden_files_and_outward_links_are_listed(tmp_path, digits, monkeypatch):
    root = tmp_path / "in"
    save_scan(root / "a.png", digits[0])
    save_scan(root / "sub" / "b.png", digits[1])
    save_scan(root / ".hidden.png", digits[2])
    outside = tmp_path / "outside"
    save_scan(outside / "c.png", digits[3])
    (root / "elsewhere").symlink_to(outside)
    real_scandir = os.scandir

    def scandir(path="."):  # what a folder with mode 000 gives a user who is not root
        if Path(path) == root / "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    summary = denoise_folder(root, tmp_path / "out", model="none")
    monkeypatch.undo()
    assert summary.processed == 1 and summary.failed == 1
    assert summary.failures[0]["path"] == str(root / "sub") and "cannot list" in summary.failures[0]["reason"]
    skipped = {Path(item["path"]).name: item["reason"] for item in summary.skipped_files}
    assert "hidden" in skipped[".hidden.png"] and "leading out" in skipped["elsewhere"]


# D7, D12 and model files -----------------------------------------------------------------------


def _save_model(path, build):
    import keras

    inputs = keras.Input((28, 28))
    keras.Model(inputs, build(inputs)).save(path)
    return path


def test_a_model_whose_output_is_not_a_digit_is_refused_at_load(tmp_path, digits):
    import keras

    model = _save_model(tmp_path / "classifier.keras", lambda x: keras.layers.Dense(10)(keras.layers.Flatten()(x)))
    save_scan(tmp_path / "scans" / "a.png", digits[0])
    result = run(tmp_path / "scans", tmp_path / "out", "--model", model)
    assert result.exit_code == 2
    assert "output has shape" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_garbage_keras_file_is_not_reported_as_missing(tmp_path):
    from digit_denoise import load_denoiser

    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError, match="not a .keras model file") as caught:
        load_denoiser(garbage)
    assert "not found" not in str(caught.value).lower()


def test_a_model_with_a_lambda_layer_is_refused(tmp_path):
    import keras

    from digit_denoise import load_denoiser

    model = _save_model(tmp_path / "lambda.keras", lambda x: keras.layers.Lambda(lambda t: t * 1.0)(x))
    with pytest.raises(ModelError, match="safe_mode"):
        load_denoiser(model)


def test_outputs_of_nan_fail_and_are_not_recorded(tmp_path, digits):
    import keras

    from digit_denoise import Denoiser

    inputs = keras.Input((28, 28))
    broken = Denoiser("nan", {"name": "nan"}, model=keras.Model(inputs, keras.layers.Rescaling(float("nan"))(inputs)))
    for index in range(3):
        save_scan(tmp_path / "scans" / f"{index}.png", digits[index])
    summary = denoise_folder(tmp_path / "scans", tmp_path / "out", denoiser=broken)
    assert (summary.processed, summary.failed) == (0, 3)
    assert "NaN" in summary.failures[0]["reason"]
    assert not list((tmp_path / "out").glob("*.png"))


# D9: wrong output, silently --------------------------------------------------------------------


def test_exif_orientation_is_applied(tmp_path, digits):
    scan = (make_scan(digits[0], size=(120, 80), offset=(30, 12)) * 255).round().astype(np.uint8)
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(scan)))  # stored 80x120, shown 120 rows x 80 columns
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    stored.save(tmp_path / "photo.jpg", exif=exif, quality=95)
    assert read_scan(tmp_path / "photo.jpg").pixels.shape == (120, 80)
    out = tmp_path / "out"
    result = run(tmp_path, out, "--model", "none", "--size", "original", "--no-recursive")
    assert result.exit_code == 0, result.output
    assert np.asarray(Image.open(out / "photo.png")).shape == (120, 80)


def test_a_float_tiff_of_0_to_255_values_is_read_as_such(tmp_path, digits):
    scan = (make_scan(digits[0]) * 255).round().astype(np.uint8)
    Image.fromarray(scan).save(tmp_path / "bytes.png")
    Image.fromarray(scan.astype(np.float32), mode="F").save(tmp_path / "floats.tif")
    out = tmp_path / "out"
    assert run(tmp_path, out, "--model", "none", "--format", "same", "--no-recursive").exit_code == 0
    as_bytes = np.asarray(Image.open(out / "bytes.png"), dtype=np.float64)
    as_floats = np.asarray(Image.open(out / "floats.tif"), dtype=np.float64)
    assert as_bytes.std() > 30  # a digit, not a blank
    assert np.abs(as_floats - as_bytes).max() <= 1.0  # the same digit, on the same 0-255 scale


def test_a_multi_page_tiff_fails_with_its_reason(tmp_path, digits):
    pages = [Image.fromarray((make_scan(d) * 255).astype(np.uint8)) for d in digits[:3]]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:])
    summary = denoise_folder(tmp_path, tmp_path / "out", model="none", recursive=False)
    assert summary.failed == 1 and "3 pages" in summary.failures[0]["reason"]


def test_a_missing_file_or_a_folder_given_to_the_api_is_named_as_such(tmp_path):
    (tmp_path / "folder.png").mkdir()
    for path, reason in ((tmp_path / "missing.png", "no such file"), (tmp_path / "folder.png", "a folder")):
        with pytest.raises(ScanError, match=reason) as raised:
            read_scan(path)
        assert "corrupt" not in str(raised.value) and str(path) in str(raised.value)


@pytest.mark.parametrize("size", [40, 300])  # read whole, and shrunk on decoding
def test_a_32_bit_integer_image_fails_with_its_reason_and_name(tmp_path, digits, size):
    Image.fromarray(np.full((size, size), 1 << 20, np.int32), mode="I").save(tmp_path / "deep.tif")
    Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8)).save(tmp_path / "fine.png")
    summary = denoise_folder(tmp_path, tmp_path / "out", model="none", recursive=False)
    assert summary.processed == 1 and summary.failed == 1
    assert "32-bit integer images are not supported" in summary.failures[0]["reason"]
    with pytest.raises(ScanError, match="deep.tif"):
        ScanAdapter().read(tmp_path / "deep.tif")


# Memory and limits -----------------------------------------------------------------------------

PEAK_RSS = """
import sys
from digit_denoise import ScanAdapter
ScanAdapter().read(sys.argv[1])
with open("/proc/self/status") as status:  # VmHWM: this process's own peak (ru_maxrss may carry the parent's)
    print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
@pytest.mark.parametrize("mode", ["P", "I;16"])
def test_a_huge_palette_or_16_bit_png_decodes_in_bounded_memory(tmp_path, mode):
    side = 7000
    if mode == "P":
        image = Image.new("P", (side, side), 1)
        image.putpalette([255, 255, 255, 20, 20, 20] + [0] * 762)
        image.paste(0, (3000, 3000, 4000, 4500))
    else:
        image = Image.new("I;16", (side, side), 60000)
        image.paste(500, (3000, 3000, 4000, 4500))
    image.save(tmp_path / "big.png")
    measured = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, str(tmp_path / "big.png")], capture_output=True, text=True
    )
    assert measured.returncode == 0, measured.stderr
    assert int(measured.stdout) < 400  # MiB; decoding to RGBA or float64 in full took 1,750


def test_max_pixels_is_checked_on_small_files():
    buffer = io.BytesIO()
    Image.new("L", (200, 180), 255).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "small.png"
    with pytest.raises(ScanError, match="over the limit of 1,000 pixels"):
        read_scan(buffer, max_pixels=1000)


def test_a_max_pixels_above_pillows_own_limit_is_honoured(tmp_path):
    from test_batch_runs import huge_png_header

    huge_png_header(tmp_path / "wide.png", width=10_000, height=9_500)  # 95 Mpx: over Pillow's default 89.5
    with pytest.raises(ScanError) as caught:
        read_scan(tmp_path / "wide.png", max_pixels=100_000_000)
    assert "limit" not in str(caught.value)  # let through, and then found truncated
    with pytest.raises(ScanError, match="over the limit of 90,000,000 pixels; raise max_pixels"):
        read_scan(tmp_path / "wide.png", max_pixels=90_000_000)


# D7 in a real process: a plugin that raises SystemExit -----------------------------------------


def test_a_plugin_that_raises_system_exit_is_reported_and_skipped(tmp_path):
    site = tmp_path / "site"
    (site / "rude").mkdir(parents=True)
    (site / "rude" / "__init__.py").write_text("def model():\n    raise SystemExit(42)\n")
    info = site / "rude-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rude\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[digit_denoise.models]\nrude = rude:model\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    listed = subprocess.run([*CLI, "models"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "skipped broken plugin rude" in listed.stderr and "SystemExit" in listed.stderr
    assert "digit-unet" in listed.stdout


def test_the_first_write_that_finds_the_disk_full_stops_the_run(tmp_path, digits, monkeypatch):
    import errno

    for index in range(40):
        save_scan(tmp_path / "scans" / f"{index:02d}.png", digits[index])
    real_replace = os.replace
    written = []

    def fills_up(source, target):
        if len(written) >= 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        written.append(target)
        return real_replace(source, target)

    monkeypatch.setattr("digit_denoise.files.os.replace", fills_up)
    summary = denoise_folder(tmp_path / "scans", tmp_path / "out", model="none", batch_size=4, workers=1)
    assert "No space left" in summary.stopped
    assert summary.processed == 5 and summary.failed <= 3 * 4  # the batches in flight, not the other 30 files
    assert not summary.stopped_at_max_failures and not summary.interrupted


def test_a_dry_run_writes_nothing_even_beside_a_corrupt_manifest(tmp_path, digits):
    save_scan(tmp_path / "scans" / "a.png", digits[0])
    out = tmp_path / "out"
    assert denoise_folder(tmp_path / "scans", out, model="none").processed == 1
    assert denoise_folder(tmp_path / "scans", out, model="none", dry_run=True).planned == []
    (out / MANIFEST_NAME).write_bytes(b"not a database" * 10)
    before = snapshot(out)
    assert len(denoise_folder(tmp_path / "scans", out, model="none", dry_run=True).planned) == 1
    assert snapshot(out) == before
