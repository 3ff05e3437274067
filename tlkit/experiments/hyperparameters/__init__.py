r"""Hyperparameters by source–target relation: the survey's non-binary view, cell by cell.

The survey's practical message (Plested et al., 2022) is that transfer fails when settings made
for large, similar targets are reused for small, dissimilar ones, and that the settings that
matter are not binary (Plested, Shen & Gedeon, 2021): how many layers to transfer, the
learning rate of the transferred layers against the new ones, momentum, and the mix of L2-SP
and L2. This experiment tunes them in every cell of the taxonomy, from the book's glyph source
and from the ImageNet source of the pretrained chapter, around that chapter's fine-tuning.

- :mod:`.design`: cells, settings and the specs of every stage (profiles in
  ``profiles/hyperparameters.yaml``);
- :mod:`.patterns`: per-hyperparameter curves, the choices on validation, the recommendations
  and the claims;
- :mod:`.relation`: LogME of each source on each target, the check of near and far.
"""

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
    setting_specs,
    specs,
)
from .patterns import (
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
    setting_of,
    tested,
    transplant_settings,
    transplants,
)
from .relation import relation_table

__all__ = [
    "KNOB_LABELS", "KNOBS", "PROFILES", "REGULARIZATIONS", "Cell", "Setting", "cells",
    "check_params", "default_setting", "grid_settings", "knob_values", "pretrained_params",
    "rate_of", "run_spec", "setting_specs", "specs", "CELL_KEYS", "SOURCE_KEYS", "SOURCE_NAMES",
    "cell_choices", "claims", "combined_settings", "effects", "knob_choices", "knob_curves",
    "recommendations", "setting_of", "tested", "transplant_settings", "transplants",
    "relation_table",
]
