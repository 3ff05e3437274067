r"""Distances between labelled datasets and transferability scores.

Every function takes plain arrays: ``features`` of shape ``(n, d)`` (any fixed feature space,
e.g. :func:`pixel_features` or the penultimate activations of a fixed network) and integer
``labels`` of shape ``(n,)``, and returns a float.

Dataset distances (:mod:`tlkit.measures.distances`)

- :func:`otdd`: Optimal Transport Dataset Distance (Alvarez-Melis & Fusi, NeurIPS 2020).
- :func:`class_mean_emd` and :func:`domain_similarity`: EMD between count-weighted class means
  and its similarity ``exp(-gamma * EMD)`` (Cui et al., CVPR 2018).
- :func:`gaussian_w2` and :func:`label_cost_matrix`: the closed-form pieces of OTDD.

Transferability of a source model to a labelled target
(:mod:`tlkit.measures.transferability`)

- :func:`leep` (Nguyen et al., ICML 2020), :func:`nce` (Tran et al., ICCV 2019),
  :func:`h_score` (Bao et al., ICIP 2019), :func:`logme` (You et al., ICML 2021).
  Higher means "expected to transfer better" for all four.

Feature spaces and sampling: :func:`pixel_features`, :func:`stratified_subsample`.
"""

from .distances import (
    class_mean_emd,
    domain_similarity,
    gaussian_w2,
    label_cost_matrix,
    otdd,
    rounding_bound,
)
from .features import pixel_features
from .sampling import stratified_subsample
from .transferability import h_score, leep, logme, nce

__all__ = [
    "class_mean_emd",
    "domain_similarity",
    "gaussian_w2",
    "h_score",
    "label_cost_matrix",
    "leep",
    "logme",
    "nce",
    "otdd",
    "pixel_features",
    "rounding_bound",
    "stratified_subsample",
]
