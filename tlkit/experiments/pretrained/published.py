"""The sizes published for the scores' claims, and the check of a profile's pilot of them.

TLlib's model-selection benchmark (10 ImageNet models scored against their fine-tuned accuracy
on 8 datasets; ``examples/model_selection`` of the Transfer-Learning-Library) reports each
score's mean weighted Kendall tau: the published size of the page's claim that the score ranks
the sources (:func:`~.selection.agreement_claims`), whose plan is :mod:`.plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TLLIB_WEIGHTED_TAU", "check_power"]

#: Mean weighted tau between score and fine-tuned accuracy over TLlib's benchmark: the
#: reference the page quotes.
TLLIB_WEIGHTED_TAU: Mapping[str, float] = {"LogME": 0.67, "H-score": 0.67, "NCE": 0.50,
                                           "LEEP": 0.29}


def check_power(block: Any) -> None:
    """Raise ``ValueError`` unless ``block`` (a profile's ``power``) is empty or gives
    ``pilot`` (with ``tasks``, at least 2) and ``sd``, a spread >= 0 for each score with a
    published size."""
    if block in (None, {}):
        return
    if not isinstance(block, Mapping) or sorted(block) != ["pilot", "sd"]:
        raise ValueError(f"power must be empty or give pilot and sd, got {block!r}")
    tasks = block["pilot"].get("tasks") if isinstance(block["pilot"], Mapping) else None
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 2:
        raise ValueError(f"power.pilot must give the pilot's tasks (at least 2), got "
                         f"{block['pilot']!r}")
    sd = block["sd"]
    missing = [s for s in TLLIB_WEIGHTED_TAU if not isinstance(sd, Mapping) or s not in sd]
    if missing:
        raise ValueError(f"power.sd needs a spread for {', '.join(missing)}")
    for name, value in sd.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ValueError(f"power.sd of {name} must be a number >= 0, got {value!r}")
