"""Whether an exercise asks about an effect or about noise, measured on the grading run.

Each *predict, then run* exercise asks students to read one effect from the run: which of two
conditions is ahead, which split loses most, whether a gain is below zero. That reading teaches
something only where the run resolves the effect: where the 95% interval of the difference the
answer turns on excludes zero. :func:`exercise_effects` computes that interval from the grading
run's records, so that ``tlkit assignments`` can report, for the profile it generates in, which
exercises ask about signal (the quick profile is chosen for that; the smoke profile, which only
checks that the code runs, is mostly noise).

The intervals are Student-t intervals over seeds (:func:`tlkit.stats.mean_ci`): of the paired
differences where both sides share a seed's data, otherwise Welch's interval for two independent
means (Welch 1947, :func:`tlkit.analysis.welch_interval`). Each experiment declares its own
effects (:attr:`tlkit.experiments.experiment.Experiment.effects`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..experiments.experiment import Effect

__all__ = ["Effect", "exercise_effects"]


def exercise_effects(notebook: str, params: Mapping[str, Any]) -> list[Effect]:
    """The effects the notebook's exercises turn on, measured on the runs in the run cache with
    ``params`` (empty for a notebook without such exercises): the experiment's own
    ``effects`` (:class:`tlkit.experiments.experiment.Experiment`), on its tables rebuilt from
    the cache."""
    from ..experiments import experiment
    from .reference import parameters, table

    entry = experiment(notebook)
    if entry.effects is None:
        return []
    return entry.effects(lambda name: table(notebook, name, params), parameters(params))
