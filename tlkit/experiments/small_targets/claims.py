"""The claims the small-targets chapter tests, and the numbers its page glues.

:func:`effects` reads, for the first study, the per-seed values behind each claim: the gain of
fine-tuning over scratch on the smallest target, its shrinking with the target's size, negative
transfer from the far sources on small targets (fine-tuning and L2-SP, each with its recipe
chosen on validation from that source), near against far, and L2-SP against plain fine-tuning.
Where a study has several far sources, a claim about "the far source" reads, seed by seed, the
mean over them (each far pair is then described on its own by :func:`far_pairs`). :func:`claims`
turns them into a family for :func:`tlkit.verdicts.judge`. The linear probe and the
batch-norm choice are measured and described (:func:`probe_and_bn`), not claimed. The sentences
are the notebook's.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...analysis import format_interval, format_mean, mean_claim, t_interval, welch_claim
from ...verdicts import Claim
from .design import LARGE_RECIPE, TARGET_BN

__all__ = ["effects", "claims", "probe_and_bn", "small_mean", "regularisers", "REGULARISERS",
           "far_pairs", "FAR_METHODS"]

#: The fine-tuning methods with a regulariser of their own, described against fine-tuning.
REGULARISERS = ("L2-SP", "DELTA", "BSS")


def _gains(gain_table: pd.DataFrame, study: str, role: str, method: str) -> pd.DataFrame:
    return gain_table[(gain_table["study"] == study) & (gain_table["role"] == role)
                      & (gain_table["method"] == method)]


def small_mean(gain_table: pd.DataFrame, study: str, role: str, method: str,
               size_boundary: float, value: str = "gain") -> pd.Series:
    """Per seed: the mean of ``value`` over the sizes below ``size_boundary`` and over the
    sources of ``role`` (every small size has the same seeds, so each seed averages the same
    sizes)."""
    part = _gains(gain_table, study, role, method)
    part = part[part["per_class"] < size_boundary]
    counts = part.groupby("seed")["size"].nunique()
    keep = counts[counts == counts.max()].index  # seeds present at every small size
    return part[part["seed"].isin(keep)].groupby("seed")[value].mean()


def effects(gain_table: pd.DataFrame, size_boundary: float) -> tuple[dict[str, dict[str, Any]],
                                                                     dict[str, Any]]:
    """The per-seed values behind each claim of the first study, and values to glue.

    Effects (each a dict with ``values`` per seed, or ``groups`` for two independent samples;
    ``sign``, ``published`` (0: the sources give no size), ``description`` and ``statement``,
    the claim in words):

    * ``small_gain``: fine-tune minus scratch at the smallest size, near source (positive);
    * ``shrinks``: that gain at the smallest size minus at the largest (Welch; positive);
    * ``far_ft_hurts`` and ``far_l2sp_hurts``: fine-tuning and L2-SP from the far sources minus
      scratch, averaged over the small sizes and the far sources (claimed negative: negative
      transfer);
    * ``near_beats_far``: the fine-tune gain from the near source minus that from the far ones
      (their mean), at the smallest size (positive);
    * ``l2sp_beats_ft``: L2-SP minus fine-tuning from the near source, averaged over the small
      sizes (positive; Li et al., 2018);
    * where :data:`~.design.LARGE_RECIPE` ran, the arm the survey blames: ``large_recipe_hurts``,
      fine-tuning from the far source with the large-target recipe minus scratch, and
      ``large_recipe_costs``, minus fine-tuning with the small-target recipe, averaged over the
      small sizes (both claimed negative).
    """
    study = gain_table["study"].iloc[0]
    t = gain_table[gain_table["study"] == study]
    sizes = t.sort_values("per_class")["size"].unique()
    smallest, largest = str(sizes[0]), str(sizes[-1])
    glue: dict[str, Any] = dict(study=study, smallest=smallest, largest=largest,
                                largest_per_class=float(t["per_class"].max()),
                                small_sizes=", ".join(s for s in sizes
                                                      if t.loc[t["size"] == s, "per_class"]
                                                      .iloc[0] < size_boundary))

    def at(role: str, method: str, size: str) -> pd.Series:
        part = _gains(t, study, role, method)
        return part[part["size"] == size].groupby("seed")["gain"].mean().sort_index()

    n_far = t.loc[t["role"] == "far", "source"].nunique()
    far = "far source" if n_far == 1 else f"far sources (mean of {n_far})"
    glue["far_sources"] = n_far
    near_small, far_small = at("near", "fine-tune", smallest), at("far", "fine-tune", smallest)
    both = near_small.index.intersection(far_small.index)
    ft = small_mean(t, study, "near", "fine-tune", size_boundary, "test_acc")
    l2sp = small_mean(t, study, "near", "L2-SP", size_boundary, "test_acc")
    common = ft.index.intersection(l2sp.index)
    one, many = _per_class(smallest), _per_class(largest)
    glue["smallest_text"] = one
    found = {
        "small_gain": dict(values=near_small, sign=1, published=0.0,
                           description=f"fine-tune - scratch, near source, {smallest} per class"),
        "shrinks": dict(groups=(near_small, at("near", "fine-tune", largest)), sign=1,
                        published=0.0,
                        description=f"fine-tune gain at {smallest} minus at {largest} per "
                                    "class, near source (Welch)"),
        "far_ft_hurts": dict(values=small_mean(t, study, "far", "fine-tune", size_boundary),
                             sign=-1, published=0.0,
                             description=f"fine-tune - scratch, {far}, mean over small "
                                         "sizes"),
        "far_l2sp_hurts": dict(values=small_mean(t, study, "far", "L2-SP", size_boundary),
                               sign=-1, published=0.0,
                               description=f"L2-SP - scratch, {far}, mean over small "
                                           "sizes"),
        "near_beats_far": dict(values=near_small.loc[both] - far_small.loc[both], sign=1,
                               published=0.0,
                               description=f"fine-tune gain, near source - {far}, "
                                           f"{smallest} per class"),
        "l2sp_beats_ft": dict(values=l2sp.loc[common] - ft.loc[common], sign=1, published=0.0,
                              description="L2-SP - fine-tune, near source, mean over small "
                                          "sizes"),
    }
    if (t["method"] == LARGE_RECIPE).any():
        big = small_mean(t, study, "far", LARGE_RECIPE, size_boundary, "test_acc")
        own = small_mean(t, study, "far", "fine-tune", size_boundary, "test_acc")
        both = big.index.intersection(own.index)
        found["large_recipe_hurts"] = dict(
            values=small_mean(t, study, "far", LARGE_RECIPE, size_boundary), sign=-1,
            published=0.0, description=f"fine-tune by the large-target recipe - scratch, {far}, "
                                       "mean over small sizes")
        found["large_recipe_costs"] = dict(
            values=big.loc[both] - own.loc[both], sign=-1, published=0.0,
            description=f"fine-tune by the large-target recipe - by the far source's own, {far}, "
                        "mean over small sizes")
        glue["large_recipe_costs_finished"] = _finished_cost(t, study, size_boundary)
    words = {
        "small_gain": f"Fine-tuning from the near source beats scratch at {one}",
        "shrinks": f"The near source's gain shrinks from {one} to {many}",
        "far_ft_hurts": "Fine-tuning from a far source falls below scratch on small targets "
                        "(negative transfer)",
        "far_l2sp_hurts": "L2-SP from a far source falls below scratch on small targets",
        "near_beats_far": f"The near source gains more than the far ones at {one}",
        "l2sp_beats_ft": "L2-SP beats plain fine-tuning from the near source on small targets",
        "large_recipe_hurts": "A large, near target's recipe, applied unchanged from a far "
                              "source, falls below scratch on small targets",
        "large_recipe_costs": "A large, near target's recipe, applied unchanged, does worse "
                              "than the far source's own recipe on small targets",
    }
    for name, e in found.items():
        e["statement"] = words[name]
    return found, glue


def _per_class(size: str) -> str:
    """``"1 example per class"``, ``"20 examples per class"``, ``"the whole split"``."""
    if size == "all":
        return "the whole split"
    return f"{size} example{'' if size == '1' else 's'} per class"


def _finished_cost(t: pd.DataFrame, study: str, size_boundary: float) -> str:
    """The large-target recipe's cost on the runs that finished: per seed, the mean over the
    small sizes where its run did not diverge of (its accuracy - fine-tuning's by the
    small-target recipe), with a 95% interval (a description of what the divergences leave)."""
    arm = _gains(t, study, "far", LARGE_RECIPE)
    arm = arm[arm["per_class"] < size_boundary]
    if "diverged" in arm:
        arm = arm[~arm["diverged"].astype(bool)]
    keys = ["seed", "source", "size"]
    own = _gains(t, study, "far", "fine-tune").set_index(keys)["test_acc"]
    d = (arm.set_index(keys)["test_acc"] - own).dropna()
    return format_mean(d.groupby(level="seed").mean())


def claims(found: dict[str, dict[str, Any]]) -> list[Claim]:
    """The family of claims on :func:`effects` (paired t, or Welch for ``groups``)."""
    out = []
    for name, e in found.items():
        if "groups" in e:
            out.append(welch_claim(name, *e["groups"], sign=e["sign"], published=e["published"],
                                   description=e["description"]))
        else:
            out.append(mean_claim(name, e["values"], sign=e["sign"], published=e["published"],
                                  description=e["description"]))
    return out


def probe_and_bn(gain_table: pd.DataFrame) -> pd.DataFrame:
    """What the frozen linear probe costs against fine-tuning, and what recomputing its
    batch-norm statistics on the target changes, per study, source and size: paired (by seed)
    differences of test accuracy with their 95% intervals (descriptive, no verdict)."""
    rows = []
    wide = gain_table.pivot_table(index=["study", "role", "source", "per_class", "size", "seed"],
                                  columns="method", values="test_acc",
                                  aggfunc="first").reset_index()
    for (study, role, source, per_class, size), part in wide.groupby(
            ["study", "role", "source", "per_class", "size"], sort=True):
        for name, a, b in (("probe - fine-tune", "linear probe", "fine-tune"),
                           ("target BN - source BN (probe)", TARGET_BN, "linear probe")):
            if a not in part or b not in part:
                continue
            d = (part[a] - part[b]).dropna()
            if len(d) < 2:
                continue
            low, high = t_interval(d, 0.95)
            rows.append(dict(study=study, role=role, source=source, per_class=per_class,
                             size=size, comparison=name, diff=float(d.mean()), ci_low=low,
                             ci_high=high, seeds=len(d),
                             shown=format_interval(float(d.mean()), low, high)))
    return pd.DataFrame(rows)


def regularisers(gain_table: pd.DataFrame, size_boundary: float) -> pd.DataFrame:
    """For the first study, per source and regularised method (:data:`REGULARISERS`): the
    method's accuracy minus scratch's and minus plain fine-tuning's, per seed averaged over
    the small sizes, with paired 95% intervals (descriptive: no verdict). Negative transfer
    is a gain over scratch below zero; a regulariser that prevents it raises the far source's
    gain above fine-tuning's."""
    study = gain_table["study"].iloc[0]
    t = gain_table[gain_table["study"] == study]
    rows = []
    for role, source in _sources(t):
        one = t[t["source"] == source]
        ft = small_mean(one, study, role, "fine-tune", size_boundary, "test_acc")
        for method in REGULARISERS:
            if not (one["method"] == method).any():
                continue
            gain = small_mean(one, study, role, method, size_boundary)
            acc = small_mean(one, study, role, method, size_boundary, "test_acc")
            common = acc.index.intersection(ft.index)
            row: dict[str, Any] = dict(study=study, role=role, source=source, method=method,
                                       seeds=len(common))
            for name, d in (("gain", gain), ("vs_ft", acc.loc[common] - ft.loc[common])):
                low, high = t_interval(d, 0.95) if len(d) > 1 else (float("nan"),) * 2
                row.update({name: float(d.mean()), f"{name}_low": low, f"{name}_high": high,
                            f"{name}_shown": format_interval(float(d.mean()), low, high)})
            rows.append(row)
    return pd.DataFrame(rows)


def _sources(t: pd.DataFrame) -> list[tuple[str, str]]:
    """The (role, source) pairs of a study's gain table: near, far, then large, each in the
    order of the profile."""
    pairs = t.loc[t["role"] != "none", ["role", "source"]].drop_duplicates()
    order = ["near", "far", "large"]
    return sorted(map(tuple, pairs.to_numpy()), key=lambda p: order.index(p[0]))


#: The methods each far pair is described by, with the large-target recipe's arm.
FAR_METHODS = ("linear probe", "fine-tune", "L2-SP", "DELTA", "BSS", LARGE_RECIPE)


def far_pairs(gain_table: pd.DataFrame, size_boundary: float,
              distances: pd.Series | None = None) -> pd.DataFrame:
    """Negative transfer pair by pair, for the first study: per far source and method
    (:data:`FAR_METHODS`), its accuracy minus scratch's, per seed averaged over the small
    sizes, with a 95% paired interval (descriptive: the claims read the mean over the far
    sources). ``distances``: the measured distance of each source (by name), as a column."""
    study = gain_table["study"].iloc[0]
    t = gain_table[gain_table["study"] == study]
    rows = []
    for role, source in _sources(t):
        if role != "far":
            continue
        one = t[t["source"] == source]
        for method in FAR_METHODS:
            if not (one["method"] == method).any():
                continue
            d = small_mean(one, study, role, method, size_boundary)
            low, high = t_interval(d, 0.95) if len(d) > 1 else (float("nan"),) * 2
            rows.append(dict(study=study, source=source, method=method, seeds=len(d),
                             distance=float("nan") if distances is None
                             else float(distances.get(source, float("nan"))),
                             gain=float(d.mean()), ci_low=low, ci_high=high,
                             shown=format_interval(float(d.mean()), low, high)))
    return pd.DataFrame(rows)
