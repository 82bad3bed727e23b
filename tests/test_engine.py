"""One declaration of every setting, and one batch engine whatever executes the batches."""

import dataclasses
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from helpers import write_scans
from typer.testing import CliRunner

import digit_denoise
from digit_denoise import Settings, denoise_folder
from digit_denoise.cli import app
from digit_denoise.manifest import run_key

ROOT = Path(__file__).resolve().parent.parent
FIELDS = [field.name for field in dataclasses.fields(Settings)]


@pytest.fixture(scope="module")
def scans(tmp_path_factory, digits):
    return write_scans(tmp_path_factory.mktemp("engine") / "scans", digits, 24, folder=lambda i: f"part-{i % 3}",
                       name=lambda i: f"{i:02d}.png", seed=3, size=(100, 90), offset=(20, 15), noise=0.06)


def tree(folder):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*.png"))}


def test_run_help_lists_every_setting_as_a_flag_with_its_default():
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name, _, _, choices in Settings.describe():
        assert f"--{name.replace('_', '-')}" in result.stdout, name
        for choice in choices or ():
            assert choice in result.stdout, (name, choice)
    assert "[default: levels]" in result.stdout and "[default: 256]" in result.stdout


def test_the_example_config_documents_every_setting_with_its_default():
    text = (ROOT / "examples" / "config.yaml").read_text()
    values = yaml.safe_load(text)
    assert list(values) == FIELDS  # every field, in declaration order
    assert values == Settings().to_dict()
    lines = text.splitlines()
    for name in FIELDS:  # each key has a comment of its own just above it (or above the key group)
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{name}:"))
        assert any(line.startswith("#") for line in lines[max(0, index - 3) : index]), name


def _another_value(field, value):
    choices = field.metadata["choices"]
    if choices:
        return next(choice for choice in choices if choice != value)
    if isinstance(value, bool):
        return not value
    if field.name == "percentiles":
        return (1.0, 99.0)
    if field.name == "model":
        return "none"
    if field.metadata["kind"] is str:
        return ("*.png",)
    return 7 if value in (None, 0) else value + 1


@pytest.mark.parametrize("name", FIELDS)
def test_a_setting_is_in_the_run_key_exactly_when_it_changes_outputs(name):
    field = next(field for field in dataclasses.fields(Settings) if field.name == name)
    settings = Settings()
    changed = dataclasses.replace(settings, **{name: _another_value(field, getattr(settings, name))})
    assert (run_key("sha", changed) != run_key("sha", settings)) == field.metadata["output"]


def test_the_run_key_changes_with_the_package_version(monkeypatch):
    before = run_key("sha", Settings())
    monkeypatch.setattr(digit_denoise, "__version__", "99.0")
    assert run_key("sha", Settings()) != before


def test_worker_processes_write_the_same_bytes_as_this_process(tmp_path, scans):
    here = denoise_folder(scans, tmp_path / "here", workers=1, batch_size=4)
    workers = denoise_folder(scans, tmp_path / "workers", workers=2, batch_size=4)
    assert here.processed == workers.processed == 24
    assert tree(tmp_path / "here") == tree(tmp_path / "workers")
    again = denoise_folder(scans, tmp_path / "workers", workers=2, batch_size=4)
    assert again.processed == 0 and again.up_to_date == 24


def test_any_executor_can_process_the_batches(tmp_path, scans):
    with ThreadPoolExecutor(2) as pool:
        summary = denoise_folder(scans, tmp_path / "pool", model="none", executor=pool, workers=2, batch_size=5)
        assert pool.submit(int, "7").result() == 7  # the caller's executor is left open for the caller
    assert summary.processed == 24
    denoise_folder(scans, tmp_path / "here", model="none", workers=1)
    assert tree(tmp_path / "pool") == tree(tmp_path / "here")


def test_full_size_pages_go_to_worker_processes_a_few_at_a_time(tmp_path, digits, monkeypatch):
    import digit_denoise.runner as runner

    pages = write_scans(tmp_path / "pages", digits, 60, folder=lambda i: "", name=lambda i: f"{i:02d}.png")

    chosen, units = [], []

    class Recording(runner.InlineExecutor):
        def submit(self, fn, /, *args, **kwargs):
            units.append(len(args[0]))
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(runner, "local_executor", lambda workers, denoiser, large: chosen.append(large) or Recording())
    small = denoise_folder(pages, tmp_path / "small", model="none", workers=2)
    units.clear()
    full = denoise_folder(pages, tmp_path / "full", model="none", size="original", workers=2)
    # 60 scans are too few to repay worker processes at 28x28 (four batches of 256), but not at full size.
    assert small.processed == full.processed == 60 and chosen == [False, True]
    assert sum(units) == 60 and max(units) <= runner.ORIGINAL_CHUNK


def _python(code, cwd):
    return subprocess.run([sys.executable, "-"], input=textwrap.dedent(code), capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_a_script_without_a_main_guard_can_use_worker_processes(tmp_path, scans):
    # Read from stdin and unguarded: Python's own process start would run it again in each worker, or fail.
    result = _python(f"""
        from digit_denoise import denoise_folder
        summary = denoise_folder({str(scans)!r}, {str(tmp_path / 'out')!r}, model="none", workers=2, batch_size=2)
        print("processed", summary.processed)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["processed", "24"]


def test_a_run_with_nothing_to_do_never_loads_the_model(tmp_path, scans):
    denoise_folder(scans, tmp_path / "out", batch_size=8)
    (tmp_path / "empty").mkdir()
    result = _python(f"""
        import sys
        from digit_denoise import denoise_folder
        again = denoise_folder({str(scans)!r}, {str(tmp_path / 'out')!r}, batch_size=8)
        dry = denoise_folder({str(scans)!r}, {str(tmp_path / 'elsewhere')!r}, dry_run=True)
        empty = denoise_folder({str(tmp_path / 'empty')!r}, {str(tmp_path / 'out-empty')!r})
        print(again.up_to_date, len(dry.planned), empty.processed, "tensorflow" in sys.modules)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["24", "24", "0", "False"]


def test_the_type_stub_names_exactly_the_lazy_exports():
    stub = (ROOT / "plugin" / "__init__.pyi").read_text()
    named = {line.split(" as ")[-1] for line in stub.splitlines() if line.startswith("from .")}
    assert named == set(digit_denoise.__all__)
    assert (ROOT / "plugin" / "py.typed").exists()
