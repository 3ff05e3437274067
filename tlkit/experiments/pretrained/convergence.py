r"""Did each method reach its plateau? Every method run once more, twice as long.

A baseline that stops while it is still learning makes every transfer method look better than
it is. So, after the learning rates are chosen, each method the profile runs
(:func:`~.design.keys_run`) trains again at its chosen rate for its recipe's length and for
twice that length (twice the epochs, the cosine schedule stretched over them), on the first
target at the search size and on the whole split, for the profile's ``plateau.seeds``
selection seeds (from :data:`~tlkit.experiments.profile.SEARCH_SEEDS_FROM`, never reported)
with ``plateau.validation`` images per class held out, more than the search's, so that the
comparison is not lost in the noise of a few validation images.

The check, fixed before any run: a method has **reached its plateau** at a size when doubling
its training gains at most :data:`PLATEAU_GAIN` of validation accuracy, on the mean over seeds
of the paired difference

.. math:: g = \overline{\mathrm{acc}_{val}(2T) - \mathrm{acc}_{val}(T)} \le 0.02.

Two points is about the smallest published effect the book tests (the layer-transfer boost,
0.017) and below the differences between methods this chapter is about; a baseline that still
gains that much from twice the training is not at its plateau. Test accuracy is not read.

The page's own ``trained`` sources (:mod:`.sources`) are checked the same way: each source
network trains again from the selection seeds at its recipe's length and twice it, judged on its
own held-out images. A source that has not reached its plateau is a half-trained candidate, so
the claims about ranking the sources leave the family (:func:`unconverged_sources`). The
glyph sources are base networks of the layer-transfer chapter, whose recipe appendix checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from ...analysis import format_intervals
from ..profile import search_seeds, settings
from ..recipe_plateau import PLATEAU_GAIN, gains
from .design import PROFILES, keys_run, rate_key, run_specs, source_run, sources, targets

__all__ = ["PLATEAU_GAIN", "plateau_specs", "plateau", "plateau_shown", "unconverged_sources",
           "SOURCE_CHECK"]

#: The ``check_size`` of a source network's rows in the plateau check (its ``method`` is
#: ``source: <name>``).
SOURCE_CHECK = "source"



def plateau_specs(params: Mapping[str, Any], rates: Mapping[str, float]) -> list[Any]:
    """The runs of the check: every method run at its chosen rate in ``rates``, at its
    recipe's length and twice it, at the search size and the whole split of the first target,
    for the profile's ``plateau.seeds`` selection seeds; and each ``trained`` source network
    at its recipe's length and twice it, for the same seeds. Tags ``lr_choice`` (the grid key,
    or ``source: <name>``), ``length`` (1 or 2) and ``check_size`` (``"search"``, ``"all"`` or
    :data:`SOURCE_CHECK`)."""
    s = settings(PROFILES, params)
    check = s["plateau"]
    s = {**s, "validation": check["validation"]}
    target = targets(params)[0]
    glyph = [src for src in sources(params) if src.kind == "glyphs"][:1]
    keys = keys_run(s)
    out = []
    for seed in search_seeds(check["seeds"]):
        for label, n in (("search", s["search"]["size"]), ("all", None)):
            for run in run_specs(s, target, n, seed, rates, glyph):
                key = rate_key(run.tag_dict)
                if key not in keys:
                    continue
                out += _both_lengths(run, lr_choice=key, check_size=label)
    for src in sources(params):
        if src.kind != "trained":
            continue
        for seed in search_seeds(check["seeds"]):
            out += _both_lengths(source_run(s, src, seed), lr_choice=f"source: {src.name}",
                                 check_size=SOURCE_CHECK)
    return out


def _both_lengths(run: Any, **tags: Any) -> list[Any]:
    """``run`` at its recipe's length and at twice its epochs, tagged ``length`` 1 and 2."""
    longer = replace(run, train=replace(run.train, epochs=2 * run.train.epochs))
    return [spec.with_tags(length=length, **tags) for length, spec in ((1, run), (2, longer))]


def unconverged_sources(check: pd.DataFrame) -> dict[str, str]:
    """Per ``trained`` source that did not reach its plateau in ``check`` (:func:`plateau`):
    why, in words."""
    rows = check[(check["size"] == SOURCE_CHECK) & ~check["reached"].astype(bool)]
    return {str(m).removeprefix("source: "): f"{m} gained {g:+.3f} from twice the training"
            for m, g in zip(rows["method"], rows["gain"], strict=True)}


def plateau(df: pd.DataFrame) -> pd.DataFrame:
    """Per method and size of the check: the mean validation accuracy at the recipe's length
    (``val_1``) and at twice it (``val_2``), the mean paired gain ``gain`` with its range over
    seeds (``gain_min``, ``gain_max``), ``seeds`` and ``reached`` (``gain`` at most
    :data:`PLATEAU_GAIN`). ``df`` is the results table of :func:`plateau_specs`' records; only
    ``val_acc`` is read."""
    return gains(df, {"lr_choice": "method", "check_size": "size"})


def plateau_shown(check: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """A plateau check (:func:`plateau`, or :func:`tlkit.experiments.recipe_plateau.plateau`)
    as a page shows it: the ``keys`` columns, the validation accuracy at the recipe's length
    and at twice it, the gain with its range over seeds, and whether the plateau was reached."""
    return check.assign(
        validation=[f"{a:.3f} → {b:.3f}" for a, b in zip(check["val_1"], check["val_2"],
                                                        strict=True)],
        gain=format_intervals(check, "gain", "gain_min", "gain_max"),
    )[[*keys, "validation", "gain", "reached"]].rename(columns={
        "validation": "validation: recipe → twice", "gain": "gain [range]"})
