r"""The answer for a folder: each arm's recipe and the recommended start, chosen by
cross-validation; the claims, judged by the book's rules; and the answer in a few sentences.

**Choices** read cross-validation accuracy only (each fold's held-out training images), never
the folder's test images: each arm's rate is the one with the best mean accuracy over the folds
(ties to the smaller rate, :func:`tlkit.choices.choose_on_validation`), and the *recommended*
arm is the transfer arm with the best mean cross-validation accuracy at its chosen rate.

**Claims** (the family, fixed by the plan before any run): for every transfer arm run, *it
beats scratch* (its test accuracy minus scratch's, paired by seed), and *the recommended start
beats the other* (the recommended arm minus the best arm, by cross-validation, of the other
start). Each has the margin ``margin`` of the profile: a gain shown to be smaller is *did not
hold* (:mod:`tlkit.verdicts`, Holm-adjusted two one-sided tests). The arms are compared on the
reported seeds' test accuracy, so the recommended arm's own number is not chosen on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...analysis import format_interval, mean_claim
from ...choices import choose_on_validation
from . import design

__all__ = ["with_diverged", "chosen_rates", "cv_table", "recommended", "claims", "answer_text",
           "arm_table", "half_gain", "half_table"]


def with_diverged(records: Sequence[Any], specs: Sequence[Any], classes: int,
                  device: str = "auto", store: Any = None) -> pd.DataFrame:
    """The results table of ``records`` (:func:`tlkit.results.frame`) with a row for every run
    of ``specs`` that diverged (noted so in the run cache), scored at chance (``1 / classes``)
    and marked ``diverged``: a rate that diverges is a result of that rate, never a missing
    one. Any other missing run is an error."""
    from ... import results
    from ...store import Store
    from ...sweep import placed

    store = store if store is not None else Store()
    frame = results.frame(records).assign(diverged=False)
    have = {r.key for r in records}
    extra = []
    for spec in placed(specs, device):
        if spec.key() in have:
            continue
        if store.diverged(spec) is None:
            raise ValueError(f"run {spec.key()} ({spec.tag_dict}) has no record and did not "
                             "diverge: run the stage again")
        extra.append(dict(spec.tag_dict, key=spec.key(), seed=spec.seed, lr=spec.train.lr,
                          test_acc=1.0 / classes, diverged=True))
    return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True) if extra else frame


def cv_table(selection: pd.DataFrame) -> pd.DataFrame:
    """Mean cross-validation accuracy of every arm and rate (``arm, lr, cv_acc, folds``) from
    the selection runs' results table (their ``test_acc`` is the held-out fold's)."""
    t = selection.rename(columns={"test_acc": "cv_acc"})
    out = (t.groupby(["arm", "lr"], sort=False)["cv_acc"].agg(["mean", "count"])
           .reset_index().rename(columns={"mean": "cv_acc", "count": "folds"}))
    if "diverged" in t:
        count = t.groupby(["arm", "lr"], sort=False)["diverged"].sum()
        out["diverged"] = [int(count[a, lr]) for a, lr in zip(out["arm"], out["lr"],
                                                               strict=True)]
    order = {a: i for i, a in enumerate(design.ARMS)}
    out = out.assign(_o=out["arm"].map(order)).sort_values(["_o", "lr"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def chosen_rates(selection: pd.DataFrame) -> dict[str, float]:
    """Per arm, the rate with the best mean cross-validation accuracy."""
    t = selection.rename(columns={"test_acc": "cv_acc"})
    chosen = choose_on_validation(t, ["arm"], "lr", value="cv_acc")
    return {str(r.arm): float(r.lr) for r in chosen.itertuples()}


def _best_cv(selection: pd.DataFrame, rates: Mapping[str, float]) -> pd.Series:
    t = cv_table(selection)
    at = t[[rates.get(a) == lr for a, lr in zip(t["arm"], t["lr"], strict=True)]]
    return at.set_index("arm")["cv_acc"]


def recommended(selection: pd.DataFrame, rates: Mapping[str, float]) -> tuple[str, str | None]:
    """(the recommended arm, the other start's best arm or None): the transfer arms with the
    best cross-validation accuracy, overall and within the other start."""
    cv = _best_cv(selection, rates).drop("scratch", errors="ignore")
    best = str(cv.idxmax())
    other = cv[[design.start_of(a) != design.start_of(best) for a in cv.index]]
    return best, (str(other.idxmax()) if len(other) else None)


def arm_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per arm (every training image): mean test accuracy with its 95% interval over seeds."""
    from ...analysis import t_interval

    rows = []
    for arm, part in runs[runs["share"] == "all"].groupby("arm", sort=False):
        v = part["test_acc"].to_numpy(dtype=float)
        low, high = t_interval(v, 0.95)
        rows.append(dict(arm=arm, source=part["source"].iloc[0], seeds=len(v),
                         test_acc=float(v.mean()), low=low, high=high))
    return pd.DataFrame(rows)


def _paired(runs: pd.DataFrame, a: str, b: str, share: str = "all") -> pd.Series:
    part = runs[runs["share"] == share]
    wide = part.pivot_table(index="seed", columns="arm", values="test_acc")
    both = wide[[a, b]].dropna()
    return both[a] - both[b]


def claims(runs: pd.DataFrame, arms: Sequence[str], best: str, other: str | None,
           margin: float) -> list[Any]:
    """The page's family (module docstring), from the reported runs' results table."""
    out = []
    for arm in arms:
        if arm == "scratch":
            continue
        out.append(mean_claim(f"{arm} beats scratch", _paired(runs, arm, "scratch"),
                              margin=margin,
                              description=f"test accuracy, {arm} - scratch, paired by seed"))
    if other is not None:
        out.append(mean_claim("the recommended start beats the other",
                              _paired(runs, best, other), margin=margin,
                              description=f"test accuracy, {best} - {other}, paired by seed"))
    return out


def half_gain(runs: pd.DataFrame, best: str) -> tuple[pd.Series, pd.Series]:
    """The recommended arm's gain over scratch per seed at the smaller size and at every
    image (empty where the smaller size was not run)."""
    if not (runs["share"] == "half").any():
        return pd.Series(dtype=float), pd.Series(dtype=float)
    return _paired(runs, best, "scratch", "half"), _paired(runs, best, "scratch")


def half_table(runs: pd.DataFrame, best: str) -> pd.DataFrame:
    """At half the images and at all of them: images per class, scratch's and the recommended
    arm's mean test accuracy and the gain with its 95% interval over seeds (unadjusted: a
    description). Empty where the smaller size was not run."""
    rows = []
    for share in ("half", "all"):
        part = runs[runs["share"] == share]
        if part.empty:
            return pd.DataFrame()
        gain = _paired(runs, best, "scratch", share)
        per_class = part["n_train"].iloc[0] / part["num_classes"].iloc[0]
        rows.append({"images": share, "per class": round(float(per_class)),
                     "scratch": part.loc[part["arm"] == "scratch", "test_acc"].mean(),
                     best: part.loc[part["arm"] == best, "test_acc"].mean(),
                     "gain [95%]": format_interval(float(gain.mean()),
                                                   *_interval(gain))})
    return pd.DataFrame(rows)


def _interval(values: pd.Series) -> tuple[float, float]:
    from ...analysis import t_interval

    return t_interval(values.to_numpy(dtype=float), 0.95)


def answer_text(judged: pd.DataFrame, table: pd.DataFrame, best: str, *, seeds: int,
                half: tuple[pd.Series, pd.Series] | None = None) -> str:
    """The answer in a few sentences: the start and method to use, by how much it beats
    scratch, how sure that is (its verdict and adjusted interval), and what more images would
    likely change."""
    row = judged.set_index("claim").loc[f"{best} beats scratch"]
    acc = table.set_index("arm")
    mine, base = acc.loc[best], acc.loc["scratch"]
    start, method = design.start_of(best), design.method_of(best)
    where = ("the ImageNet weights of EfficientNet-Lite0" if start == design.IMAGENET
             else f"the book source {mine['source']}")
    gain = format_interval(row["estimate"], row["adj_low"], row["adj_high"])
    verdict = {"held": "it helps: the adjusted interval lies above zero",
               "did not hold": "it does not help by the margin: the adjusted interval lies "
                               "below it",
               "inconclusive": "this is not settled: the adjusted interval includes zero "
                               "and the margin"}[row["verdict"]]
    text = (f"**Start from {where} with {method}** (the arm with the best cross-validation "
            f"accuracy). On the folder's test images it reaches {mine['test_acc']:.3f} "
            f"against {base['test_acc']:.3f} from scratch, a gain of {gain} (Holm-adjusted, "
            f"{seeds} seeds): {verdict}.")
    if half is not None and len(half[0]) and len(half[1]):
        g_half, g_all = float(half[0].mean()), float(half[1].mean())
        trend = ("shrinks" if g_all < g_half else "grows")
        text += (f" With half the images per class its gain was {g_half:+.3f}, with all of "
                 f"them {g_all:+.3f}: the gain {trend} as images are added, so more images "
                 f"would likely make transfer matter {'less' if trend == 'shrinks' else 'more'}"
                 " (two sizes, a description rather than a claim).")
    return text
