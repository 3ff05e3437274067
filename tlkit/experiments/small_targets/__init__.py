r"""Small targets: learning curves, negative transfer, and the taxonomy map.

The survey's second key experiment (Plested, Phiri & Gedeon, 2022): transfer matters most when
the target is small, and it can hurt when the target is small *and* far from the source. One
target task is trained at a range of sizes (examples per class, "all" being the whole training
split) with six methods of :mod:`tlkit.methods`:

================  ==========================================================================
method            meaning
================  ==========================================================================
``scratch``       the same network, randomly initialised, every layer trained
``linear probe``  layers 0-6 (conv1-fc7) copied from the source and frozen; only fc8 trains
``fine-tune``     layers 0-6 copied and every layer fine-tuned, plain weight decay (L2)
``L2-SP``         the same, with L2-SP instead of weight decay (Li, Grandvalet & Davoine, 2018):
                  :math:`\frac{\alpha}{2}\lVert w_S - w^0_S\rVert^2 +
                  \frac{\beta}{2}\lVert w_{\text{fc8}}\rVert^2`
``DELTA``         the same, pulling the copied layers' feature maps towards the source's,
                  weighted by channel attention (Li et al., 2019), instead of weight decay
``BSS``           fine-tuning with batch spectral shrinkage of the features before fc8
                  (Chen et al., 2019), besides weight decay
================  ==========================================================================

from a *near* source and several *far* ones, whose distances to the target are measured (pixel
OTDD, as in the layer-transfer experiment). The sources are base networks of the layer-transfer
experiment or cnn8 networks trained the same way on other data (:mod:`.sources`), so their
checkpoints are shared through the run cache; a far source runs by recipes chosen on it. Beside
them run the linear probe with the target's batch-norm statistics and, from the far sources on
small targets, the
arm the survey blames for negative transfer: fine-tuning with the recipe chosen for large
targets, unchanged (:data:`~.design.LARGE_RECIPE`).

- :mod:`.design`: studies, sizes, seeds and specs (profiles in ``profiles/small_targets.yaml``);
- :mod:`.sources`: what each source is, the run that trains it, its recipes and sizes;
- :mod:`.curves`: learning curves, gains over scratch, paired tests and crossovers;
- :mod:`.taxonomy`: distances, the map's cells and its four regions;
- :mod:`.claims`: the chapter's claims as numbers and verdict labels.
"""

from ..experiment import Experiment, Stage, listed
from .claims import (
    FAR_METHODS,
    REGULARISERS,
    claims,
    effects,
    far_pairs,
    probe_and_bn,
    regularisers,
    small_mean,
)
from .curves import (
    add_sizes,
    crossover_size,
    crossovers,
    curves,
    gain_tests,
    gains,
    method_differences,
    size_label,
    with_diverged,
)
from .design import (
    ARMS,
    LARGE_RECIPE,
    METHODS,
    PROFILES,
    TARGET_BN,
    TRANSFER_METHODS,
    TUNED_STRENGTH,
    Source,
    Study,
    bucket,
    check_params,
    large_recipe_specs,
    layer_params,
    layer_transfer_specs,
    lr_of,
    methods_for,
    own_recipe,
    pool_per_class,
    recipe_of,
    recipe_tasks,
    runs_from,
    sample_specs,
    seeds_at,
    sizes_of,
    source_run,
    specs,
    studies,
    train_config,
)
from .preconditions import (
    FAR_CLAIMS,
    HEADROOM_ERROR,
    LARGE_CLAIMS,
    NEEDS,
    PLATEAU_GAIN,
    check_specs,
    needs,
    preconditions,
    source_draws,
)
from .recipe import length_of, length_text, min_epochs_text
from .taxonomy import (
    LAYER_CONDITIONS,
    REGIONS,
    distance_boundary,
    distance_table,
    layer_transfer_cells,
    map_cells,
    method_region_summary,
    region_of,
    region_summary,
)

__all__ = [
    "EXPERIMENT",
    "PROFILES", "METHODS", "TRANSFER_METHODS", "TARGET_BN", "LARGE_RECIPE", "ARMS",
    "recipe_tasks", "bucket", "lr_of", "large_recipe_specs", "with_diverged",
    "length_of", "length_text", "min_epochs_text", "FAR_CLAIMS", "LARGE_CLAIMS",
    "HEADROOM_ERROR", "NEEDS", "PLATEAU_GAIN",
    "check_specs", "preconditions",
    "REGIONS", "LAYER_CONDITIONS", "Source", "Study",
    "check_params", "studies", "specs", "sizes_of", "seeds_at", "pool_per_class",
    "train_config", "methods_for", "layer_transfer_specs", "size_label", "add_sizes", "curves",
    "gains", "gain_tests", "crossover_size", "crossovers", "method_differences",
    "distance_table", "distance_boundary", "layer_transfer_cells", "map_cells", "region_of",
    "region_summary", "method_region_summary", "effects", "claims", "probe_and_bn", "small_mean",
    "sample_specs", "layer_params", "regularisers", "REGULARISERS", "TUNED_STRENGTH", "recipe_of",
    "far_pairs", "FAR_METHODS", "needs", "source_draws", "own_recipe", "runs_from", "source_run",
]


def _gain_table(params, done):
    from ... import results

    return gains(add_sizes(results.frame(done["runs"])))


def _effects(table, params):
    from ...stats import mean_ci
    from ..experiment import Effect

    gains = table("gain_table")
    first = studies(params)[0]
    rows = gains[(gains["study"] == first.name) & (gains["role"] == "far")
                 & (gains["method"] == "fine-tune")]
    rows = rows[rows["per_class"] == rows["per_class"].min()].groupby("seed")["gain"].mean()
    mean, low, high = mean_ci(rows)
    return [Effect("q1_predict", "gain of fine-tuning from the far sources over scratch at the "
                   "smallest size (paired by seed, the mean over the far sources)", mean, low,
                   high, len(rows))]


#: The small-targets experiment: the runs its preconditions read (on selection seeds), its
#: runs, the large-target recipe's arm (whose diverged runs are results), then the
#: layer-transfer runs its map reads (that
#: chapter's, shared through the run cache); its exercises grade the ``gain_table``, and its
#: first asks whether fine-tuning from the far source beats scratch at the smallest size.
EXPERIMENT = Experiment(
    "small_targets", "02_small_targets", __name__,
    stages=(Stage("checks", lambda params, done: check_specs(params), check_specs,
                  pinned=False),
            listed(specs),
            Stage("large recipe", lambda params, done: large_recipe_specs(params),
                  large_recipe_specs, failures=True),
            Stage("layer transfer", lambda params, done: layer_transfer_specs(
                params), layer_transfer_specs)),
    links={"layer_transfer": "01_layer_transfer"}, tables={"gain_table": _gain_table},
    effects=_effects)
