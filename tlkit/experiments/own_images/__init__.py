"""The book's question for a reader's own image folder: will transfer help, and how?

- :mod:`.design`: the arms (scratch; a linear probe, fine-tuning, L2-SP, DELTA and BSS from the
  nearest book source; a linear probe and fine-tuning the top from ImageNet) and their runs;
- :mod:`.plan`: what fits the time budget, decided before any run;
- :mod:`.placement`: the folder's size, its distance to each source with an interval, and each
  source's transferability scores;
- :mod:`.answer`: recipes and the recommended arm chosen by cross-validation, the claims and
  the answer;
- :mod:`.example`: the example folder written from an embedded dataset, and the folder the
  chapter's coursework ships (:func:`coursework_files`).

Stages: ``sources`` (the book's source networks the scores read), ``selection`` (the
cross-validation runs, from the nearest book source) and ``runs`` (the reported runs at the
chosen rates, and the smaller-size point of the recommended arm and scratch).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..experiment import Experiment, Stage, checked_once
from ..profile import settings
from . import answer, design, placement
from . import plan as planning
from .answer import answer_text, arm_table, chosen_rates, claims, cv_table, half_gain
from .design import ARMS, BOOK, IMAGENET, KEPT, PROFILES, method_of, start_of
from .example import coursework_folder, example_folder
from .placement import distances, nearest, scores, size_bucket

__all__ = ["EXPERIMENT", "PROFILES", "ARMS", "BOOK", "IMAGENET", "KEPT", "check_params",
           "folder_path", "folder_scan", "plan_of", "settings_of", "source_specs",
           "selection_specs", "reported_specs", "listing_sources", "listing_runs",
           "answer", "design", "placement", "planning", "answer_text", "arm_table",
           "chosen_rates", "claims", "cv_table", "half_gain", "method_of", "start_of",
           "distances", "nearest", "scores", "size_bucket", "example_folder",
           "coursework_files"]


def settings_of(params: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's settings with the parameters given."""
    return settings(PROFILES, params)


def folder_path(params: Mapping[str, Any]) -> Path:
    """The folder reported on: ``data_dir``, or the example folder when it is empty."""
    s = settings_of(params)
    given = s.get("data_dir") or ""
    return Path(given).expanduser() if given else example_folder(s)


def folder_scan(params: Mapping[str, Any]) -> Any:
    """The checked scan of the folder (:func:`tlkit.data.folder.scan`): every image read once;
    a bad folder raises :class:`~tlkit.data.folder.FolderError` naming the problem."""
    from ...data import folder as image_folder

    s = settings_of(params)
    return image_folder.scan(folder_path(params), min_per_class=int(s["folds"]) + 1)


def plan_of(params: Mapping[str, Any], scan: Any = None) -> planning.Plan:
    """The plan for the folder within ``budget_minutes`` (:mod:`.plan`)."""
    s = settings_of(params)
    scan = folder_scan(params) if scan is None else scan
    sizes = design.pool_sizes(scan, s)
    test = len(scan.test) if scan.has_test_folder else len(scan.train) - sum(sizes)
    return planning.plan(s, sizes, test, float(s["budget_minutes"]), planning.workers_of(s),
                         seeds=s.get("seeds"))


@checked_once
def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` (a :class:`~tlkit.data.folder.FolderError` for the folder) before
    any run: a budget that is not a positive number, a grid without a rate for an arm, an arm
    of ``drop_order`` that is not an arm, a seed range the wrong way round, a folder that
    cannot be read."""
    from ...checks import number, positive_int

    s = settings_of(params)
    number("budget_minutes", s["budget_minutes"], positive=True)
    unknown = [a for a in s["arms"] if a not in ARMS]
    if unknown or not set(KEPT) <= set(s["arms"]):
        raise ValueError(f"arms must name arms of {', '.join(ARMS)}, with at least "
                         f"{', '.join(KEPT)}; got {s['arms']!r}")
    missing = [a for a in s["arms"] if not s["grid"].get(a)]
    if missing:
        raise ValueError(f"grid has no learning rate for {', '.join(missing)}")
    unknown = [a for a in s["drop_order"] if a not in ARMS]
    if unknown:
        raise ValueError(f"drop_order names {', '.join(unknown)}, not arms; valid: "
                         f"{', '.join(ARMS)}")
    least = positive_int("seed_range.least", s["seed_range"]["least"], 2,
                         why="paired tests need two")
    if int(s["seed_range"]["most"]) < least:
        raise ValueError("seed_range.most must be at least seed_range.least")
    positive_int("folds", s["folds"], 2, why="cross-validation needs two")
    folder_scan(params)


def source_specs(params: Mapping[str, Any]) -> list[Any]:
    """The book's trained source networks at the first replicate seed (the scores read them)."""
    return design.source_specs(settings_of(params))


def selection_specs(params: Mapping[str, Any], done: Mapping[str, Any] | None = None,
                    *, stand_in: bool = False) -> list[Any]:
    """The cross-validation runs of the plan, from the nearest book source (``stand_in``: the
    first book source, to list the runs without measuring a distance)."""
    s = settings_of(params)
    scan = folder_scan(params)
    p = plan_of(params, scan)
    source = (design.book_sources(s)[0] if stand_in
              else nearest(s, distances(s, scan)))
    return design.selection_specs(s, scan, p.arms, p.folds, source)


def reported_specs(params: Mapping[str, Any], done: Mapping[str, Any]) -> list[Any]:
    """The reported runs at the rates chosen on the ``selection`` stage's records, with the
    smaller-size point of the recommended arm and scratch where the plan runs it."""
    s = settings_of(params)
    scan = folder_scan(params)
    p = plan_of(params, scan)
    table = answer.with_diverged(done["selection"], selection_specs(params),
                                 len(scan.classes), s.get("device", "auto"))
    rates = chosen_rates(table)
    best, _ = answer.recommended(table, rates)
    source = nearest(s, distances(s, scan))
    half = ("scratch", best) if p.half else ()
    return design.reported_specs(s, scan, p.arms, p.seeds, rates, source, half)


def listing_sources(params: Mapping[str, Any]) -> list[Any]:
    """The ``sources`` stage's runs (known from the parameters)."""
    return source_specs(params)


def listing_runs(params: Mapping[str, Any]) -> list[Any]:
    """The reported runs with stand-ins for what cross-validation chooses: each arm's first
    rate, the first book source, and the first transfer arm as the recommended one."""
    s = settings_of(params)
    scan = folder_scan(params)
    p = plan_of(params, scan)
    rates = {a: float(s["grid"][a][0]) for a in s["arms"]}
    half = ("scratch", p.arms[1]) if p.half else ()
    return design.reported_specs(s, scan, p.arms, p.seeds, rates,
                                 design.book_sources(s)[0], half)


def coursework_files(folder: Path, params: Mapping[str, Any]) -> dict[str, str]:
    """The files the chapter's assignment ships (:attr:`~tlkit.experiments.experiment.
    Experiment.coursework_files`): the image folder ``images/``, written into ``folder`` from
    the profile's ``coursework`` dataset; returns ``{"data_dir": "images"}``."""
    return coursework_folder(Path(folder), settings_of(params))


EXPERIMENT = Experiment(
    "own_images", "05_your_images", __name__,
    stages=(Stage("sources", lambda params, done: source_specs(params), listing_sources,
                  keep=True),
            Stage("selection", selection_specs,
                  lambda params: selection_specs(params, stand_in=True), pinned=False,
                  failures=True),
            Stage("runs", reported_specs, listing_runs, failures=True)),
    coursework_files=coursework_files)
