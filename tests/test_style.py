"""The code follows the rules in pyproject.toml's [tool.ruff] (lines of at most 120 characters among them)."""

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from digit_denoise.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_help_texts_keep_their_bracketed_defaults():
    # Rich reads "[default: ...]" as markup and drops it unless the bracket is escaped.
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "[default: ./trained-models]" in result.stdout
