"""Shared fixtures: the tiny hand-made district and copies of it to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/data/tiny: 2 towns, 4 sites, 4 students, 2 teachers."""
    dst = tmp_path / "tiny"
    shutil.copytree(DATA / "tiny", dst)
    return dst


def edit_csv(path: Path, old: str, new: str) -> None:
    """Replace text in a table file, failing loudly if the text is not there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
