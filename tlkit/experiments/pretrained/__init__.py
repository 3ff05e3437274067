r"""A large pretrained source on small targets, and which source to pick.

The survey's subject is a network pretrained on ImageNet and reused for other image tasks. This
experiment brings one into the offline book, EfficientNet-Lite0 with its ImageNet weights
(Tan & Le, 2019), and sets it beside the book's own small cnn8 sources (glyph-trained, trained on
other data, and a random network) on the same small targets, at sizes from one example per
class to the whole split.

- :mod:`.design`: targets, sources, methods, the learning-rate search and the specs (profiles in
  ``profiles/pretrained.yaml``);
- :mod:`.convergence`: whether each method reached its plateau (twice the training, on
  selection seeds);
- :mod:`.selection`: transferability scores of every (source, target) pair, and how well each
  ranks the sources against the measured fine-tuning accuracy;
- :mod:`.published`: the sizes published for the scores' claims;
- :mod:`.plan`: whether the scores' claims can be powered, from a pilot's spread;
- :mod:`.claims`: learning curves, gains and the page's claims.
"""

from ..experiment import Experiment, Stage
from ..small_targets.curves import size_label
from .claims import (
    CHOSEN,
    METHOD_CLAIMS,
    chosen_methods,
    claims,
    curves,
    effects,
    gain_tests,
    gains,
    line_of,
    method_statements,
    not_run,
    unconverged,
    with_chosen,
)
from .convergence import (
    PLATEAU_GAIN,
    SOURCE_CHECK,
    plateau,
    plateau_specs,
    unconverged_sources,
)
from .design import (
    CNN_KINDS,
    GLYPH_FINE_TUNE,
    IMAGENET,
    IMAGENET_METHODS,
    METHODS,
    PROFILES,
    RATE_KEYS,
    SCRATCH,
    TARGET_BN,
    TOP_TARGET_BN,
    Source,
    Target,
    check_params,
    chosen_rates,
    cnn_model,
    imagenet_model,
    keys_run,
    layer_params,
    length_of,
    length_text,
    methods_run,
    pixel_side,
    rate_key,
    run_specs,
    sample_specs,
    search_specs,
    sizes_of,
    source_run,
    sources,
    specs,
    targets,
)
from .plan import pilot, plan_shown, tau_plan, unpowered
from .published import check_power
from .selection import (
    SCORES,
    TLLIB_WEIGHTED_TAU,
    agreement_claims,
    agreement_family,
    agreement_name,
    agreement_statements,
    bootstrap_agreement,
    rank_agreement,
    score_table,
    selection_runs,
    source_network,
)

__all__ = [
    "EXPERIMENT",
    "CNN_KINDS", "GLYPH_FINE_TUNE", "IMAGENET", "IMAGENET_METHODS", "METHODS", "PROFILES",
    "RATE_KEYS",
    "SCRATCH", "TARGET_BN", "TOP_TARGET_BN", "Source", "Target", "check_params", "chosen_rates",
    "cnn_model",
    "imagenet_model",
    "layer_params", "pixel_side", "length_of", "length_text", "keys_run", "methods_run",
    "PLATEAU_GAIN",
    "plateau", "plateau_specs",
    "rate_key", "run_specs", "sample_specs", "search_specs", "sizes_of",
    "source_run", "sources", "specs", "targets", "size_label", "claims", "curves", "effects",
    "gain_tests", "gains", "line_of", "CHOSEN", "METHOD_CLAIMS", "not_run", "unconverged",
    "chosen_methods", "with_chosen",
    "selection_runs", "SCORES", "TLLIB_WEIGHTED_TAU", "agreement_claims", "agreement_family",
    "agreement_name", "agreement_statements", "method_statements",
    "SOURCE_CHECK", "unconverged_sources",
    "bootstrap_agreement", "rank_agreement", "score_table", "source_network",
    "check_power", "pilot", "plan_shown", "tau_plan", "unpowered",
]


def rates_of(done) -> dict[str, float]:
    """The learning rates the search stage chose (:func:`chosen_rates` of its records)."""
    from ... import results

    return chosen_rates(results.frame(done["search"]))


#: The pretrained experiment: the learning-rate search, the plateau check at the chosen rates,
#: then every run at those rates (listed before the search with each grid's first rate as a
#: stand-in).
EXPERIMENT = Experiment(
    "pretrained", "03_pretrained", __name__,
    stages=(Stage("search", lambda params, done: search_specs(params), search_specs,
                  pinned=False),
            Stage("plateau", lambda params, done: plateau_specs(params, rates_of(done))),
            Stage("runs", lambda params, done: specs(params, rates_of(done)), specs)),
    links={"layer_transfer": "01_layer_transfer"})
