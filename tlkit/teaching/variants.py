"""Variants of an assignment: each student's notebook runs on replicate seeds of its own.

A variant is the book's notebook with its replicates moved to seeds no page reports: an ordered
list of ``needed`` seeds (the most replicates the design runs of any condition,
:func:`replicates_needed`) drawn without repetition from a pool of ``pool`` seeds from
:data:`~tlkit.experiments.profile.COURSEWORK_SEEDS_FROM`, passed to the notebook as
``overrides = {"replicates": [...]}`` (:func:`~tlkit.experiments.profile.replicate_seeds`
takes a condition's first k of the list, so the design's pairing is kept). Every number the
*predict, then run* exercises ask for then differs between variants and from the book's, while
the questions, the design and the size of each effect stay those of the book.

The pool bounds the cost: whatever the number of variants, the runs trained are at most those
of ``pool`` seeds at every condition (``pool / needed`` times the book's own runs when every
condition has the same seeds), and ``pool!/(pool - needed)!`` variants are possible. The
default pool is ``2 * needed``.

A roster (:func:`read_roster`) names the students; :func:`assign` deals the variants out to
them in an order shuffled by ``seed``, so that the same roster and seed give every student
the same variant again, and neighbours in the roster rarely share one.

>>> [v.replicates for v in plan(2, needed=3, seed=0, pool=4)]      # doctest: +SKIP
[(10003, 10000, 10002), (10001, 10003, 10000)]
"""

from __future__ import annotations

import csv
import io
import math
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Variant", "replicates_needed", "plan", "read_roster", "assign", "STUDENT_NAME"]

#: What a student's name in a roster may hold: it names their notebook and their gradebook row.
STUDENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")


@dataclass(frozen=True)
class Variant:
    """One variant of an assignment.

    Attributes:
        name: ``v01``, ``v02``, ...
        replicates: Its replicate seeds, in order.
    """

    name: str
    replicates: tuple[int, ...]

    def overrides(self, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The notebook's ``overrides`` parameter for this variant (``base``'s, with the
        replicates set)."""
        return {**dict(base or {}), "replicates": list(self.replicates)}


def replicates_needed(notebook: str, params: Mapping[str, Any]) -> int:
    """The most replicate seeds the design of ``notebook`` (a file stem) runs with ``params``:
    the distinct seeds of its pinned runs below the searches' seeds."""
    from ..experiments import experiment
    from ..experiments.profile import SEARCH_SEEDS_FROM

    runs = experiment(notebook).listing(params)
    seeds = {spec.seed for spec in runs if spec.seed < SEARCH_SEEDS_FROM}
    if not seeds:
        raise ValueError(f"notebook {notebook} runs no replicate seeds to vary")
    return len(seeds)


def plan(count: int, *, needed: int, seed: int, pool: int | None = None) -> list[Variant]:
    """``count`` distinct variants of ``needed`` replicates each, drawn from a pool of ``pool``
    seeds (default ``2 * needed``) by a generator seeded with ``seed``.

    Raises:
        ValueError: a count or pool that is not a whole number of at least 1, a pool smaller
            than ``needed``, or more variants than the pool can give.
    """
    for name, value in (("variants", count), ("needed", needed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    pool = 2 * needed if pool is None else pool
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < needed:
        raise ValueError(f"the pool must hold at least the {needed} replicates a variant runs, "
                         f"got {pool!r}")
    possible = math.perm(pool, needed)
    if count > possible:
        raise ValueError(f"a pool of {pool} seeds gives {possible} variants of {needed} "
                         f"replicates, fewer than the {count} asked for; give a larger pool")
    from ..experiments.profile import COURSEWORK_SEEDS_FROM

    seeds = list(range(COURSEWORK_SEEDS_FROM, COURSEWORK_SEEDS_FROM + pool))
    rng = random.Random(seed)
    drawn: list[tuple[int, ...]] = []
    while len(drawn) < count:
        order = tuple(rng.sample(seeds, needed))
        if order not in drawn:
            drawn.append(order)
    width = max(2, len(str(count)))
    return [Variant(f"v{i:0{width}d}", order) for i, order in enumerate(drawn, start=1)]


def read_roster(path: str | os.PathLike[str]) -> list[str]:
    """The students of a roster file: a CSV with a ``student`` column (other columns are
    ignored), or one name per line. Blank lines and lines starting with ``#`` are skipped.

    Raises:
        ValueError: no such file, no students, a name twice, or a name that cannot name a file
            (letters, digits and ``. _ @ + -``, starting with a letter or digit); the message
            gives the line.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no roster file at {path}")
    text = path.read_text(encoding="utf-8-sig")
    lines = [(i, line) for i, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"the roster {path} names no students")
    header = next(csv.reader(io.StringIO(lines[0][1])))
    names: list[tuple[int, str]]
    if "student" in [h.strip().lower() for h in header]:
        column = [h.strip().lower() for h in header].index("student")
        names = []
        for number, line in lines[1:]:
            row = next(csv.reader(io.StringIO(line)))
            names.append((number, row[column].strip() if column < len(row) else ""))
    else:
        names = [(number, line.strip()) for number, line in lines]
    seen: dict[str, int] = {}
    for number, name in names:
        if not STUDENT_NAME.match(name):
            raise ValueError(f"{path}, line {number}: {name!r} cannot name a student's notebook "
                             f"(letters, digits and . _ @ + -, starting with a letter or digit)")
        if name in seen:
            raise ValueError(f"{path}, line {number}: {name!r} is listed twice (first on line "
                             f"{seen[name]})")
        seen[name] = number
    if not seen:
        raise ValueError(f"the roster {path} names no students")
    return list(seen)


def assign(students: Sequence[str], variants: Sequence[Variant], seed: int) -> dict[str, str]:
    """Each student's variant: the variants dealt in turn to the students in an order shuffled
    by ``seed`` (as even as the numbers allow), in the roster's order."""
    if not variants:
        raise ValueError("no variants to assign")
    order = list(students)
    random.Random(seed).shuffle(order)
    dealt = {name: variants[i % len(variants)].name for i, name in enumerate(order)}
    return {name: dealt[name] for name in students}
