"""Shared fixtures: every test gets its own results folder and silent progress bars."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TLKIT_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("TLKIT_PROGRESS", "0")
    monkeypatch.setenv("TLKIT_OFFLINE", "1")
    torch.set_num_threads(min(2, os.cpu_count() or 1))


def shared_data_dir() -> Path:
    """Where the real MNIST test set for checks lies (``$TLKIT_SHARED_DATA``)."""
    return Path(os.environ.get("TLKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


@contextlib.contextmanager
def results_folder(root: Path) -> Iterator[Path]:
    """Point ``TLKIT_RESULTS`` at ``root`` for a module-scoped fixture, restoring it after."""
    old = os.environ.get("TLKIT_RESULTS")
    os.environ["TLKIT_RESULTS"] = str(root)
    try:
        yield root
    finally:
        if old is None:
            os.environ.pop("TLKIT_RESULTS", None)
        else:
            os.environ["TLKIT_RESULTS"] = old
