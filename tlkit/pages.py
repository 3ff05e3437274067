"""What a notebook page hands to its Markdown: glued values, and tables of claims for readers.

Pages write their sentences in Markdown with ``{glue:text}`` roles; these helpers glue a page's
numbers under stable names in one call instead of dozens, so that the code a reader sees is the
code that teaches:

* :func:`glue_values`: every entry of a mapping as ``<prefix>_<name>``;
* :func:`glue_claims`: for each claim of a judged family (:func:`tlkit.verdicts.judge`), its
  estimate, intervals, verdict, and the half-width and detectable effect of its test;
* :func:`claims_table`: the family as a compact table (three significant digits, no index).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["glue_values", "glue_claims", "claims_table"]


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return value
    return value


def glue_values(prefix: str, values: Mapping[str, Any]) -> None:
    """Glue every value under ``<prefix>_<name>`` (not displayed where it is glued)."""
    from myst_nb import glue

    for name, value in values.items():
        glue(f"{prefix}_{name}", _plain(value), display=False)


def glue_claims(prefix: str, judged: pd.DataFrame, power: pd.DataFrame | None = None) -> None:
    """Glue each claim's ``<prefix>_<claim>`` (estimate), ``_low``/``_high`` (95% interval),
    ``_adj_low``/``_adj_high`` (Holm-adjusted), ``_level``, ``_p``, ``_verdict`` and, with a
    power table (:func:`tlkit.analysis.power_table`), ``_hw`` (half-width), ``_target``,
    ``_mde`` and ``_seeds``; and ``<prefix>_family`` (the number of claims)."""
    values: dict[str, Any] = {"family": len(judged)}
    for r in judged.itertuples(index=False):
        values.update({r.claim: r.estimate, f"{r.claim}_low": r.ci_low,
                       f"{r.claim}_high": r.ci_high, f"{r.claim}_adj_low": r.adj_low,
                       f"{r.claim}_adj_high": r.adj_high, f"{r.claim}_level": r.level,
                       f"{r.claim}_p": r.p_value, f"{r.claim}_verdict": r.verdict})
    if power is not None:
        for r in power.itertuples(index=False):
            values.update({f"{r.claim}_hw": r.half_width, f"{r.claim}_target": r.target,
                           f"{r.claim}_mde": r.mde, f"{r.claim}_seeds": r.seeds})
    glue_values(prefix, values)


def _sig(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, str):
        return x
    return f"{x:+.{digits}f}" if abs(x) < 10 else f"{x:+.{digits - 2}f}"


def claims_table(judged: pd.DataFrame, power: pd.DataFrame | None = None) -> pd.DataFrame:
    """The family for readers: claim, what is measured, estimate with its 95% interval and its
    Holm-adjusted interval, the published size, the verdict, and (with ``power``) the interval
    half-width against its target and the detectable effect."""
    rows = []
    by_claim = None if power is None else power.set_index("claim")
    for r in judged.itertuples(index=False):
        row = {"claim": r.claim, "measured": r.description,
               "estimate [95% CI]": f"{_sig(r.estimate)} [{_sig(r.ci_low)}, {_sig(r.ci_high)}]",
               "adjusted CI": f"[{_sig(r.adj_low)}, {_sig(r.adj_high)}]",
               "published": "–" if not r.published else f"{r.sign * r.published:+.3f}",
               "verdict": r.verdict}
        if by_claim is not None and r.claim in by_claim.index:
            p = by_claim.loc[r.claim]
            target = "–" if not math.isfinite(p["target"]) else f"{p['target']:.3f}"
            row.update({"seeds": p["seeds"], "± (target)": f"{p['half_width']:.3f} ({target})",
                        "detectable": f"{p['mde']:.3f}"})
        rows.append(row)
    return pd.DataFrame(rows)
