r"""How many layers to transfer, against a measured source-target distance.

After Yosinski et al. (2014), *How transferable are features in deep neural networks?*,
NeurIPS. A class pool is split into halves A and B; the eight-layer CNN is trained on each
(``baseA``, ``baseB``). For every depth n, the first n layers of a base network are copied into a
fresh network for task B and the rest re-initialised; the copied layers are either frozen or
fine-tuned:

=========  ====================================================================
condition  meaning
=========  ====================================================================
``BnB``    first n layers of baseB, frozen (the co-adaptation control)
``BnB+``   the same, fine-tuned
``AnB``    first n layers of baseA, frozen (transfer across tasks)
``AnB+``   the same, fine-tuned
``random`` first n layers left at their random initialisation, frozen
=========  ====================================================================

Depth 0 of every condition is ``baseB``. The protocol runs on a *near* split (two random halves
of one pool) and a *far* split (semantically different halves). The second part extends it to a
continuous axis: one source (baseA of the near split) and a family of targets at increasing,
*measured* distance from it.

- :mod:`.design`: the splits, axes and specs (profiles in ``profiles/layer_transfer.yaml``);
- :mod:`.protocol`: curves, ratios to baseB and the protocol's patterns;
- :mod:`.axis`: gains along the distance axis, best depths and the distance tables;
- :mod:`.preconditions`: whether the experiment can show each claim's effect, before any result;
- :mod:`.claims`: every pattern as numbers and verdict labels for the page.
"""

from ..experiment import Experiment, listed
from .axis import (
    SIMILARITY_GAMMA,
    axis_gains,
    best_depths,
    distance_table,
    network_features,
    pixel_space,
    split_distances,
    target_best_depths,
)
from .claims import (
    CLAIM_CONDITIONS,
    PUBLISHED,
    claims,
    effects,
    pilot,
    power_plan,
    sanity_check,
    trend_text,
)
from .design import (
    CONDITION_METHODS,
    CONDITIONS,
    FROZEN_CONDITIONS,
    PROFILES,
    TARGET_BN,
    Axis,
    Split,
    Target,
    axes,
    check_params,
    design_settings,
    model_spec,
    recipe,
    recipe_tasks,
    sample_specs,
    seeds_of,
    source_spec,
    specs,
    splits,
    target_spec,
)
from .preconditions import (
    DISTANCE_DRAWS,
    HEADROOM_ERROR,
    distance_draws,
    far_is_far,
    preconditions,
    unpaired_text,
    untestable,
)
from .protocol import (
    YOSINSKI_ACCURACY,
    YOSINSKI_BASE_B,
    YOSINSKI_FAR_RELATIVE_TOP,
    batchnorm_both_ways,
    boost,
    differences,
    dip,
    dip_depth,
    dip_depths,
    protocol_curves,
    relative_to_base,
    repair,
    sanity,
    top_layer_drop,
    yosinski_relative,
)

__all__ = [
    "EXPERIMENT",
    "PROFILES", "CONDITIONS", "CONDITION_METHODS", "FROZEN_CONDITIONS", "PUBLISHED",
    "YOSINSKI_BASE_B", "YOSINSKI_ACCURACY", "YOSINSKI_FAR_RELATIVE_TOP", "SIMILARITY_GAMMA",
    "Split", "Target", "Axis", "check_params", "design_settings", "specs", "splits", "axes",
    "model_spec",
    "source_spec", "target_spec", "recipe", "recipe_tasks", "seeds_of", "yosinski_relative",
    "protocol_curves", "relative_to_base", "differences", "sanity", "dip_depth", "dip_depths",
    "dip",
    "repair", "top_layer_drop", "boost", "axis_gains", "best_depths", "target_best_depths",
    "network_features", "pixel_space", "distance_table", "split_distances", "effects",
    "claims", "CLAIM_CONDITIONS", "pilot", "power_plan", "sanity_check", "sample_specs",
    "trend_text", "HEADROOM_ERROR", "DISTANCE_DRAWS", "distance_draws", "far_is_far",
    "preconditions",
    "untestable", "unpaired_text", "TARGET_BN", "batchnorm_both_ways",
]


def _curves(params, done):
    from ... import results

    return protocol_curves(results.frame(done["runs"]))


def _effects(table, params):
    from ...analysis import welch_interval
    from ..experiment import Effect

    curves = table("curves")
    top = curves.loc[curves["condition"] == "AnB", "layers"].max()
    ratios = {}
    for split, part in curves.groupby("split"):
        base = part[(part["layers"] == 0)].groupby("seed")["test_acc"].mean()
        anb = part[(part["condition"] == "AnB") & (part["layers"] == top)].set_index("seed")
        ratios[split] = (anb["test_acc"] / base.reindex(anb.index)).dropna().to_numpy()
    order = sorted(ratios, key=lambda s: ratios[s].mean())
    lowest, next_lowest = order[0], order[1]
    a, b = ratios[next_lowest], ratios[lowest]
    diff, (low, high) = float(a.mean() - b.mean()), welch_interval(a, b, 0.95)
    return [Effect("q1_predict", f"AnB/baseB at n = {top}: {next_lowest} minus {lowest}, the "
                   "split that keeps least (Welch)", diff, low, high,
                   min(len(ratios[lowest]), len(ratios[next_lowest])))]


#: The layer-transfer experiment: one stage; its exercises grade the protocol ``curves``, and
#: its first asks which split keeps least of its baseline with every layer copied and frozen.
EXPERIMENT = Experiment("layer_transfer", "01_layer_transfer", __name__, stages=(listed(specs),),
                        tables={"curves": _curves}, effects=_effects)
