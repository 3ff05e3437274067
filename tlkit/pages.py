"""What a notebook page hands to its Markdown: glued values, and tables of claims for readers.

Pages write their sentences in Markdown with ``{glue:text}`` roles; these helpers glue a page's
numbers under stable names in one call instead of dozens, so that the code a reader sees is the
code that teaches:

* :func:`glue_values`: every entry of a mapping as ``<prefix>_<name>``;
* :func:`glue_claims`: for each claim of a judged family (:func:`tlkit.verdicts.judge`), its
  estimate, intervals, verdict, and the half-width and detectable effect of its test;
* :func:`glue_glance`: the page's result at a glance, claim by claim in words
  (:mod:`tlkit.glance`);
* :func:`glue_runs`: the page's runs, counted as the execution statistics count them;
* :func:`claims_table`: the family as a compact table (three significant digits, no index);
* :func:`setup`: the book's plotting style and table display, once per page;
* :func:`figure`: glue a figure under a name, for a numbered ``{glue:figure}`` with a caption;
* :func:`table`: a table for readers: captioned, three significant digits, no index;
* :func:`samples`: the training images of runs, for a grid of what the data look like.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["CLAIM_COLUMNS", "glue_values", "glue_claims", "glue_glance", "glue_runs",
           "glue_exercise_effects",
           "claims_table", "unadjusted", "quote", "setup", "figure", "table", "samples"]


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
    ``_adj_low``/``_adj_high`` (Holm-adjusted), ``_quote`` (the estimate and its adjusted
    interval, the text prose quotes beside the verdict: :func:`tlkit.glance.effect_text`),
    ``_level``, ``_p``, ``_verdict`` and, with a
    power table (:func:`tlkit.analysis.power_table`), ``_hw`` (half-width), ``_target``,
    ``_mde`` and ``_seeds``; and ``<prefix>_family`` (the number of claims)."""
    from .glance import effect_text

    values: dict[str, Any] = {"family": len(judged)}
    for r in judged.itertuples(index=False):
        values.update({r.claim: r.estimate, f"{r.claim}_low": r.ci_low,
                       f"{r.claim}_high": r.ci_high, f"{r.claim}_adj_low": r.adj_low,
                       f"{r.claim}_adj_high": r.adj_high, f"{r.claim}_level": r.level,
                       f"{r.claim}_quote": effect_text(r.estimate, r.adj_low, r.adj_high),
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


#: The columns of :func:`claims_table` by ``part``: the results, and the design behind them.
#: The verdict comes second, so that a phone shows it beside its claim.
CLAIM_COLUMNS = {
    "result": ("claim", "verdict", "estimate [95% CI]", "adjusted CI", "published (margin)",
               "measured"),
    "design": ("claim", "seeds", "± (target)", "detectable"),
}


def _interval(low: Any, high: Any) -> str:
    """``[low, high]`` with a no-break space, so that a wrapped cell never splits it."""
    return f"[{_sig(low)},\u00a0{_sig(high)}]"


def _fixed(x: Any, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if isinstance(x, int | float) and math.isfinite(x) else "–"


def _published(published: float, margin: float, sign: int) -> str:
    """The published size and, in brackets, the margin below which the claim did not hold,
    both in the claim's natural sign (``-0.031 (-0.016)``; ``– (0)`` when none is published)."""
    size = "–" if not published else f"{sign * published:+.3f}"
    return f"{size}\u00a0({sign * margin:+.3f})" if margin else f"{size}\u00a0(0)"


def claims_table(judged: pd.DataFrame, power: pd.DataFrame | None = None,
                 part: str = "all", found: Mapping[str, Mapping[str, Any]] | None = None,
                 statements: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The family for readers: the claim in words (its ``statement`` in ``found`` or
    ``statements``, :func:`tlkit.glance.statement_of`; its name when neither is given), the
    verdict and what it means (:func:`tlkit.glance.meaning`), the estimate with its 95%
    interval and its Holm-adjusted bounds, the published size with the claim's margin, what
    is measured, and (with ``power``) the seeds, the interval half-width against its target
    and the detectable effect. ``part`` ``"result"`` or ``"design"`` keeps the columns of
    :data:`CLAIM_COLUMNS` (two tables that each fit the text column); ``"all"`` keeps every
    column."""
    from .glance import meaning, statement_of

    if part not in ("all", *CLAIM_COLUMNS):
        raise ValueError(f"part must be all, result or design, got {part!r}")
    rows = []
    by_claim = None if power is None else power.set_index("claim")
    worded = found is not None or statements is not None
    for r in judged.itertuples(index=False):
        claim = statement_of(r.claim, found or {}, statements, r.description) if worded \
            else r.claim
        row = {"claim": claim,
               "verdict": meaning(r.verdict, r.adj_low, r.adj_high, r.sign, r.margin),
               "estimate [95% CI]": f"{_sig(r.estimate)} {_interval(r.ci_low, r.ci_high)}",
               "adjusted CI": _interval(r.adj_low, r.adj_high),
               "published (margin)": _published(r.published, r.margin, r.sign),
               "measured": r.description}
        if by_claim is not None and r.claim in by_claim.index:
            p = by_claim.loc[r.claim]
            row.update({"seeds": p["seeds"],
                        "± (target)": f"{_fixed(p['half_width'])} ({_fixed(p['target'])})",
                        "detectable": _fixed(p["mde"])})
        rows.append(row)
    out = pd.DataFrame(rows)
    if part == "all":
        return out
    return out[[c for c in CLAIM_COLUMNS[part] if c in out.columns]]


def plan_table(plan: pd.DataFrame) -> pd.DataFrame:
    """A page's power plan (:func:`tlkit.power.plan`) for readers: per claim, the published size
    and the target (half of it), the pilot's spread and the spread planned for (its upper
    confidence bound), the seeds, the detectable effect planned
    at the family's Holm level, the seeds that would reach the target, and whether the claim
    is tested (and if not, why: it cannot be powered, or its experiment cannot show it)."""
    return pd.DataFrame({
        "claim": plan["claim"],
        "published (target)": [f"{p:.3f} ({t:.4f})" for p, t in
                               zip(plan["published"], plan["target"], strict=True)],
        "pilot sd (planned)": [f"{_fixed(a, 4)} ({_fixed(b, 4)})" for a, b in
                               zip(plan["pilot_sd"], plan["planning_sd"], strict=True)],
        "seeds": plan["seeds"],
        "detectable": [_fixed(x, 4) for x in plan["planned_mde"]],
        "seeds needed": [str(int(x)) if math.isfinite(x) else "more than 1000"
                         for x in plan["seeds_needed"]],
        "tested": ["yes" if x else f"no: {why}" for x, why in
                   zip(plan["powered"], plan["why"], strict=True)]})


def glue_untested(prefix: str, found: Mapping[str, Mapping[str, Any]],
                  plan: pd.DataFrame) -> dict[str, str]:
    """For each claim the ``plan`` leaves untested, :func:`glue_left_out` with the reason:
    the seeds it would need, or the precondition its experiment failed (the plan's ``why``).
    Returns each claim's reason, by name."""
    reasons = {}
    for r in plan[~plan["powered"].astype(bool)].itertuples(index=False):
        need = f"{int(r.seeds_needed)}" if math.isfinite(r.seeds_needed) else "over 1000"
        why = getattr(r, "why", "") or "cannot be powered"
        reasons[r.claim] = (f"it would need {need} seeds, the profile gives {r.seeds}"
                            if why == "cannot be powered" else why)
    return glue_left_out(prefix, found, reasons)


def glue_left_out(prefix: str, found: Mapping[str, Mapping[str, Any]],
                  reasons: Mapping[str, str]) -> dict[str, str]:
    """For each claim of ``reasons`` (a claim name and why it leaves the family) that
    ``found`` measured: glue its mean and 95% interval (a description; ``<prefix>_<claim>``,
    ``_low``, ``_high``, and ``_quote``, :func:`tlkit.glance.untested_text`), its seeds
    (``_seeds``, as :func:`glue_claims` does for a tested claim) and as its verdict
    ``not tested (<reason>)``. Returns the reason of each of those
    claims, by name."""
    from .glance import untested_text

    names: dict[str, str] = {}
    for claim, why in reasons.items():
        if claim not in found:
            continue
        mean, low, high, n = unadjusted(found[claim])
        glue_values(prefix, {claim: mean, f"{claim}_low": low, f"{claim}_high": high,
                             f"{claim}_quote": untested_text(mean, low, high),
                             f"{claim}_seeds": n, f"{claim}_verdict": f"not tested ({why})"})
        names[claim] = why
    return names


def unadjusted(effect: Mapping[str, Any]) -> tuple[float, float, float, int]:
    """The mean, plain 95% interval and seeds of a claim's per-seed ``values`` (Student t), or
    of the difference of its two ``groups`` (Welch; the seeds of the smaller group)."""
    from .analysis import t_interval, welch_claim

    if "groups" in effect:  # two independent samples: Welch's interval
        a, b = (pd.Series(g, dtype=float).dropna() for g in effect["groups"])
        c = welch_claim("", a, b)
        (low, high), mean, n = c.interval(0.95), c.estimate, min(len(a), len(b))
    else:
        values = pd.Series(effect["values"], dtype=float).dropna()
        (low, high), mean, n = t_interval(values, 0.95), float(values.mean()), len(values)
    return float(mean), float(low), float(high), int(n)


def quote(judged: pd.DataFrame, found: Mapping[str, Mapping[str, Any]], claim: str) -> str:
    """The text prose quotes for ``claim``: its estimate and Holm-adjusted interval when
    ``judged`` holds it (:func:`tlkit.glance.effect_text`), else its mean and plain 95%
    interval, said to be so (:func:`tlkit.glance.untested_text`)."""
    from .glance import effect_text, untested_text

    rows = judged[judged["claim"] == claim]
    if len(rows):
        r = rows.iloc[0]
        return effect_text(r["estimate"], r["adj_low"], r["adj_high"])
    return untested_text(*unadjusted(found[claim])[:3])


class _Pasted:
    """A glued table that pastes as HTML in the book and as Markdown in a plain notebook
    (its ``text/plain``, which :func:`tlkit.teaching.values.fill` writes into the prose)."""

    def __init__(self, html: str, text: str) -> None:
        self.html, self.text = html, text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def glue_glance(prefix: str, judged: pd.DataFrame, found: Mapping[str, Mapping[str, Any]],
                untested: Mapping[str, str] | None = None,
                statements: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Glue the page's result at a glance (:func:`tlkit.glance.glance`) as
    ``<prefix>_glance``, a captioned table for ``{glue:} <prefix>_glance`` under the page's
    question (Markdown outside the book), and its rows as JSON, ``<prefix>_glance_rows``, for
    the landing page (:mod:`tlkit.findings`); return the rows."""
    import json

    from myst_nb import glue

    from .glance import GLANCE_COLUMNS, caption, glance, markdown

    rows = glance(judged, found, untested, statements)
    styled = table(rows[list(GLANCE_COLUMNS)], caption(rows))
    glue(f"{prefix}_glance", _Pasted(styled.to_html(), markdown(rows)), display=False)
    glue(f"{prefix}_glance_rows", json.dumps(rows.to_dict("records"), ensure_ascii=False),
         display=False)
    return rows


def glue_runs(prefix: str) -> dict[str, int]:
    """Glue ``<prefix>_runs``, ``_runs_trained`` and ``_runs_cached``: the runs the sweeps of
    this notebook have needed so far, counted as the book's execution statistics count them
    (:func:`tlkit.progress.runs_seen`: distinct runs over every sweep); call it after the
    page's last sweep. Returns the counts."""
    from .progress import runs_seen

    seen = runs_seen()
    glue_values(prefix, {"runs": seen["runs"], "runs_trained": seen["trained"],
                         "runs_cached": seen["cached"]})
    return seen


def glue_exercise_effects(prefix: str, run: Any) -> None:
    """Glue ``<prefix>_exercise_effect`` (the estimate with its 95% interval over seeds),
    ``_exercise_effect_what`` (what is measured) and ``_exercise_effect_seeds`` of the effect the
    page's *predict, then run* exercise turns on (:meth:`tlkit.experiments.experiment.Run.
    effects`): the numbers the teaching chapter quotes. Shows nothing on the page."""
    effects = run.effects()
    if effects:
        e = effects[0]
        glue_values(prefix, {
            "exercise_effect": f"{e.estimate:+.3f} [{e.low:+.3f}, {e.high:+.3f}]",
            "exercise_effect_what": e.effect, "exercise_effect_seeds": e.seeds})


def setup() -> None:
    """The page's figure style (:func:`tlkit.plots.style.use`) and table display (no truncated
    text)."""
    from .plots import style

    style.use()
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_rows", 400)


def figure(name: str, fig: Any) -> None:
    """Glue ``fig`` under ``name`` (for ``{glue:figure}``, which numbers and captions it) and
    close it, so that the book shows it once, where the caption is; glue the numbers it plots,
    where its plots recorded them (:func:`tlkit.plots.base.figure_data`), as CSV text under
    ``<name>_data`` (:mod:`tlkit.figure_data`). Run in Jupyter rather than by tlkit
    (``TLKIT_GLUE_ONLY`` unset), the figure is also shown where it is drawn."""
    import os

    import matplotlib.pyplot as plt
    from myst_nb import glue

    from .figure_data import SUFFIX
    from .plots.base import figure_data

    glue(name, fig, display=False)
    data = figure_data(fig)
    if data is not None:
        glue(name + SUFFIX, data.to_csv(index=False, float_format="%.6g"), display=False)
    if os.environ.get("TLKIT_GLUE_ONLY") != "1":
        from IPython.display import display

        display(fig)
    plt.close(fig)


def is_p_column(name: Any) -> bool:
    """A column of p-values: named ``p``, ``p_value``, ``p_holm`` or ``p (...)``."""
    text = str(name)
    return text in ("p", "p_value", "p_holm") or text.startswith("p (")


def p_text(p: Any) -> str:
    """A p-value in the book's one style: three decimals, ``< 0.001`` below that."""
    if p is None or not isinstance(p, int | float) or not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _format(x: Any, digits: int, signed: bool) -> str:
    if isinstance(x, bool) or x is None:
        return "" if x is None else ("yes" if x else "no")
    if isinstance(x, int | float) and not isinstance(x, bool):
        if isinstance(x, float) and not math.isfinite(x):
            return "–"
        if isinstance(x, int) or abs(x) >= 10 ** digits:
            text = f"{x:.0f}"
        elif abs(x) >= 1:
            text = f"{x:#.{digits}g}".rstrip(".")
        elif x != 0 and abs(x) < 10 ** -digits:
            text = f"{x:.2g}"
        else:
            text = f"{x:.{digits}f}"
        return ("+" if signed and x > 0 else "") + text
    text = str(x)
    # an interval "[low, high]" wraps as a unit
    return re.sub(r"\[([^\]]*?), ([^\]]*)\]", "[\\1,\u00a0\\2]", text)


def table(df: pd.DataFrame, caption: str, *, digits: int = 3,
          signed: tuple[str, ...] = ()) -> Any:
    """``df`` for readers: numbers below 1 (accuracies, differences, p-values) to ``digits``
    decimals (two significant digits below ``10**-digits``), larger ones to ``digits``
    significant digits, whole numbers as they are; ``+`` on the ``signed`` columns
    (differences); p-values (:func:`is_p_column`) in one style (:func:`p_text`); a float
    column of whole numbers (counts with gaps) as whole numbers; no index; ``caption`` above
    it."""
    shown = df.copy()
    for col in shown.columns:
        values = [v.item() if hasattr(v, "item") else v for v in shown[col]]
        if is_p_column(col):
            shown[col] = [p_text(v) for v in values]
            continue
        numbers = [v for v in values if isinstance(v, float) and math.isfinite(v)]
        if numbers and all(v.is_integer() for v in numbers) and all(
                isinstance(v, float) or v is None for v in values):
            values = [int(v) if isinstance(v, float) and math.isfinite(v) else v
                      for v in values]  # a column of counts, float only for its gaps
        shown[col] = [_format(v, digits, col in signed) for v in values]
    return (shown.style.hide(axis="index").set_caption(caption)
            .set_table_attributes('class="tlkit-table"'))


def samples(specs: Mapping[str, Any]) -> dict[str, Any]:
    """The training images of each run in ``specs`` (label -> :class:`tlkit.RunSpec`), exactly
    as the run sees them (its classes, options, size and channels; :func:`tlkit.runner.load_data`),
    for :func:`tlkit.plots.sample_grid`."""
    from .runner import load_data

    return {label: load_data(spec, "train") for label, spec in specs.items()}
