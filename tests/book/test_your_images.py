"""The chapter on a reader's own folder, as a reader uses it: ``tlkit report FOLDER`` on folders
written here (grey PNG from an embedded dataset; colour JPEG cut from scikit-learn's sample
photographs) through the whole notebook in profile smoke, a second report that trains nothing,
and bad folders refused in one line before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tlkit.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _write_grey(folder: Path, per_class: int = 10) -> Path:
    from PIL import Image

    from tlkit import data

    digits = data.load("digits", "train")
    labels = digits.labels.numpy()
    for k in (0, 1, 7):
        (folder / str(k)).mkdir(parents=True)
        for i, at in enumerate(np.flatnonzero(labels == k)[:per_class]):
            pixels = (digits.images[at, 0].numpy() * 255).round().astype(np.uint8)
            Image.fromarray(pixels, "L").resize((16, 16)).save(folder / str(k) / f"{i}.png")
    return folder


def _write_colour(folder: Path, per_class: int = 10) -> Path:
    from PIL import Image
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    rng = np.random.default_rng(0)
    sources = {"temple roof": china[:200], "temple wall": china[230:], "flower": flower}
    for name, photo in sources.items():
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            side = 64 + 16 * (i % 2)  # two sizes: the report says they were resized
            y = rng.integers(0, photo.shape[0] - side)
            x = rng.integers(0, photo.shape[1] - side)
            Image.fromarray(photo[y:y + side, x:x + side]).save(folder / name / f"{i}.jpg")
    return folder


def _glued(executed: Path) -> dict:
    """The values the executed notebook glued, read back as Python literals where they are."""
    import ast

    import nbformat

    from tlkit.glued import glued_values

    out = {}
    for name, text in glued_values(nbformat.read(str(executed), as_version=4)).items():
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def _report(folder: Path, *extra: str) -> int:
    return main(["report", str(folder), "--profile", "smoke", "--budget", "10",
                 "--root", str(ROOT), *extra])


@pytest.fixture
def results(tmp_path, monkeypatch):
    where = tmp_path / "results"
    monkeypatch.setenv("TLKIT_RESULTS", str(where))
    return where


def test_a_grey_folder_gets_a_report_and_a_second_report_trains_nothing(tmp_path, results):
    folder = _write_grey(tmp_path / "my digits")
    assert _report(folder) == 0
    html = tmp_path / "my digits-tlkit-report.html"
    text = html.read_text()
    assert "Start from" in text and "{glue" not in text and "data:image" in text
    executed = ROOT / "_build" / "reports" / "my digits.ipynb"
    first = _glued(executed)
    assert first["oi_classes"] == 3 and first["oi_runs_trained"] > 0
    assert first["oi_best"] in text
    assert _report(folder) == 0
    again = _glued(executed)
    assert again["oi_runs_trained"] == 0 and again["oi_runs"] == first["oi_runs"]
    assert again["oi_best"] == first["oi_best"]
    # moving the folder recomputes nothing: the runs are keyed by its content, not its path
    moved = folder.rename(tmp_path / "renamed")
    assert _report(moved) == 0
    assert _glued(ROOT / "_build" / "reports" / "renamed.ipynb")["oi_runs_trained"] == 0


def test_a_colour_folder_of_photographs_gets_a_report(tmp_path, results):
    folder = _write_colour(tmp_path / "photos")
    assert _report(folder) == 0
    values = _glued(ROOT / "_build" / "reports" / "photos.ipynb")
    assert values["oi_classes"] == 3 and "resized" in values["oi_notes"]
    assert "Start from" in (tmp_path / "photos-tlkit-report.html").read_text()


@pytest.mark.parametrize(("make", "named"), [
    (lambda f: (f / "only").mkdir(parents=True), "one class"),
    (lambda f: ((f / "a").mkdir(parents=True), (f / "b").mkdir()), "'a'"),
    (lambda f: (_write_grey(f), (f / "0" / "3.png").write_bytes(
        (f / "0" / "3.png").read_bytes()[:40])), "3.png"),
    (lambda f: (_write_grey(f), (f / "1" / "inner").mkdir()), "inner"),
])
def test_a_bad_folder_is_refused_in_one_line_before_anything_runs(tmp_path, results, capsys,
                                                                  monkeypatch, make, named):
    import tlkit.notebooks

    def never(*args, **kwargs):
        raise AssertionError("the notebook ran")

    monkeypatch.setattr(tlkit.notebooks, "execute", never)
    folder = tmp_path / "bad"
    make(folder)
    assert _report(folder) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tlkit: error:") and named in err[0], err
    assert not (results / "runs").exists()


def test_the_report_records_the_plan_it_kept(tmp_path, results):
    """The plan is fixed before any run: the executed notebook glues the budget and what the
    plan left out; a budget too short for everything leaves things out, in words."""
    from tlkit.experiments import own_images as oi

    folder = _write_grey(tmp_path / "f")
    p = oi.plan_of({"profile": "quick", "data_dir": str(folder), "budget_minutes": 0.5})
    assert p.left_out and not p.fits
    assert json.loads(json.dumps(oi.planning.plan_table(p)))[-1]["what"] == "left out"
