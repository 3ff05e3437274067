"""Figures of the book: every point a mean over seeds with its confidence interval.

- :mod:`.base`: error bars, labels and the note that says what points and bars are;
- :mod:`.layers`: the layer-transfer figures; :mod:`.sizes`: the small-target curves;
- :mod:`.taxonomy`: the taxonomy map; :mod:`.recipes`: the validation curves of recipes;
- :mod:`.samples`: grids of sample images; :mod:`.style`: the one style of every figure.
"""

from . import style
from .base import ci_note, errorbars, label_axes, legend_below, mean_ci_plot, seeds_text
from .layers import (
    CONDITION_STYLES,
    best_depth_plot,
    depth_curves_plot,
    gain_heatmap,
    relative_depth_plot,
)
from .recipes import recipe_curves_plot
from .samples import sample_grid
from .sizes import METHOD_STYLES, gain_curves_plot, learning_curves_plot
from .taxonomy import taxonomy_map, taxonomy_panels

__all__ = ["mean_ci_plot", "depth_curves_plot", "relative_depth_plot", "gain_heatmap",
           "best_depth_plot", "CONDITION_STYLES", "METHOD_STYLES", "learning_curves_plot",
           "gain_curves_plot", "taxonomy_map", "taxonomy_panels", "ci_note", "errorbars",
           "label_axes", "seeds_text", "recipe_curves_plot", "sample_grid", "style",
           "legend_below"]
