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


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real book built once in the smoke profile, for every test that reads its pages:
    the path of its HTML folder. Its runs go to a results folder of its own."""
    from tlkit.book import build_book, toc_notebooks

    try:
        toc_notebooks(REPO)
    except FileNotFoundError as exc:
        pytest.skip(f"the book's notebooks do not exist: {exc}")
    root = tmp_path_factory.mktemp("smoke_book")
    with results_folder(root / "results"):
        old = os.environ.get("TLKIT_PROGRESS")
        os.environ["TLKIT_PROGRESS"] = "0"
        try:
            build_book(REPO, "smoke", build_dir=root / "build", echo=print)
        finally:
            if old is None:
                os.environ.pop("TLKIT_PROGRESS", None)
            else:
                os.environ["TLKIT_PROGRESS"] = old
    return root / "build" / "html"


@pytest.fixture(scope="session")
def smoke_results(smoke_book: Path) -> Path:
    """The run cache of :func:`smoke_book`: every run of the smoke profile, trained once."""
    return smoke_book.parents[1] / "results"


@pytest.fixture(scope="session")
def smoke_assignments(smoke_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tlkit assignments --profile smoke`` into a temporary folder, its grading runs taken
    from the smoke book's cache (so nothing trains twice), without the check of the solutions
    (the tests grade them themselves)."""
    pytest.importorskip("otter", reason="otter-grader is not installed (pip install "
                                        "'tlkit[teach]')")
    from tlkit.cli import main

    out = tmp_path_factory.mktemp("assignments")
    with results_folder(smoke_results):
        code = main(["assignments", "--root", str(REPO), "--out", str(out), "--profile",
                     "smoke", "--no-run-tests"])
    assert code == 0
    return out


@pytest.fixture
def count_fits(monkeypatch):
    """The seeds of every training the test makes, alone (`fit`) or batched (`fit_many`: one
    entry per network)."""
    from tlkit import batched, runner

    calls = []
    real, real_many = runner.fit, batched.fit_many

    def counting(*args, **kwargs):
        calls.append(kwargs.get("seed"))
        return real(*args, **kwargs)

    def counting_many(members):
        calls.extend(m.seed for m in members)
        return real_many(members)

    monkeypatch.setattr(runner, "fit", counting)
    monkeypatch.setattr(batched, "fit_many", counting_many)
    return calls
