r"""The numbers of the hyperparameter page: curves, choices on validation, recommendations and
the claims.

Everything is chosen on **validation** accuracy (the mean over seeds; ties go to the setting
listed first, the default before any other): per cell and hyperparameter, the value that is
best with the others at their default (:func:`knob_choices`); their combination
(:func:`combined_settings`); and per cell the best of every setting it ran, the combination
included (:func:`cell_choices`). Test accuracy is read only to report the chosen setting.

Comparisons are paired by seed: the runs of one seed in one cell share the target subsample.
A claim's per-seed value is a difference of test accuracies; its interval the Student-t
interval over seeds (:func:`tlkit.analysis.mean_claim`).

* ``gain_<source>_<cell>``: the cell's chosen setting minus the default recipe;
* ``transplant_<source>_<to>``: the central claim of the survey (Plested et al., 2022), the
  accuracy a cell loses when it takes, unchanged, the setting chosen for another cell
  (``to_sd``: large & similar's setting on small & dissimilar; ``to_ls``: the reverse).

Each seed reports its test accuracy at the settings chosen on the *other* seeds' validation
(:func:`seed_choices`, cross-fitting), so that choosing does not inflate the gains reported.
The family is fixed before any run: a comparison that comes out zero by construction (a cell
whose choice was the default) stays in it, and counts as no gain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ...analysis import mean_claim, t_interval
from .design import KNOBS, Cell, Setting, default_setting, knob_values

__all__ = ["CELL_KEYS", "SOURCE_KEYS", "SOURCE_NAMES", "setting_of", "knob_curves", "knob_choices",
           "combined_settings", "cell_choices", "seed_choices", "transplants",
           "transplant_settings", "recommendations", "effects", "claims"]

#: Short keys of the regions (claim names).
CELL_KEYS: Mapping[str, str] = {"large & similar": "ls", "small & similar": "ss",
                                "large & dissimilar": "ld", "small & dissimilar": "sd"}
#: Short keys of the source kinds (claim names).
SOURCE_KEYS: Mapping[str, str] = {"glyphs": "glyph", "imagenet": "imagenet"}
#: Short names of the source kinds (tables).
SOURCE_NAMES: Mapping[str, str] = {"glyphs": "glyph", "imagenet": "ImageNet"}

_CELL = ["source", "kind", "region"]


def setting_of(row: Any) -> Setting:
    """The setting of a results row (its tags)."""
    return Setting(int(row["depth"]), float(row["lr_ratio"]), float(row["momentum_value"]),
                   str(row["regularization"]))


def _settings(df: pd.DataFrame) -> list[Setting]:
    return [setting_of(r) for _, r in df.iterrows()]


def _arch(kind: str) -> str:
    return "efficientnet_lite0" if kind == "imagenet" else "cnn8"


def _one_knob(df: pd.DataFrame, s: Mapping[str, Any], knob: str) -> pd.DataFrame:
    """The rows whose setting differs from its cell's default at most in ``knob``, with the
    knob's value (``value``) and its position in the grid (``order``, the default 0)."""
    keep, values, order = [], [], []
    for (_, r), setting in zip(df.iterrows(), _settings(df), strict=True):
        default = default_setting(s, _arch(r["kind"]))
        other = replace(setting, **{knob: default.value(knob)})
        grid = knob_values(s, _arch(r["kind"]), knob)
        ok = other == default and setting.value(knob) in grid
        keep.append(ok)
        values.append(setting.value(knob))
        order.append(grid.index(setting.value(knob)) if ok else -1)
    out = df.assign(value=values, order=order)
    return out[np.asarray(keep, dtype=bool)]


def knob_curves(df: pd.DataFrame, s: Mapping[str, Any], knob: str,
                level: float = 0.95) -> pd.DataFrame:
    """Per cell and value of ``knob`` (the others at default): the mean test accuracy with its
    Student-t interval over seeds (``test_acc``, ``ci_low``, ``ci_high``), the paired
    difference from the default recipe seed by seed with its interval (``diff``,
    ``diff_low``, ``diff_high``; 0 for the default itself), the mean validation accuracy,
    ``seeds`` and ``chosen`` (the value :func:`knob_choices` picks)."""
    part = _one_knob(df[df["stage"] == "grid"], s, knob)
    chosen = knob_choices(df, s)
    pick = {(r.source, r.region): r.value for r in chosen[chosen["knob"] == knob].itertuples()}
    rows = []
    for (source, kind, region), cell in part.groupby(_CELL, sort=False):
        base = cell[cell["order"] == 0].set_index("seed")["test_acc"]
        for order, g in cell.groupby("order", sort=True):
            low, high = t_interval(g["test_acc"], level)
            d = (g.set_index("seed")["test_acc"] - base).dropna()
            dlow, dhigh = t_interval(d, level) if order else (0.0, 0.0)
            value = g["value"].iloc[0]
            rows.append(dict(source=source, kind=kind, region=region, value=value,
                             order=order, test_acc=float(g["test_acc"].mean()), ci_low=low,
                             ci_high=high, diff=float(d.mean()), diff_low=dlow,
                             diff_high=dhigh, val_acc=float(g["val_acc"].mean()),
                             seeds=len(g), chosen=pick.get((source, region)) == value))
    return pd.DataFrame(rows)


def knob_choices(df: pd.DataFrame, s: Mapping[str, Any]) -> pd.DataFrame:
    """Per cell and hyperparameter: the value with the best mean validation accuracy, the other
    hyperparameters at default (ties to the earlier grid value). Columns ``source, kind,
    region, knob, value, val_acc``. Only ``val_acc`` is read."""
    from ...analysis import choose_on_validation

    _need_validation(df)
    grid = df[df["stage"] == "grid"]
    rows = []
    for knob in KNOBS:
        part = _one_knob(grid, s, knob)
        chosen = choose_on_validation(part, _CELL, "order")
        for r in chosen.itertuples(index=False):
            value = knob_values(s, _arch(r.kind), knob)[int(r.order)]
            rows.append(dict(source=r.source, kind=r.kind, region=r.region, knob=knob,
                             value=value, val_acc=float(r.val_acc)))
    return pd.DataFrame(rows)


def _need_validation(df: pd.DataFrame) -> None:
    if "val_acc" not in df or df["val_acc"].isna().any():
        raise ValueError("choosing a setting needs the validation accuracy of every run")


def combined_settings(choices: pd.DataFrame, s: Mapping[str, Any],
                      cells: Sequence[Cell]) -> list[tuple[Cell, list[Setting]]]:
    """Per cell: its chosen value of every hyperparameter together (the second stage)."""
    out = []
    for cell in cells:
        mine = choices[(choices["source"] == cell.source.name)
                       & (choices["region"] == cell.region)]
        values = {r.knob: r.value for r in mine.itertuples()}
        out.append((cell, [replace(default_setting(s, cell.arch), **values)]))
    return out


def cell_choices(df: pd.DataFrame, s: Mapping[str, Any]) -> pd.DataFrame:
    """Per cell: the setting with the best mean validation accuracy among every setting of the
    first and second stages (ties to the default, then to the first listed); and the runner-up.
    Columns ``source, kind, region, setting, changes, val_acc, runner_up, runner_up_changes,
    val_diff, val_low, val_high`` (the paired validation difference of the two and its 95%
    interval over seeds) and ``told_apart`` (that interval excludes 0)."""
    _need_validation(df)
    own = df[df["stage"].isin(["grid", "combined"])]
    rows = []
    for (source, kind, region), part in own.groupby(_CELL, sort=False):
        default = default_setting(s, _arch(kind))
        labels = list(dict.fromkeys(part["setting"]))
        labels.sort(key=lambda x: x != default.label())  # stable: the default first
        means = part.groupby("setting")["val_acc"].mean().reindex(labels)
        ranked = sorted(labels, key=lambda x: -means[x])  # stable: ties keep the order
        best, second = ranked[0], ranked[1] if len(ranked) > 1 else None
        row = dict(source=source, kind=kind, region=region, setting=best,
                   changes=_changes(part, best, default), val_acc=float(means[best]))
        if second is None:
            row.update(runner_up=None, runner_up_changes=None, val_diff=np.nan,
                       val_low=np.nan, val_high=np.nan, told_apart=False)
        else:
            d = _paired(part, best, second, "val_acc")
            low, high = t_interval(d, 0.95)
            row.update(runner_up=second, runner_up_changes=_changes(part, second, default),
                       val_diff=float(d.mean()), val_low=low, val_high=high,
                       told_apart=bool(low > 0))
        rows.append(row)
    return pd.DataFrame(rows)


def seed_choices(df: pd.DataFrame, s: Mapping[str, Any]) -> pd.DataFrame:
    """Per cell and seed: the setting chosen, among every setting of the first and second
    stages, on the validation accuracy of the *other* seeds (:func:`tlkit.choices.cross_fit`;
    ties to the default, then to the first listed). The seed's own test accuracy at it is what
    the claims report, so the choice does not inflate them. Columns ``source, kind, region,
    seed, setting``."""
    from ...choices import cross_fit

    _need_validation(df)
    own = df[df["stage"].isin(["grid", "combined"])]
    parts = []
    for (source, kind, region), part in own.groupby(_CELL, sort=False):
        labels = list(dict.fromkeys(part["setting"]))
        default = default_setting(s, _arch(kind)).label()
        labels.sort(key=lambda x: x != default)  # stable: the default first
        rank = {label: i for i, label in enumerate(labels)}
        runs = part.drop_duplicates(["setting", "seed"])
        picks = cross_fit(runs.assign(order=runs["setting"].map(rank)), [], "order")
        parts.append(pd.DataFrame(dict(source=source, kind=kind, region=region,
                                       seed=picks["seed"].to_numpy(),
                                       setting=[labels[int(i)] for i in picks["order"]])))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["source", "kind", "region", "seed", "setting"])


def _at(part: pd.DataFrame, picks: Mapping[int, str], value: str = "test_acc") -> pd.Series:
    """Per seed: ``value`` of the setting ``picks[seed]`` in one cell's rows (NaN: not run)."""
    by = part.drop_duplicates(["setting", "seed"]).set_index(["seed", "setting"])[value]
    return pd.Series({seed: by.get((seed, label), np.nan) for seed, label in picks.items()},
                     dtype=float).rename_axis("seed")


def _picks(chosen: pd.DataFrame, source: str, region: str) -> dict[int, str]:
    mine = chosen[(chosen["source"] == source) & (chosen["region"] == region)]
    return dict(zip(mine["seed"].astype(int), mine["setting"], strict=True))


def _changes(part: pd.DataFrame, label: str, default: Setting) -> str:
    return setting_of(part[part["setting"] == label].iloc[0]).changes(default)


def _paired(part: pd.DataFrame, a: str, b: str, value: str = "test_acc") -> pd.Series:
    """Per seed: ``value`` of setting ``a`` minus that of setting ``b`` (one cell's rows)."""
    by = part.drop_duplicates(["setting", "seed"]).pivot(index="seed", columns="setting",
                                                         values=value)
    return (by[a] - by[b]).dropna()


def transplants(chosen: pd.DataFrame) -> list[dict[str, Any]]:
    """The central claim's two transplants per source: ``(source, kind, to, from, setting)``
    with ``to`` the cell that receives the setting chosen for ``from`` (``chosen``: one row per
    cell, :func:`cell_choices`)."""
    out = []
    for (source, kind), part in chosen.groupby(["source", "kind"], sort=False):
        pick = dict(zip(part["region"], part["setting"], strict=True))
        for to, frm in (("small & dissimilar", "large & similar"),
                        ("large & similar", "small & dissimilar")):
            if to in pick and frm in pick:
                out.append(dict(source=source, kind=kind, to=to, frm=frm, setting=pick[frm],
                                own=pick[to], same=pick[frm] == pick[to]))
    return out


def transplant_settings(df: pd.DataFrame, s: Mapping[str, Any], cells: Sequence[Cell]
                        ) -> list[tuple[Cell, list[Setting]]]:
    """The third stage: per transplant (:func:`transplants`), the receiving cell and the
    settings chosen for the giving cell (for any seed, :func:`seed_choices`) that it has not
    run yet."""
    by_name = {(c.source.name, c.region): c for c in cells}
    chosen = seed_choices(df, s)
    out = []
    for t in transplants(cell_choices(df, s)):
        have = set(_cell_rows(df, t["source"], t["to"])["setting"])
        donor = _cell_rows(df, t["source"], t["frm"])
        wanted = [x for x in dict.fromkeys(_picks(chosen, t["source"], t["frm"]).values())
                  if x not in have]
        if wanted:
            out.append((by_name[t["source"], t["to"]],
                        [setting_of(donor[donor["setting"] == x].iloc[0]) for x in wanted]))
    return out


def recommendations(df: pd.DataFrame, s: Mapping[str, Any]) -> pd.DataFrame:
    """Per cell: the setting chosen on every seed (:func:`cell_choices`, the recommendation),
    and what choosing on validation gives, each seed at the setting chosen on the other seeds
    (:func:`seed_choices`): its mean test accuracy with its 95% interval over seeds
    (``test_acc``, ``test_low``, ``test_high``), that of the default, and the paired test gain
    with its 95% interval over seeds."""
    chosen = cell_choices(df, s)
    fitted = seed_choices(df, s)
    rows = []
    for r in chosen.to_dict("records"):
        part = _cell_rows(df, r["source"], r["region"])
        default = default_setting(s, _arch(r["kind"])).label()
        picks = _picks(fitted, r["source"], r["region"])
        test = _at(part, picks)
        base = _at(part, dict.fromkeys(picks, default))
        d = (test - base).dropna()
        low, high = t_interval(d, 0.95)
        tlow, thigh = t_interval(test.dropna(), 0.95)
        rows.append(dict(r, test_acc=float(test.mean()), test_low=tlow, test_high=thigh,
                         default_acc=float(base.mean()), gain=float(d.mean()), gain_low=low,
                         gain_high=high, seeds=len(d)))
    return pd.DataFrame(rows)


def _cell_rows(df: pd.DataFrame, source: str, region: str) -> pd.DataFrame:
    return df[(df["source"] == source) & (df["region"] == region)]


def effects(df: pd.DataFrame, s: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]],
                                                              pd.DataFrame]:
    """The per-seed values of every claim of the module docstring, and the transplant table
    (``source, to, frm, setting, own, same, loss, loss_low, loss_high``: the settings chosen
    on every seed, and the loss as the claim measures it).

    Each seed's value is read at the settings chosen for it on the other seeds
    (:func:`seed_choices`). The family is fixed before any run: every cell's gain and both
    transplants of every source, whatever validation chooses. A transplanted setting's runs
    in the receiving cell are those of any stage (the third stage runs the missing ones)."""
    found: dict[str, dict[str, Any]] = {}
    fitted = seed_choices(df, s)
    for r in recommendations(df, s).itertuples(index=False):
        part = _cell_rows(df, r.source, r.region)
        default = default_setting(s, _arch(r.kind)).label()
        picks = _picks(fitted, r.source, r.region)
        values = (_at(part, picks) - _at(part, dict.fromkeys(picks, default))).dropna()
        name = f"gain_{SOURCE_KEYS[r.kind]}_{CELL_KEYS[r.region]}"
        found[name] = dict(values=values, published=0.0,
                           description=f"{SOURCE_NAMES[r.kind]}, {r.region}: chosen "
                                       "minus default",
                           statement=f"From the {SOURCE_NAMES[r.kind]} source, the setting "
                                     f"chosen on validation beats the default in the "
                                     f"{r.region} cell")
    rows = []
    for t in transplants(cell_choices(df, s)):
        part = _cell_rows(df, t["source"], t["to"])
        own, moved = _picks(fitted, t["source"], t["to"]), _picks(fitted, t["source"], t["frm"])
        missing = {x for x in moved.values() if x not in set(part["setting"])}
        if missing:
            raise ValueError(f"the transplant of {t['frm']}'s setting to {t['to']} "
                             f"({t['source']}) has not run; run the third stage first")
        loss = (_at(part, own) - _at(part, moved)).dropna()
        name = f"transplant_{SOURCE_KEYS[t['kind']]}_to_{CELL_KEYS[t['to']]}"
        found[name] = dict(values=loss, published=0.0,
                           description=f"{SOURCE_NAMES[t['kind']]}, on {t['to']}: own "
                                       f"minus {t['frm']}'s",
                           statement=f"From the {SOURCE_NAMES[t['kind']]} source, the "
                                     f"{t['to']} cell's own setting beats the one chosen for "
                                     f"{t['frm']}")
        low, high = t_interval(loss, 0.95)
        rows.append(dict(t, loss=float(loss.mean()), loss_low=low, loss_high=high))
    return found, pd.DataFrame(rows)


def claims(found: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    """The page's family, fixed before any run: every entry of :func:`effects`, claimed
    positive. A comparison that came out zero by construction on every seed (a cell whose
    choice was the default; two cells that chose the same setting) stays in the family."""
    return [mean_claim(name, e["values"], sign=1, published=e["published"],
                       description=e["description"]) for name, e in found.items()]
