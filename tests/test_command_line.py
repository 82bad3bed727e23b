"""The command line as people expect it: -h, --version, quiet TensorFlow, an empty input's own exit code,
a dry run's count, a log of JSON lines, what changed since the last run, metadata and WebP kept."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import make_scan, write_scans
from PIL import Image
from typer.testing import CliRunner

from digit_denoise import denoise_folder
from digit_denoise.cli import app

CLI = [sys.executable, "-c", "from digit_denoise.cli import main; main()"]


@pytest.fixture
def scans(tmp_path, digits):
    return write_scans(tmp_path / "scans", digits, 6, folder=lambda i: f"part-{i % 2}", name=lambda i: f"{i}.png",
                       noise=0.05)


def test_short_help_and_a_version_with_the_models_and_libraries():
    runner = CliRunner()
    assert runner.invoke(app, ["run", "-h"]).exit_code == 0
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert "model digit-unet: sha256 " in result.stdout and "keras " in result.stdout and "Python " in result.stdout


def test_tensorflow_start_up_lines_are_held_back_unless_verbose(tmp_path, scans):
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    quiet = subprocess.run([*CLI, "run", str(scans), str(tmp_path / "a")], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "", quiet.stderr  # the summary goes to stdout; TensorFlow said nothing
    verbose = subprocess.run([*CLI, "--verbose", "run", str(scans), str(tmp_path / "b")], capture_output=True,
                             text=True, env=env)
    assert verbose.returncode == 0 and ("oneDNN" in verbose.stderr or "absl" in verbose.stderr), verbose.stderr


def test_an_empty_input_has_its_own_exit_code_unless_allowed(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a scan")
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(tmp_path / "empty"), str(tmp_path / "out")])
    assert result.exit_code == 4 and "no image files found in" in result.stderr
    assert runner.invoke(app, ["run", str(tmp_path / "empty"), str(tmp_path / "out"), "--allow-empty"]).exit_code == 0


def test_a_dry_run_counts_and_a_changed_setting_is_announced(tmp_path, scans):
    runner = CliRunner()
    out = str(tmp_path / "out")
    assert runner.invoke(app, ["run", str(scans), out, "-m", "none"]).exit_code == 0
    dry = runner.invoke(app, ["run", str(scans), out, "-m", "none", "--levels", "normalize", "--dry-run"])
    assert dry.exit_code == 0
    assert "would process 6 files (0 up to date)" in dry.stdout
    assert "changed since the last run: 6 outputs would be redone" in dry.stderr
    again = runner.invoke(app, ["run", str(scans), out, "-m", "none", "--dry-run"])
    assert "would process 0 files (6 up to date)" in again.stdout and "changed since" not in again.stderr


def test_the_log_can_be_json_lines(tmp_path, scans):
    log = tmp_path / "run.log"
    result = CliRunner().invoke(app, ["run", str(scans), str(tmp_path / "out"), "-m", "none", "--log-file", str(log),
                                      "--log-format", "json"])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"time", "level", "message"} <= set(lines[-1]) and "6 processed" in lines[-1]["message"]


def test_progress_is_reported_against_the_files_found(tmp_path, scans):
    seen = []
    denoise_folder(scans, tmp_path / "out", model="none", batch_size=2, workers=1,
                   on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6, 6) and [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_dpi_and_the_icc_profile_are_kept_at_the_scans_own_size(tmp_path, digits):
    from PIL import ImageCms

    root = tmp_path / "scans"
    root.mkdir()
    pixels = (make_scan(digits[0]) * 255).round().astype(np.uint8)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(pixels).save(root / "a.png", dpi=(300, 300), icc_profile=icc)
    Image.fromarray(pixels).save(root / "b.jpg", dpi=(600, 600), quality=95)
    denoise_folder(root, tmp_path / "out", model="none", size="original", format="same")
    with Image.open(tmp_path / "out" / "a.png") as image:
        assert tuple(round(v) for v in image.info["dpi"]) == (300, 300) and image.info["icc_profile"] == icc
    with Image.open(tmp_path / "out" / "b.jpg") as image:
        assert tuple(round(v) for v in image.info["dpi"]) == (600, 600)


def test_webp_is_read_and_kept(tmp_path, digits):
    root = tmp_path / "scans"
    root.mkdir()
    Image.fromarray((make_scan(digits[1]) * 255).round().astype(np.uint8)).save(root / "a.webp", lossless=True)
    summary = denoise_folder(root, tmp_path / "out", model="none", format="same")
    assert summary.processed == 1
    with Image.open(tmp_path / "out" / "a.webp") as image:
        assert image.format == "WEBP"


def test_files_folders_stdin_and_globs_are_all_inputs(tmp_path, scans):
    runner = CliRunner()
    one = scans / "part-0" / "0.png"
    result = runner.invoke(app, ["run", str(one), str(scans / "part-1"), str(tmp_path / "out"), "-m", "none"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.png")) == ["0.png", "1.png", "3.png", "5.png"]
    listed = "\0".join(str(p) for p in sorted(scans.rglob("*.png"))[:2]) + "\0"
    result = runner.invoke(app, ["run", "-", str(tmp_path / "stdin"), "-m", "none", "-0"], input=listed)
    assert result.exit_code == 0 and len(list((tmp_path / "stdin").glob("*.png"))) == 2
    result = runner.invoke(app, ["run", str(scans), str(tmp_path / "globs"), "-m", "none", "--include", "part-1/*",
                                 "--exclude", "*5.png"])
    assert result.exit_code == 0
    assert sorted(p.relative_to(tmp_path / "globs").as_posix() for p in (tmp_path / "globs").rglob("*.png")) == [
        "part-1/1.png", "part-1/3.png"]


def test_two_inputs_claiming_one_output_name_do_not_overwrite_each_other(tmp_path, digits):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8)).save(tmp_path / folder / "x.png")
    summary = denoise_folder([tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"], tmp_path / "out", model="none")
    assert summary.processed == 1 and summary.failed == 1 and "also that of" in summary.failures[0]["reason"]


def test_the_api_denoises_a_file_by_its_path(tmp_path, digits):
    from digit_denoise import denoise

    path = tmp_path / "scan.png"
    Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8)).save(path)
    assert denoise(path, model="none").shape == (28, 28)


def test_watch_does_what_is_new_after_each_change(tmp_path, digits):
    import threading

    from digit_denoise import watch_folders

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8)).save(inbox / "first.png")
    stop = threading.Event()
    passes = watch_folders(inbox, tmp_path / "out", model="none", stop=stop, debounce_ms=50)
    assert next(passes).processed == 1
    dropped = threading.Timer(0.5, lambda: Image.fromarray((make_scan(digits[1]) * 255).astype(np.uint8)).save(
        inbox / "second.png"))
    dropped.start()
    second = next(passes)
    assert (second.processed, second.up_to_date) == (1, 1) and (tmp_path / "out" / "second.png").exists()
    stop.set()
    assert next(passes, None) is None


def test_watch_misses_no_file_dropped_in_just_after_its_first_pass(tmp_path, digits):
    import threading

    from digit_denoise import watch_folders

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    stop = threading.Event()
    passes = watch_folders(inbox, tmp_path / "out", model="none", stop=stop, debounce_ms=50)
    assert next(passes).processed == 0
    Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8)).save(inbox / "early.png")  # before next() runs
    give_up = threading.Timer(15, stop.set)
    give_up.start()
    second = next(passes, None)
    give_up.cancel()
    stop.set()
    assert second is not None and second.processed == 1 and (tmp_path / "out" / "early.png").exists()


def test_watch_refuses_a_missing_input_before_watching_anything(tmp_path, monkeypatch):
    import watchfiles

    from digit_denoise.cli import app

    watched = []  # a missing input would have its parent watched, which may be all of /tmp
    monkeypatch.setattr(watchfiles, "watch", lambda *folders, **options: watched.append(folders) or iter(()))
    result = CliRunner().invoke(app, ["watch", str(tmp_path / "missing"), str(tmp_path / "out"), "-m", "none"])
    assert result.exit_code == 2 and "missing: no such file or folder" in result.stderr and not watched


def test_watch_end_to_end_waits_for_a_half_written_file_and_stops_on_sigterm(tmp_path, digits):
    import io
    import signal
    import time

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    command = [*CLI, "watch", str(inbox), str(out), "-m", "none", "--report", str(tmp_path / "r.json")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_for(condition, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not condition():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()  # first: reading the stderr of a watcher that runs on would hang, not fail
                pytest.fail(f"no {what}: {process.stderr.read()}")
            time.sleep(0.05)

    try:
        wait_for(lambda: (out / ".digit-denoise-manifest.sqlite").exists(), "first pass")  # the watcher is on now
        for index in range(2):  # dropped in one by one
            Image.fromarray((make_scan(digits[index]) * 255).astype(np.uint8)).save(inbox / f"{index}.png")
            wait_for(lambda index=index: (out / f"{index}.png").exists(), f"output {index}")
        encoded = io.BytesIO()
        Image.fromarray((make_scan(digits[2]) * 255).astype(np.uint8)).save(encoded, "PNG")
        with open(inbox / "slow.png", "wb") as half_written:
            half_written.write(encoded.getvalue()[:200])
            half_written.flush()
            time.sleep(0.6)  # a pass now would find a truncated PNG
            half_written.write(encoded.getvalue()[200:])
        wait_for(lambda: (out / "slow.png").exists(), "output of the slow file")
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "failed" not in stderr and json.loads((tmp_path / "r.json").read_text())["failed"] == 0


@pytest.mark.parametrize("suffix", [".gif", ".tga", ".jp2"])
def test_what_pillow_reads_is_read_and_kept_where_pillow_can_write_it(tmp_path, digits, suffix):
    from digit_denoise.scans import pillow_formats, writable_suffix

    assert writable_suffix(".psd") == ".png" and ".psd" in pillow_formats()  # read, but written as PNG
    if suffix not in pillow_formats():
        pytest.skip(f"this Pillow cannot read {suffix}")
    root = tmp_path / "scans"
    root.mkdir()
    Image.fromarray((make_scan(digits[2]) * 255).astype(np.uint8)).save(root / f"a{suffix}")
    summary = denoise_folder(root, tmp_path / "out", model="none", format="same")
    assert summary.processed == 1, summary.failures
    assert (tmp_path / "out" / f"a{suffix}").exists()
