"""What the chapter runs on a folder within a time budget, decided before any run.

The plan starts from the most the profile allows (``seed_range.most`` replicate seeds,
``folds`` cross-validation folds, every arm it offers (``arms``), and the smaller-size point of
the best arm and of scratch) and gives things up in a stated order until its estimate fits the
budget:

1. replicate seeds, down to 5 (or ``seed_range.least`` if larger);
2. the smaller-size point (what more data would change is then not measured);
3. cross-validation folds, down to 2;
4. the arms of ``drop_order``, one at a time (scratch and the two linear probes stay);
5. replicate seeds, down to ``seed_range.least``.

If even that is over the budget, the plan keeps it and says by how much. The estimate
(:func:`estimate`) is the profile's ``cost`` of every run (per SGD step, per run and, for
EfficientNet-Lite0, per image evaluated), summed and shared among the workers, plus a fixed
``overhead`` for the kernel, distances and scores. It reads no result: the plan depends on the
folder's size, the profile and the budget only, so it is fixed before anything is trained.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import design

__all__ = ["Plan", "estimate", "plan", "workers_of", "plan_table"]


@dataclass(frozen=True)
class Plan:
    """The runs a budget affords: ``seeds`` replicates, ``folds`` folds, the ``arms`` run,
    ``half`` (whether the smaller-size point runs), the estimate and the budget in seconds,
    and what was left out, one sentence each."""

    seeds: int
    folds: int
    arms: tuple[str, ...]
    half: bool
    seconds: float = 0.0
    budget: float = 0.0
    workers: int = 1
    left_out: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fits(self) -> bool:
        return self.seconds <= self.budget


def workers_of(params: Mapping[str, Any]) -> int:
    """Runs trained at once: one per core with the process executor, else one."""
    if params.get("executor", "process") != "process":
        return 1
    return max(1, os.cpu_count() or 1)


def _run_seconds(s: Mapping[str, Any], arm: str, images: int, evaluated: int) -> float:
    from ..small_targets.recipe import train_config

    cost = s["cost"]
    arch = design.model_of(s, arm).arch
    method = design.method_of(arm)
    frozen = method == "linear probe"
    cfg = train_config(design.length(s, arm), max(1, images), 0.1)
    steps = cfg.epochs * math.ceil(max(1, images) / cfg.batch_size)
    whole = arch != "cnn8" and method in ("fine-tune", "L2-SP")  # every layer trained
    kind = f"{arch} frozen" if frozen else f"{arch} all" if whole else arch
    out = cost["run"][arch] + steps * cost["step"][kind]
    per_image = cost.get("image", {}).get(arch, 0.0)
    return out + per_image * (evaluated + (images if frozen else 0))


def estimate(s: Mapping[str, Any], sizes: Sequence[int], test: int, p: Plan) -> float:
    """Seconds the plan ``p`` takes on a folder of ``sizes`` training images per class and
    ``test`` test images (module docstring): its cross-validation runs, reported runs and
    source networks, shared among ``p.workers``, plus the profile's overhead."""
    pool = sum(sizes)
    total = 0.0
    fold_images = round(pool * (p.folds - 1) / p.folds)
    for arm in p.arms:
        total += len(s["grid"][arm]) * p.folds * _run_seconds(s, arm, fold_images,
                                                              pool - fold_images)
        total += p.seeds * _run_seconds(s, arm, pool, test)
    if p.half:
        half = max(1, min(sizes) // 2) * len(sizes)
        total += 2 * p.seeds * max(_run_seconds(s, a, half, test) for a in p.arms)
    sources = len(design.book_sources(s)) + p.seeds + p.folds
    total += sources * _run_seconds(s, "scratch", 2600, 0) / 2  # the sources' recipe
    return total / p.workers + float(s["cost"]["overhead"])


def plan(s: Mapping[str, Any], sizes: Sequence[int], test: int, budget_minutes: float,
         workers: int, seeds: int | None = None) -> Plan:
    """The plan for a folder of ``sizes`` training images per class and ``test`` test images
    (module docstring); ``seeds`` fixes the replicates instead of choosing them."""
    rng = s["seed_range"]
    most, least = int(rng["most"]), int(rng["least"])
    if seeds is not None:
        most = least = int(seeds)
    offered = tuple(a for a in design.ARMS if a in s["arms"])
    p = Plan(most, int(s["folds"]), offered, True, budget=60.0 * budget_minutes,
             workers=workers)
    left: list[str] = []

    def sized(q: Plan) -> Plan:
        return replace(q, seconds=estimate(s, sizes, test, q))

    p = sized(p)
    floor = max(least, min(5, most))
    while not p.fits and p.seeds > floor:
        p = sized(replace(p, seeds=p.seeds - 1))
    if not p.fits:
        p = sized(replace(p, half=False))
        left.append("the smaller-size point: what more images would change is not measured")
    while not p.fits and p.folds > 2:
        p = sized(replace(p, folds=p.folds - 1))
    for arm in s["drop_order"]:
        if p.fits:
            break
        if arm in p.arms and arm not in design.KEPT:
            p = sized(replace(p, arms=tuple(a for a in p.arms if a != arm)))
            left.append(f"the arm {arm}")
    while not p.fits and p.seeds > least:
        p = sized(replace(p, seeds=p.seeds - 1))
    if p.seeds < most:
        left.insert(0, f"replicate seeds beyond {p.seeds} (up to {most})")
    if p.folds < int(s["folds"]):
        left.append(f"cross-validation folds beyond {p.folds} (up to {s['folds']})")
    return replace(p, left_out=tuple(left))


def plan_table(p: Plan) -> list[dict[str, Any]]:
    """The plan as rows (what, value) for the page."""
    return [dict(what="replicate seeds", value=p.seeds),
            dict(what="cross-validation folds", value=p.folds),
            dict(what="arms", value=", ".join(p.arms)),
            dict(what="smaller-size point", value="yes" if p.half else "no"),
            dict(what="workers", value=p.workers),
            dict(what="estimated minutes", value=round(p.seconds / 60, 1)),
            dict(what="budget, minutes", value=round(p.budget / 60, 1)),
            dict(what="left out", value="; ".join(p.left_out) or "nothing")]
