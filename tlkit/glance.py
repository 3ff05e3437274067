"""A page's answer first: every claim in words, its verdict in words, its adjusted effect.

An experiment page opens with its *result at a glance*: one line per claim of its family,
generated from the very rows of :func:`tlkit.verdicts.judge` that its verdict table shows, so
that the two cannot disagree. Each line gives

* the claim as a sentence with its direction (``statement``: what the page claims, e.g.
  "fine-tuning beats training from scratch at 5 examples per class");
* the verdict and what it means (:func:`meaning`), by the rules of :mod:`tlkit.verdicts`:

  - *held*: the adjusted interval lies on the claimed side of zero;
  - *did not hold, the other way*: it lies wholly on the other side of zero;
  - *did not hold, smaller than the margin*: it excludes the margin :math:`\\Delta` (and is not
    wholly beyond zero), so the effect is shown to be smaller than what would count as the
    claim reproducing;
  - *inconclusive*: neither;
  - *not tested*: the claim left the family before any result, with the reason (a
    precondition failed, or the design cannot power it);

* the effect and its Holm-adjusted interval, the interval the verdict was decided on
  (:func:`effect_text`); none for a claim not tested.

Prose quotes a claim's effect through the same text: :func:`tlkit.pages.glue_claims` glues
``<prefix>_<claim>_quote`` (:func:`effect_text`) beside the verdict, and
:func:`tlkit.pages.glue_left_out` the effect of a claim not tested with its plain 95% interval,
said to be so (:func:`untested_text`).

:func:`tlkit.pages.glue_glance` glues the table for the page and, for the book's landing page
(:func:`tlkit.findings.write_findings`), the same lines as data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["GLANCE_COLUMNS", "meaning", "effect_text", "untested_text", "statement_of",
           "glance", "caption", "markdown"]

#: The columns of :func:`glance`: the verdict comes second, so that a phone shows it.
GLANCE_COLUMNS = ("claim", "verdict", "effect [adjusted interval]")


def _signed(x: float) -> str:
    return f"{x:+.3f}"


def meaning(verdict: str, adj_low: float, adj_high: float, sign: int, margin: float) -> str:
    """The verdict in words (module docstring) from its adjusted bounds (natural sign), the
    claimed ``sign`` and the ``margin``."""
    if verdict != "did not hold":
        return verdict
    upper = max(sign * adj_low, sign * adj_high)  # the bound in the claimed direction
    if upper < 0:
        return "did not hold: the other way"
    return f"did not hold: smaller than {_signed(sign * margin)}"


def effect_text(estimate: float, adj_low: float, adj_high: float) -> str:
    """``+0.147 [+0.057, +0.231]``: the estimate and its adjusted interval (no-break spaces
    inside the brackets, so that a wrapped cell never splits the interval)."""
    if not (math.isfinite(estimate) and math.isfinite(adj_low) and math.isfinite(adj_high)):
        return "–"
    return f"{_signed(estimate)} [{_signed(adj_low)},\u00a0{_signed(adj_high)}]"


def untested_text(mean: float, low: float, high: float) -> str:
    """``+0.050 [+0.036, +0.064] (95%, not adjusted)``: the effect of a claim that is not
    tested, with its plain 95% interval, said to be so."""
    if not (math.isfinite(mean) and math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{_signed(mean)} [{_signed(low)},\u00a0{_signed(high)}] (95%, not adjusted)"


def statement_of(name: str, found: Mapping[str, Mapping[str, Any]],
                 statements: Mapping[str, str] | None = None,
                 description: str = "") -> str:
    """The claim ``name`` as a sentence: ``found[name]["statement"]``, else
    ``statements[name]`` (for claims ``found`` does not hold: not run, or judged apart),
    else what is measured (``found[name]["description"]``, ``description``), else the name."""
    entry = found.get(name, {})
    if entry.get("statement"):
        return str(entry["statement"])
    if statements and name in statements:
        return statements[name]
    return str(entry.get("description") or description or name)


def glance(judged: pd.DataFrame, found: Mapping[str, Mapping[str, Any]],
           untested: Mapping[str, str] | None = None,
           statements: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The result at a glance: a row per claim of ``judged`` (in its order), then a row per
    claim of ``untested`` (claim -> why it left the family), with the columns of
    :data:`GLANCE_COLUMNS` and ``id`` (the claim's name) and ``verdict_key`` (the verdict
    as :func:`tlkit.verdicts.verdict` gives it, or ``not tested``)."""
    rows = []
    for r in judged.itertuples(index=False):
        rows.append({"id": r.claim,
                     "claim": statement_of(r.claim, found, statements, r.description),
                     "verdict": meaning(r.verdict, r.adj_low, r.adj_high, r.sign, r.margin),
                     "effect [adjusted interval]": effect_text(r.estimate, r.adj_low,
                                                               r.adj_high),
                     "verdict_key": r.verdict})
    judged_names = set(judged["claim"])
    for name, why in (untested or {}).items():
        if name in judged_names:
            raise ValueError(f"claim {name!r} is both judged and not tested")
        rows.append({"id": name, "claim": statement_of(name, found, statements),
                     "verdict": f"not tested ({why})", "effect [adjusted interval]": "–",
                     "verdict_key": "not tested"})
    return pd.DataFrame(rows, columns=["id", *GLANCE_COLUMNS, "verdict_key"])


def caption(rows: pd.DataFrame) -> str:
    """The caption of a :func:`glance` table: how many claims, by verdict."""
    counts = rows["verdict_key"].value_counts()
    told = ", ".join(f"{int(counts[k])} {k}" for k in
                     ("held", "did not hold", "inconclusive", "not tested") if k in counts)
    return (f"Result at a glance: {len(rows)} claim{'' if len(rows) == 1 else 's'} ({told}); "
            "each effect with the Holm-adjusted interval its verdict was decided on")


def markdown(rows: pd.DataFrame) -> str:
    """A :func:`glance` table as Markdown (its caption in italics above it), for a notebook
    read outside the book."""
    lines = [f"*{caption(rows)}*", "", "| " + " | ".join(GLANCE_COLUMNS) + " |",
             "|" + "---|" * len(GLANCE_COLUMNS)]
    for _, r in rows.iterrows():
        lines.append("| " + " | ".join(str(r[c]).replace("|", "\\|")
                                       for c in GLANCE_COLUMNS) + " |")
    return "\n".join(lines)
