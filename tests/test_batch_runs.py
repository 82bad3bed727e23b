"""Cron-grade runs: kills, re-runs, locks, bad files and write failures, with real files and processes."""

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import make_scan, write_scans
from PIL import Image
from typer.testing import CliRunner

from digit_denoise import denoise_folder
from digit_denoise.cli import app
from digit_denoise.files import is_temporary_name, temporary_name
from digit_denoise.manifest import MANIFEST_NAME

CLI = [sys.executable, "-c", "from digit_denoise.cli import main; main()"]


@pytest.fixture(scope="module")
def many_scans(tmp_path_factory, digits):
    """300 scans of 200x180 px in two folders: enough work to interrupt a run halfway."""
    return write_scans(tmp_path_factory.mktemp("many") / "scans", digits, 300, folder=lambda i: f"box-{i % 2}",
                       name=lambda i: f"scan-{i:03d}.png", size=(200, 180), offset=(40, 50), noise=0.04)


def outputs(folder):
    return {
        path.relative_to(folder): path for path in folder.rglob("*") if path.is_file() and not path.name.startswith(".")
    }


def temporaries(folder):
    return [path for path in folder.rglob("*") if ".ddtmp" in path.name]


def manifest_rows(folder):
    with sqlite3.connect(folder / MANIFEST_NAME) as db:
        return db.execute("SELECT COUNT(*) FROM outputs").fetchone()[0]


def start_run(*args):
    return subprocess.Popen(
        [*CLI, "run", *map(str, args), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_outputs(folder, count, process, timeout=60):
    """Wait until ``count`` outputs exist while ``process`` still runs; fail the test otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be stopped midway"
        if len(list(folder.rglob("*.png"))) >= count:
            return
        time.sleep(0.005)
    pytest.fail(f"fewer than {count} outputs after {timeout} s")


@pytest.fixture(scope="module")
def clean_run(many_scans, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "out"
    summary = denoise_folder(many_scans, out)
    assert summary.processed == 300
    return out


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_resumes_to_the_same_outputs(tmp_path, many_scans, clean_run, how):
    out = tmp_path / "out"
    process = start_run(many_scans, out, "--batch-size", "4", "--workers", "1")
    wait_for_outputs(out, 20, process)
    process.send_signal(how)
    stdout, stderr = process.communicate(timeout=60)
    if how == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:  # the batch in flight is finished, the summary still printed
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr
        if how == signal.SIGINT:  # a first Ctrl-C says what happens, even with --quiet
            assert "stopping after the batches in flight (Ctrl-C again to abort)" in stderr
    finished_before = manifest_rows(out)
    assert 0 < finished_before < 300
    # What a kill can leave: a temporary file of this tool's shape (planted, since a kill leaves one only by chance).
    left = out / "box-0" / ".dd-0123456789abcdef-99999.ddtmp.png"
    left.write_bytes(b"half a file")
    assert left in temporaries(out)

    report = tmp_path / "report.json"
    rerun = subprocess.run(
        [*CLI, "run", str(many_scans), str(out), "--report", str(report)], capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(report.read_text())
    assert summary["up_to_date"] == finished_before  # what the first run finished was skipped
    assert summary["processed"] == 300 - finished_before
    assert not temporaries(out)
    done, expected = outputs(out), outputs(clean_run)
    assert done.keys() == expected.keys()
    for name, path in expected.items():
        assert done[name].read_bytes() == path.read_bytes(), name


def test_a_second_run_writes_nothing(tmp_path, many_scans, clean_run):
    before = {name: path.stat().st_mtime_ns for name, path in outputs(clean_run).items()}
    summary = denoise_folder(many_scans, clean_run)
    assert (summary.processed, summary.up_to_date, summary.failed) == (0, 300, 0)
    assert {name: path.stat().st_mtime_ns for name, path in outputs(clean_run).items()} == before
    assert denoise_folder(many_scans, clean_run, dry_run=True).planned == []


def test_changed_inputs_settings_or_overwrite_redo_the_files(tmp_path, digits):
    root = tmp_path / "scans"
    root.mkdir()
    for index in range(5):
        Image.fromarray((make_scan(digits[index]) * 255).astype(np.uint8)).save(root / f"{index}.png")
    out = tmp_path / "out"
    assert denoise_folder(root, out, model="none").processed == 5
    assert denoise_folder(root, out, model="none").processed == 0
    assert denoise_folder(root, out, model="none", overwrite=True).processed == 5
    scan = root / "0.png"
    os.utime(scan, ns=(scan.stat().st_atime_ns, scan.stat().st_mtime_ns + 10**9))  # the input changed
    assert denoise_folder(root, out, model="none").processed == 1
    assert len(denoise_folder(root, out, model="none", size="original", dry_run=True).planned) == 5
    assert len(denoise_folder(root, out, model="default", dry_run=True).planned) == 5  # another model


def test_two_runs_on_one_output_one_waits_out_with_the_lock_code(tmp_path, many_scans):
    out = tmp_path / "out"
    first, second = start_run(many_scans, out), start_run(many_scans, out)
    codes = sorted([first.wait(timeout=120), second.wait(timeout=120)])
    assert codes == [0, 3]
    message = (first if first.returncode == 3 else second).stderr.read()
    assert "another digit-denoise run" in message and len(message.strip().splitlines()) == 1


def huge_png_header(path, width=100_000, height=100_000):
    """A valid PNG signature and IHDR claiming a huge image, with a tiny body: a decompression bomb's header."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    chunk = b"IHDR" + ihdr
    body = len(ihdr).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + b"\x00\x00\x00\x00IEND\xaeB`\x82")


def test_bad_files_are_each_reported_and_the_good_ones_done(tmp_path, digits):
    root = tmp_path / "scans"
    root.mkdir()
    good = (make_scan(digits[0]) * 255).astype(np.uint8)
    Image.fromarray(good).save(root / "good.png")
    Image.fromarray(good).save(root / "fine.jpg")
    png = (root / "good.png").read_bytes()
    (root / "corrupt.png").write_bytes(png[:60] + bytes(200) + png[260:])
    (root / "truncated.jpg").write_bytes((root / "fine.jpg").read_bytes()[:300])
    (root / "zero.png").write_bytes(b"")
    (root / "text.png").write_text("this is not an image\n")
    huge_png_header(root / "huge.png")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["run", str(root), str(tmp_path / "out"), "--report", str(report)])
    assert result.exit_code == 1
    summary = json.loads(report.read_text())
    assert summary["processed"] == 2
    reasons = {os.path.basename(f["path"]): f["reason"] for f in summary["failures"]}
    assert set(reasons) == {"corrupt.png", "truncated.jpg", "zero.png", "text.png", "huge.png"}
    assert "over the limit" in reasons["huge.png"]
    assert not any(name in reason for name, reason in reasons.items())  # the path is given once, beside the reason
    for name in reasons:
        assert f"failed: {root / name}: " in result.stderr and f"{name}: {root / name}" not in result.stderr
    assert sorted(outputs(tmp_path / "out")) == [Path("fine.png"), Path("good.png")]


@pytest.mark.parametrize("size, unit", [("model", 64), ("original", 16)])  # 16 pages a batch at size original
def test_the_last_batches_of_a_run_are_shared_out_so_that_the_workers_finish_together(tmp_path, many_scans, size,
                                                                                    unit):
    from concurrent.futures import ThreadPoolExecutor

    class Recording(ThreadPoolExecutor):
        sizes = []

        def submit(self, fn, *args, **kwargs):
            if args:
                self.sizes.append(len(args[0]))
            return super().submit(fn, *args, **kwargs)

    with Recording(2) as pool:
        summary = denoise_folder(many_scans, tmp_path / "out", model="none", batch_size=64, workers=2, executor=pool,
                                 size=size)
    sizes = Recording.sizes
    assert summary.processed == 300 and sum(sizes) == 300
    # Full batches while the end is out of sight, then each a quarter of what is left: a worker that finds the
    # queue empty waits at most on the other's last small batch, not on a full one (before: full ones, then the rest).
    assert sizes[0] == unit and sizes == sorted(sizes, reverse=True) and sizes[-2] <= unit // 2
    assert len(sizes) > 300 // unit + 2


def test_a_stop_request_that_comes_once_every_file_is_in_hand_interrupts_nothing(tmp_path, many_scans):
    import threading

    stop = threading.Event()
    summary = denoise_folder(many_scans, tmp_path / "out", model="none", batch_size=100, workers=1, stop=stop,
                             on_progress=lambda done, total: done == total and stop.set())
    assert stop.is_set() and summary.processed == 300 and not summary.interrupted


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stop_request_finishes_the_batches_in_flight_and_the_rerun_the_rest(tmp_path, many_scans, workers):
    import threading

    stop, out = threading.Event(), tmp_path / "out"
    summary = denoise_folder(many_scans, out, model="none", batch_size=10, workers=workers, stop=stop,
                             on_progress=lambda done, total: stop.set())
    assert summary.interrupted and not summary.failed
    # The batch that reported, and those in flight behind it: none in this process, two per worker process.
    assert 10 <= summary.processed <= (10 if workers == 1 else 10 * 2 * workers)
    assert len(outputs(out)) == summary.processed  # what was counted is on disk, and nothing else
    rerun = denoise_folder(many_scans, out, model="none", batch_size=10)
    assert (
        not rerun.interrupted and rerun.up_to_date == summary.processed and rerun.processed == 300 - summary.processed
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_max_failures_stops_the_run_early(tmp_path, workers):
    root = tmp_path / "scans"
    root.mkdir()
    for index in range(20):
        (root / f"bad-{index}.png").write_bytes(b"")
    summary = denoise_folder(root, tmp_path / "out", model="none", max_failures=2, batch_size=2, workers=workers)
    # The batch that crossed the line, and (with worker processes) those already at work.
    assert summary.stopped_at_max_failures and 4 <= summary.failed <= (4 if workers == 1 else 4 + 2 * 2 * workers)


def test_a_failed_write_leaves_nothing_behind(tmp_path, digits, monkeypatch):
    root = tmp_path / "scans"
    root.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8)).save(root / name)
    real_replace = os.replace

    def full_disk(source, target):
        if str(target).endswith("b.png"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        return real_replace(source, target)

    monkeypatch.setattr("digit_denoise.files.os.replace", full_disk)
    summary = denoise_folder(root, tmp_path / "out", model="none")
    assert summary.processed == 1 and summary.failed == 1
    assert "No space left" in summary.failures[0]["reason"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == ["a.png"]
    assert not temporaries(tmp_path / "out")
    monkeypatch.undo()
    assert denoise_folder(root, tmp_path / "out", model="none").processed == 1  # the re-run completes it


def test_symlinks_out_of_the_input_are_not_followed_unless_asked(tmp_path, digits):
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8)).save(outside / "secret.png")
    root = tmp_path / "scans"
    root.mkdir()
    (root / "link.png").symlink_to(outside / "secret.png")
    (root / "linked-folder").symlink_to(outside)
    summary = denoise_folder(root, tmp_path / "out", model="none")
    assert summary.processed == 0 and "symlink" in summary.skipped_files[0]["reason"]
    summary = denoise_folder(root, tmp_path / "out2", model="none", follow_symlinks=True)
    assert summary.processed == 2


def test_stale_temporary_files_are_cleaned_up(tmp_path, digits):
    root = tmp_path / "scans"
    root.mkdir()
    Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8)).save(root / "a.png")
    out = tmp_path / "out" / "deep"
    out.mkdir(parents=True)
    left = temporary_name(out / "a.png").with_name(".dd-0123456789abcdef-12345.ddtmp.png")  # a killed run's
    assert is_temporary_name(left.name)
    left.write_bytes(b"half a file")
    (out / ".notes.ddtmp.png").write_bytes(b"the user's")  # looks alike, but this tool never makes such a name
    denoise_folder(root, tmp_path / "out", model="none")
    assert temporaries(tmp_path / "out") == [out / ".notes.ddtmp.png"]


def test_outputs_never_escape_the_output_folder_through_a_symlink(tmp_path, digits):
    root = tmp_path / "scans"
    (root / "sub").mkdir(parents=True)
    Image.fromarray((make_scan(digits[0]) * 255).astype(np.uint8)).save(root / "sub" / "a.png")
    Image.fromarray((make_scan(digits[1]) * 255).astype(np.uint8)).save(root / "b.png")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(elsewhere)  # planted: out/sub/a.png would land in elsewhere/
    summary = denoise_folder(root, out, model="none")
    assert summary.processed == 1 and summary.failed == 1
    assert "outside the output folder" in summary.failures[0]["reason"]
    assert list(elsewhere.iterdir()) == []
