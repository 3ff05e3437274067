"""Can this experiment show the effect? The hyperparameter chapter's precondition: its
default recipe has reached its plateau.

Every claim of the page compares a setting with the default recipe of its source (fine-tuning
from the glyph source, or from ImageNet, at the learning rate the pretrained chapter's search
chose under this page's budget). A setting that beats a default still learning when it stops
may only be training faster, so the default of each source must reach its plateau: the
pretrained chapter's check (:mod:`tlkit.experiments.pretrained.convergence`, twice the training
gaining at most :data:`~tlkit.experiments.pretrained.convergence.PLATEAU_GAIN` of validation
accuracy, on selection seeds, at the search size and on the whole split) run at this page's
length. A source whose default has not reached it takes its claims out of the family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..pretrained.convergence import PLATEAU_GAIN, plateau_specs
from ..pretrained.design import GLYPH_FINE_TUNE
from .claims import SOURCE_KEYS, SOURCE_NAMES
from .design import pretrained_params

__all__ = ["DEFAULT_KEYS", "check_specs", "preconditions", "untestable"]

#: The pretrained chapter's search key of each source kind's default recipe.
DEFAULT_KEYS: Mapping[str, str] = {"glyphs": GLYPH_FINE_TUNE, "imagenet": "fine-tune"}


def check_specs(params: Mapping[str, Any], rates: Mapping[str, float]) -> list[Any]:
    """The plateau check of each source's default recipe at this page's length and the rates
    the search chose (``rates``), on selection seeds."""
    keys = set(DEFAULT_KEYS.values())
    return [s for s in plateau_specs(pretrained_params(params), rates)
            if s.tag_dict["lr_choice"] in keys]


def preconditions(check: pd.DataFrame) -> pd.DataFrame:
    """One row per source: whether its default recipe reached its plateau at every size of
    ``check`` (:func:`tlkit.experiments.pretrained.convergence.plateau` of
    :func:`check_specs`' records): ``precondition, claims`` (the pattern of the claims it
    bars otherwise), ``measured, threshold, holds`` and ``key`` (the source's claim key)."""
    rows = []
    for kind, method in DEFAULT_KEYS.items():
        part = check[check["method"] == method]
        if part.empty:
            continue
        key = SOURCE_KEYS[kind]
        rows.append(dict(
            precondition=f"{SOURCE_NAMES[kind]} default converges",
            claims=f"gain_{key}_*, transplant_{key}_*",
            measured="; ".join(f"twice the epochs at {r.size}: {r.gain:+.3f}"
                               for r in part.itertuples(index=False)),
            threshold=f"gain at most {PLATEAU_GAIN} at every size",
            holds=bool(part["reached"].all()), key=key))
    return pd.DataFrame(rows, columns=["precondition", "claims", "measured", "threshold",
                                       "holds", "key"])


def untestable(table: pd.DataFrame, claims: Sequence[str]) -> dict[str, str]:
    """The ``claims`` (names) whose source's precondition failed in ``table``
    (:func:`preconditions`), each with the reason."""
    failed = {r.key: r.precondition for r in table.itertuples(index=False) if not r.holds}
    return {c: f"precondition failed: {failed[c.split('_')[1]]}" for c in claims
            if c.split("_")[1] in failed}
