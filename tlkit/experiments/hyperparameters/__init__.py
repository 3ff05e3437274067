r"""Hyperparameters by source–target relation: the survey's non-binary view, cell by cell.

The survey's practical message (Plested et al., 2022) is that transfer fails when settings made
for large, similar targets are reused for small, dissimilar ones, and that the settings that
matter are not binary (Plested, Shen & Gedeon, 2021): how many layers to transfer, the
learning rate of the transferred layers against the new ones, momentum, and the mix of L2-SP
and L2. This experiment tunes them in every cell of the taxonomy, from the book's glyph source
and from the ImageNet source of the pretrained chapter, around that chapter's fine-tuning.

- :mod:`.design`: cells, settings and the specs of every stage (profiles in
  ``profiles/hyperparameters.yaml``);
- :mod:`.claims`: per-hyperparameter curves, the choices on validation, the recommendations
  and the claims;
- :mod:`.relation`: LogME of each source on each target, the check of near and far.
"""

from ..experiment import Experiment, Stage
from .claims import (
    CELL_KEYS,
    SOURCE_KEYS,
    SOURCE_NAMES,
    cell_choices,
    claims,
    combined_settings,
    effects,
    knob_choices,
    knob_curves,
    recommendations,
    seed_choices,
    setting_of,
    transplant_settings,
    transplants,
)
from .design import (
    KNOB_LABELS,
    KNOBS,
    PROFILES,
    REGULARIZATIONS,
    Cell,
    Setting,
    cells,
    check_params,
    default_setting,
    grid_settings,
    knob_values,
    pretrained_params,
    rate_of,
    run_spec,
    sample_specs,
    setting_specs,
    specs,
)
from .preconditions import DEFAULT_KEYS, check_specs, preconditions, untestable
from .relation import relation_table

__all__ = [
    "EXPERIMENT",
    "KNOB_LABELS", "KNOBS", "PROFILES", "REGULARIZATIONS", "Cell", "Setting", "cells",
    "check_params", "default_setting", "grid_settings", "knob_values", "pretrained_params",
    "rate_of", "run_spec", "sample_specs", "setting_specs", "specs", "CELL_KEYS", "SOURCE_KEYS",
    "SOURCE_NAMES",
    "cell_choices", "claims", "combined_settings", "effects", "knob_choices", "knob_curves",
    "recommendations", "setting_of", "seed_choices", "transplant_settings", "transplants",
    "relation_table", "DEFAULT_KEYS", "check_specs", "preconditions", "untestable",
]


def _rates(done) -> dict[str, float]:
    from ..pretrained import rates_of

    return rates_of(done)


def _search(params, done):
    from ..pretrained import search_specs

    return search_specs(pretrained_params(params))


def _combined(params, done):
    from ... import results
    from ..profile import settings

    s = settings(PROFILES, params)
    choices = knob_choices(results.frame(done["first"]), s)
    return setting_specs(params, combined_settings(choices, s, cells(params)), _rates(done),
                         "combined")


def _transplant(params, done):
    from ... import results
    from ..profile import settings

    s = settings(PROFILES, params)
    df = results.frame([*done["first"], *done["combined"]])
    return setting_specs(params, transplant_settings(df, s, cells(params)), _rates(done),
                         "transplant")


#: The hyperparameters experiment: the pretrained chapter's learning-rate search (its runs,
#: shared through the run cache), the plateau check of each source's default recipe, every
#: one-knob setting in every cell at the chosen rates
#: (listed before with stand-ins), the combination of each cell's choices, and the settings
#: transplanted between cells.
EXPERIMENT = Experiment(
    "hyperparameters", "04_hyperparameters", __name__,
    stages=(Stage("search", _search, pinned=False),
            Stage("plateau", lambda params, done: check_specs(params, _rates(done))),
            Stage("first", lambda params, done: specs(params, _rates(done)), specs),
            Stage("combined", _combined), Stage("transplant", _transplant)),
    links={"pretrained": "03_pretrained"})
