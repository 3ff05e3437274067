"""The validation curves a recipe is chosen from (the appendix on training recipes)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .base import label_axes, record
from .style import COLUMN

__all__ = ["recipe_curves_plot"]


def _label(row: pd.Series, varied: list[str]) -> str:
    names = {"lr": "lr", "epochs": "ep", "warmup_epochs": "warm-up", "batch_size": "batch",
             "weight_decay": "wd"}
    return ", ".join(f"{names.get(k, k)} {row[k]:g}" for k in varied if k in row
                     and not pd.isna(row[k]))


def recipe_curves_plot(curves: pd.DataFrame, selection: pd.DataFrame, experiment: str, *,
                       ncols: int = 2, width: float = COLUMN) -> Figure:
    """One panel per recipe role of ``experiment``: mean validation accuracy (over the search's
    seeds) against epoch for every grid point, the chosen one thick and black (and named in
    the panel's title), the others thin and grey, each with a band of one standard error of
    that mean (the spread the one-standard-error rule of the search compares). A recipe
    chosen on templates of different lengths (two target sizes) is drawn against the share
    of each template's epochs, in steps of 5%, averaged over its templates.

    ``curves`` is :func:`tlkit.experiments.recipes.validation_curves`, ``selection``
    :func:`tlkit.experiments.recipes.select`.
    """
    sel = selection[selection["experiment"] == experiment]
    roles = list(dict.fromkeys(sel["role"]))
    nrows = math.ceil(len(roles) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 2.8 * nrows), squeeze=False,
                             sharey=False, layout="constrained")
    varied = [k for k in ("lr", "epochs", "warmup_epochs", "batch_size", "weight_decay")
              if k in sel and sel[k].notna().any() and sel[k].nunique() > 1]
    part = curves[curves["experiment"] == experiment]
    for ax, role in zip(axes.flat, roles, strict=False):
        rows = sel[sel["role"] == role]
        mine = part[part["role"] == role]
        last = mine.groupby("template")["epoch"].transform("max")
        shares = last.nunique() > 1
        if shares:
            mine = mine.assign(epoch=(mine["epoch"] / last * 20).round() / 20)
        mean = mine.groupby(["point", "epoch"])["val_acc"].agg(["mean", "std", "count"])
        mean = mean.reset_index().rename(columns={"mean": "val_acc"})
        mean["se"] = (mean["std"] / mean["count"].clip(lower=1) ** 0.5).fillna(0.0)
        record(ax, mean.assign(role=role))
        chosen = ""
        for r in rows.itertuples(index=False):
            line = mean[mean["point"] == r.point]
            if line.empty:
                continue
            if r.chosen:
                chosen = _label(rows.loc[rows["point"] == r.point].iloc[0], varied)
            style = dict(color="black", linewidth=2.2, zorder=3) if r.chosen else dict(
                color="0.6", linewidth=0.9, linestyle="-" if r.eligible else ":")
            ax.fill_between(line["epoch"], line["val_acc"] - line["se"],
                            line["val_acc"] + line["se"], color=style["color"],
                            alpha=0.18 if r.chosen else 0.07, linewidth=0)
            ax.plot(line["epoch"], line["val_acc"], marker="o" if len(line) < 3 else None,
                    markersize=3, **style)
        label_axes(ax, "share of its epochs" if shares else "epoch", "validation accuracy",
                   f"{role}: {chosen}" if chosen else role)
    for ax in list(axes.flat)[len(roles):]:
        ax.set_visible(False)
    return fig
