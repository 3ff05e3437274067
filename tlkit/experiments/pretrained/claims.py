"""The numbers of the pretrained-source page: curves, paired gains and the claims.

Every comparison is paired by seed: the runs of one seed share the target subsample, so the
difference of two methods on one seed is one observation. A claim's per-seed value is that
difference averaged over the targets (and, where it says so, over the small sizes); its
interval is the Student-t interval over seeds (:func:`tlkit.analysis.mean_claim`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ...analysis import format_mean, mean_claim, paired_tests
from ..small_targets.curves import add_sizes
from .design import (
    CNN_KINDS,
    GLYPH_FINE_TUNE,
    IMAGENET,
    IMAGENET_METHODS,
    SCRATCH,
    TARGET_BN,
    TOP_TARGET_BN,
)

__all__ = ["CHOSEN", "METHOD_CLAIMS", "method_statements", "line_of", "curves",
           "chosen_methods", "with_chosen", "gains", "gain_tests", "effects", "claims",
           "not_run", "unconverged"]

#: The line of the ImageNet method chosen on validation, per target and size.
CHOSEN = "ImageNet, method chosen on validation"


def line_of(method: str, kind: str, source: str) -> str:
    """The legend entry of a run: its method, or ``fine-tune from <source>`` for one of the
    book's own cnn8 sources (:data:`~.design.CNN_KINDS`)."""
    return f"fine-tune from {source}" if kind in CNN_KINDS else method


def curves(df: pd.DataFrame) -> pd.DataFrame:
    """The results table with ``per_class``, ``size`` and ``line`` (:func:`line_of`)."""
    df = add_sizes(df)
    return df.assign(line=[line_of(m, k, s) for m, k, s in
                           zip(df["method"], df["kind"], df["source"], strict=True)])


def chosen_methods(df: pd.DataFrame) -> pd.DataFrame:
    """Per target and size: the ImageNet method with the best mean validation accuracy over
    seeds (ties to the first in :data:`IMAGENET_METHODS` order); only ``val_acc`` is read.
    Columns ``target, size, method, val_acc``."""
    from ...analysis import choose_on_validation

    t = df[df["kind"] == "imagenet"]
    if "val_acc" not in t or t["val_acc"].isna().any():
        raise ValueError("choosing a method needs the validation accuracy of every run")
    order = {m: i for i, m in enumerate(IMAGENET_METHODS)}
    t = t.assign(order=t["method"].map(order))
    chosen = choose_on_validation(t, ["target", "size"], "order")
    return chosen.assign(method=[IMAGENET_METHODS[int(i)] for i in chosen["order"]])[
        ["target", "size", "method", "val_acc"]]


def with_chosen(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (from :func:`curves`) with, under the line :data:`CHOSEN`, each seed's run of the
    ImageNet method chosen for its target and size on the validation accuracy of the *other*
    seeds (:func:`tlkit.choices.cross_fit`): what a practitioner who picks the method on
    validation gets, without the choice inflating the number reported."""
    from ...choices import cross_fit

    t = df[df["kind"] == "imagenet"]
    if "val_acc" not in t or t["val_acc"].isna().any():
        raise ValueError("choosing a method needs the validation accuracy of every run")
    order = {m: i for i, m in enumerate(IMAGENET_METHODS)}
    t = t.assign(order=t["method"].map(order))
    picks = cross_fit(t, ["target", "size"], "order")
    picks["method"] = [IMAGENET_METHODS[int(i)] for i in picks["order"]]
    keep = t.merge(picks[["target", "size", "seed", "method"]],
                   on=["target", "size", "seed", "method"]).drop(columns="order")
    return pd.concat([df, keep.assign(line=CHOSEN)], ignore_index=True)


def gains(df: pd.DataFrame, baseline: str = SCRATCH["cnn8"]) -> pd.DataFrame:
    """Per run other than ``baseline``: its test accuracy and that of ``baseline`` on the same
    target, size and seed (``base``), and ``gain``, their difference."""
    df = curves(df)
    base = df[df["method"] == baseline].set_index(["target", "size", "seed"])["test_acc"]
    runs = df[df["line"] != baseline].copy()
    idx = pd.MultiIndex.from_frame(runs[["target", "size", "seed"]])
    runs["base"] = base.reindex(idx).to_numpy()
    runs["gain"] = runs["test_acc"] - runs["base"]
    return runs[["target", "line", "source", "kind", "method", "per_class", "size", "seed",
                 "test_acc", "base", "gain"]].reset_index(drop=True)


def gain_tests(gain_table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per target, line and size: the paired test against the baseline (``gain``,
    ``ci_low``, ``ci_high``, ``p_value``, ``p_holm`` over the table, ``seeds``, ``verdict``:
    ``positive``, ``negative`` or ``no clear difference``)."""
    keys = ["target", "line", "per_class", "size"]
    out = paired_tests(gain_table.dropna(subset=["base"]), keys, "test_acc", "base", level)
    out = out.rename(columns={"mean_a": "accuracy", "mean_b": "baseline", "diff": "gain",
                              "direction": "verdict"})
    return out.sort_values(["target", "line", "per_class"], ignore_index=True)


def _per_seed(df: pd.DataFrame, a: str, b: str, *, sizes: list[str],
              targets: list[str] | None = None) -> pd.Series:
    """Per seed: the mean over ``targets`` (default all) and ``sizes`` of line ``a`` minus
    line ``b`` (paired on target, size and seed)."""
    t = df[df["size"].isin(sizes)]
    if targets is not None:
        t = t[t["target"].isin(targets)]
    wide = t.pivot_table(index=["target", "size", "seed"], columns="line", values="test_acc",
                         aggfunc="first")
    if a not in wide or b not in wide:
        return pd.Series(dtype=float)
    diff = (wide[a] - wide[b]).dropna()
    return diff.groupby(level="seed").mean()


def effects(df: pd.DataFrame, size_boundary: float, near_source: str | None
            ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The per-seed values behind each claim about the methods, and values to glue.

    "ImageNet" is :data:`CHOSEN`, the method chosen on validation per target and size.

    * ``imagenet_vs_same_arch``: ImageNet minus EfficientNet-Lite0 from scratch, over every
      target and small size (positive: the weights help);
    * ``imagenet_vs_cnn8``: ImageNet minus the book's cnn8 from scratch, likewise (positive:
      transfer helps small targets, the survey's claim);
    * ``near_vs_imagenet``: fine-tuning from the near glyph source minus ImageNet, on the first
      target (the one it is near), small sizes (positive: a small near source beats a huge
      distant one);
    * ``l2sp_vs_ft``: ImageNet L2-SP minus ImageNet fine-tuning, small sizes (positive; Li et
      al., 2018);
    * ``ft_vs_probe_all``: ImageNet fine-tuning minus the linear probe with the whole split,
      over every target (positive: the ImageNet features need adapting to these targets); where
      the profile does not fine-tune every layer, fine-tuning the top stands for it.

    Glued beside them, descriptions: ``bn_small`` and ``bn_all``, the probe with its frozen
    batch-norm statistics recomputed on the target minus with ImageNet's, per seed over the
    targets, at the small sizes and with the whole split; ``top_bn_small`` and ``top_bn_all``,
    the same for fine-tuning the top.

    A claim whose lines the profile does not run is left out (:func:`not_run` names it).
    """
    t = with_chosen(curves(df))
    order = t.sort_values("per_class")[["size", "per_class"]].drop_duplicates()
    small = [s for s, n in order.itertuples(index=False) if n < size_boundary and s != "all"]
    first = t["target"].iloc[0] if len(t) else ""
    lines = set(t["line"])
    ft = "fine-tune" if "fine-tune" in lines else "fine-tune top"
    found: dict[str, dict[str, Any]] = {
        "imagenet_vs_same_arch": dict(
            values=_per_seed(t, CHOSEN, SCRATCH["efficientnet_lite0"], sizes=small),
            description="ImageNet (chosen on validation) - EfficientNet scratch, small sizes, "
                        "all targets"),
        "imagenet_vs_cnn8": dict(
            values=_per_seed(t, CHOSEN, SCRATCH["cnn8"], sizes=small),
            description="ImageNet (chosen on validation) - cnn8 scratch, small sizes, "
                        "all targets"),
        "l2sp_vs_ft": dict(values=_per_seed(t, "L2-SP", "fine-tune", sizes=small),
                           description="ImageNet L2-SP - fine-tune, small sizes, all targets"),
        "ft_vs_probe_all": dict(values=_per_seed(t, ft, "linear probe", sizes=["all"]),
                                description=f"ImageNet {ft} - linear probe, all, "
                                            "all targets"),
    }
    if near_source is not None:
        found["near_vs_imagenet"] = dict(
            values=_per_seed(t, line_of(ft, "glyphs", near_source), CHOSEN, sizes=small,
                             targets=[first]),
            description=f"fine-tune from {near_source} - ImageNet (chosen on validation), "
                        f"{first}, small sizes")
    near = line_of("fine-tune", "glyphs", near_source or "")
    for k, e in found.items():
        e["lines"] = tuple(x.replace("{ft}", ft).replace("{near}", near)
                           for x in METHOD_CLAIMS[k])
    found = {k: e for k, e in found.items() if all(
        line in lines or line == CHOSEN for line in e["lines"])}
    words = method_statements(ft, near_source, first)
    for k, e in found.items():
        e.update(sign=1, published=0.0, statement=words[k])
    glue = dict(small_sizes=", ".join(small), imagenet=IMAGENET, adapted=ft)
    for key, sizes in (("small", small), ("all", ["all"])):
        glue[f"bn_{key}"] = format_mean(_per_seed(t, TARGET_BN, "linear probe", sizes=sizes))
        glue[f"top_bn_{key}"] = format_mean(_per_seed(t, TOP_TARGET_BN, "fine-tune top",
                                                      sizes=sizes))
    return found, glue


def method_statements(ft: str, near_source: str | None, target: str) -> dict[str, str]:
    """Each claim of :data:`METHOD_CLAIMS` in words, with ``ft`` the way ImageNet's network is
    fine-tuned (``"fine-tune"`` or ``"fine-tune top"``), the near glyph source and the first
    target."""
    adapted = "Fine-tuning" if ft == "fine-tune" else "Fine-tuning the top"
    return {
        "imagenet_vs_same_arch": "ImageNet weights beat the same network (EfficientNet-Lite0) "
                                 "trained from scratch on small targets",
        "imagenet_vs_cnn8": "ImageNet weights beat the book's cnn8 trained from scratch on "
                            "small targets",
        "l2sp_vs_ft": "L2-SP beats plain fine-tuning from ImageNet on small targets",
        "ft_vs_probe_all": f"{adapted} of ImageNet's network beats its linear probe with "
                           "the whole split",
        "near_vs_imagenet": f"A small near source ({near_source or 'a glyph source'}) beats "
                            f"ImageNet on {target or 'its target'} at small sizes",
    }


#: Per method claim: the lines it compares (``{near}`` is the near glyph source's line, ``{ft}``
#: fine-tuning, or fine-tuning the top where the profile does not fine-tune every layer).
METHOD_CLAIMS: Mapping[str, tuple[str, str]] = {
    "imagenet_vs_same_arch": (CHOSEN, SCRATCH["efficientnet_lite0"]),
    "imagenet_vs_cnn8": (CHOSEN, SCRATCH["cnn8"]),
    "l2sp_vs_ft": ("L2-SP", "fine-tune"),
    "ft_vs_probe_all": ("{ft}", "linear probe"),
    "near_vs_imagenet": ("{near}", CHOSEN),
}


def not_run(found: Mapping[str, Any]) -> list[str]:
    """The method claims (:data:`METHOD_CLAIMS`) that :func:`effects` left out: the profile
    does not run a line they compare."""
    return [c for c in METHOD_CLAIMS if c not in found]


def unconverged(found: Mapping[str, Any], check: pd.DataFrame) -> dict[str, str]:
    """The claims of ``found`` that compare a method which did not reach its plateau
    (:func:`~.convergence.plateau`), each with the reason; they leave the family before any
    verdict. "ImageNet" (the method chosen on validation) needs every ImageNet method run;
    a glyph source, fine-tuning from it."""
    failed = check[~check["reached"].astype(bool)]
    bad: dict[str, list[str]] = {}
    for m, g, size in zip(failed["method"], failed["gain"], failed["size"], strict=True):
        bad.setdefault(str(m), []).append(f"{m} gained {g:+.3f} from twice the training "
                                          f"({size})")
    out = {}
    for claim, e in found.items():
        needs = []
        for line in e["lines"]:
            if line == CHOSEN:
                needs += [m for m in IMAGENET_METHODS if m in set(check["method"])]
            elif line.startswith("fine-tune from "):
                needs.append(GLYPH_FINE_TUNE)
            else:
                needs.append(line)
        reasons = [why for m in dict.fromkeys(needs) for why in bad.get(m, [])]
        if reasons:
            out[claim] = "not at its plateau: " + "; ".join(reasons)
    return out


def claims(found: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    """The claims of :func:`effects`, as :class:`tlkit.verdicts.Claim` objects."""
    return [mean_claim(name, e["values"], sign=e["sign"], published=e["published"],
                       description=e["description"]) for name, e in found.items()]
