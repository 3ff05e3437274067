"""Shared fixtures: every test gets its own results folder and silent progress bars."""

from __future__ import annotations

import os
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
