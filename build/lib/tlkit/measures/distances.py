r"""Distances between labelled datasets.

- :func:`gaussian_w2`: the 2-Wasserstein distance between two Gaussians, in closed form.
- :func:`otdd`: the Optimal Transport Dataset Distance (Alvarez-Melis & Fusi, NeurIPS 2020).
- :func:`class_mean_emd` and :func:`domain_similarity`: the EMD between count-weighted class
  means and its similarity ``exp(-gamma * EMD)`` (Cui et al., CVPR 2018).

**Rounding.** A squared distance is a difference of large terms, e.g.
:math:`\operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2 - 2\operatorname{tr}(\dots)^{1/2}`;
in floating point it carries an absolute error of order :math:`d\,\varepsilon` times the size of
those terms, whose sign and size depend on the CPU's arithmetic. The Bures term is therefore
computed from singular values (accurate to :math:`\varepsilon` relative to the largest one,
rather than eigenvalues of a product, which square the condition number), and a squared
distance within the rounding bound :func:`rounding_bound` of zero is returned as exactly zero.
So a dataset's distance to itself is 0 on every machine, as it is by construction, and any
distance the arithmetic can resolve is unchanged.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import ot
from scipy.spatial.distance import cdist

from ._checks import as_dataset, class_means_and_weights, same_dim, uniform
from .sampling import stratified_subsample

__all__ = [
    "class_mean_emd",
    "domain_similarity",
    "gaussian_w2",
    "label_cost_matrix",
    "otdd",
    "rounding_bound",
]

_EMD_MAX_ITER = 10_000_000
#: Units of round-off per dimension allowed for a squared distance to count as zero.
_ROUNDING_UNITS = 64


def rounding_bound(scale: float, dim: int) -> float:
    r"""The largest squared distance indistinguishable from 0 at float64 precision.

    :math:`64\, d\, \varepsilon\, s`, with :math:`\varepsilon = 2^{-52}` the machine epsilon,
    :math:`d` the dimension and :math:`s` the size of the terms whose difference is the squared
    distance (e.g. :math:`\operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2`). The factor
    64 is a safety margin over the :math:`O(d\,\varepsilon\,s)` error of the computation.
    """
    return _ROUNDING_UNITS * max(dim, 1) * float(np.finfo(np.float64).eps) * abs(scale)


def _psd_factor(s: np.ndarray) -> np.ndarray:
    """A factor R with R R^T = S: the Cholesky factor, or S^{1/2} if S is singular."""
    s = (s + s.T) / 2
    try:
        return np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(s)
        return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _bures(s1: np.ndarray, r1: np.ndarray, s2: np.ndarray, r2: np.ndarray) -> float:
    r"""Squared Bures distance tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}) from factors.

    With any factors :math:`R_k R_k^\top = \Sigma_k`, the singular values of
    :math:`A = R_2^\top R_1` are the square roots of the eigenvalues of
    :math:`A^\top A = R_1^\top \Sigma_2 R_1`, which is similar to
    :math:`\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}`; so the trace of the matrix square root is the
    nuclear norm :math:`\lVert A\rVert_*`. Values within :func:`rounding_bound` of 0 are 0.
    """
    cross = float(np.linalg.svd(r2.T @ r1, compute_uv=False).sum())
    total = float(np.trace(s1) + np.trace(s2))
    value = total - 2.0 * cross
    return value if value > rounding_bound(total, s1.shape[0]) else 0.0


def gaussian_w2(
    mu1: np.ndarray | float,
    s1: np.ndarray | float,
    mu2: np.ndarray | float,
    s2: np.ndarray | float,
    *,
    squared: bool = False,
) -> float:
    r"""2-Wasserstein distance between :math:`N(\mu_1,\Sigma_1)` and :math:`N(\mu_2,\Sigma_2)`.

    .. math::
        W_2^2 = \lVert\mu_1-\mu_2\rVert^2
              + \operatorname{tr}\!\left(\Sigma_1 + \Sigma_2
              - 2\,(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}\right)

    (Dowson & Landau, 1982; Givens & Shortt, 1984). The trace of the matrix square root is the
    nuclear norm of :math:`R_2^\top R_1` for Cholesky factors :math:`R_k R_k^\top = \Sigma_k`
    (:math:`\Sigma_k^{1/2}` if :math:`\Sigma_k` is singular); see the module docstring on
    rounding. Scalars are accepted for the 1-D case (``s1``, ``s2`` are then variances).

    Returns :math:`W_2` (or :math:`W_2^2` if ``squared``).
    """
    m1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    m2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    c1 = np.atleast_2d(np.asarray(s1, dtype=np.float64))
    c2 = np.atleast_2d(np.asarray(s2, dtype=np.float64))
    d = m1.shape[0]
    if m1.shape != (d,) or m2.shape != (d,) or c1.shape != (d, d) or c2.shape != (d, d):
        raise ValueError(
            f"shape mismatch: mu1 {m1.shape}, mu2 {m2.shape}, S1 {c1.shape}, S2 {c2.shape}"
        )
    for name, a in (("mu1", m1), ("mu2", m2), ("S1", c1), ("S2", c2)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or infinite values")
    w2sq = float(np.sum((m1 - m2) ** 2)) + _bures(c1, _psd_factor(c1), c2, _psd_factor(c2))
    return w2sq if squared else math.sqrt(w2sq)


def _class_gaussians(
    x: np.ndarray, y: np.ndarray, classes: np.ndarray, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    d = x.shape[1]
    means = np.empty((len(classes), d))
    covs = np.empty((len(classes), d, d))
    for k, c in enumerate(classes):
        xc = x[y == c]
        means[k] = xc.mean(axis=0)
        centred = xc - means[k]
        covs[k] = centred.T @ centred / xc.shape[0] + ridge * np.eye(d)
    return means, covs


def label_cost_matrix(
    xa: np.ndarray,
    ya: np.ndarray,
    xb: np.ndarray,
    yb: np.ndarray,
    *,
    inner: Literal["gaussian", "exact"] = "gaussian",
    ridge: float = 1e-6,
) -> np.ndarray:
    r"""Squared label-to-label costs :math:`W_2^2(P_y, P'_{y'})` between classes of two datasets.

    Row ``i`` is the ``i``-th class of ``np.unique(ya)``, column ``j`` the ``j``-th class of
    ``np.unique(yb)``. :math:`P_y` is the class-conditional feature distribution of class ``y``.

    - ``inner="gaussian"``: each class is summarised by :math:`N(\mu_y, \Sigma_y + \text{ridge}\,I)`
      (sample mean, maximum-likelihood covariance) and :func:`gaussian_w2` is used in closed form,
      the fast variant of Alvarez-Melis & Fusi (2020, Sec. 4).
    - ``inner="exact"``: exact OT between the empirical class-conditional point clouds with squared
      Euclidean ground cost (``ot.emd2``, uniform weights).

    Alvarez-Melis, D. & Fusi, N. (2020). Geometric dataset distances via optimal transport.
    NeurIPS 33.
    """
    xa, ya = as_dataset(xa, ya, "a")
    xb, yb = as_dataset(xb, yb, "b")
    same_dim(xa, xb)
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0; got {ridge}")
    ca, cb = np.unique(ya), np.unique(yb)
    cost = np.empty((len(ca), len(cb)))
    if inner == "gaussian":
        mua, sa = _class_gaussians(xa, ya, ca, ridge)
        mub, sb = _class_gaussians(xb, yb, cb, ridge)
        fa = [_psd_factor(s) for s in sa]
        fb = [_psd_factor(s) for s in sb]
        for i in range(len(ca)):
            for j in range(len(cb)):
                mean_term = float(np.sum((mua[i] - mub[j]) ** 2))
                cost[i, j] = mean_term + _bures(sa[i], fa[i], sb[j], fb[j])
    elif inner == "exact":
        for i, c in enumerate(ca):
            pa = xa[ya == c]
            for j, c2 in enumerate(cb):
                pb = xb[yb == c2]
                m = cdist(pa, pb, "sqeuclidean")
                cost[i, j] = float(
                    ot.emd2(uniform(len(pa)), uniform(len(pb)), m, numItermax=_EMD_MAX_ITER)
                )
    else:
        raise ValueError(f"inner must be 'gaussian' or 'exact'; got {inner!r}")
    return cost


def otdd(
    xa: np.ndarray,
    ya: np.ndarray,
    xb: np.ndarray,
    yb: np.ndarray,
    *,
    max_samples: int = 1000,
    seed: int = 0,
    inner: Literal["gaussian", "exact"] = "gaussian",
    ridge: float = 1e-6,
) -> float:
    r"""Optimal Transport Dataset Distance between labelled datasets A and B.

    Points are pairs :math:`z=(x,y)`. The ground cost between :math:`z \in A` and
    :math:`z' \in B` is

    .. math::
        d\big((x,y),(x',y')\big)^2 = \lVert x-x'\rVert^2 + W_2^2(P_y, P'_{y'}),

    where :math:`P_y` is the distribution of features of class ``y`` (see
    :func:`label_cost_matrix`; by default a Gaussian with the closed-form :func:`gaussian_w2`). The
    distance is the 2-Wasserstein distance between the two empirical distributions under this cost,

    .. math::
        \mathrm{OTDD}(A,B) = \Big(\min_{\pi \in \Pi(\frac1n\mathbf 1, \frac1m\mathbf 1)}
        \sum_{ij} \pi_{ij}\, d(z_i, z'_j)^2\Big)^{1/2},

    solved exactly with ``ot.emd2``. Labels of the two datasets need not share a vocabulary: the
    label cost compares classes through their feature distributions only, so renaming the classes
    of a dataset leaves the distance unchanged; moving points between classes does not. A
    dataset's distance to itself is exactly 0 (see the module docstring on rounding).

    Each dataset is first reduced to a stratified subsample of at most ``max_samples`` points
    (:func:`~tlkit.measures.stratified_subsample`, each dataset with its own generator seeded by
    ``seed``, so the subsample of a dataset does not depend on argument order and
    ``otdd(a, b) == otdd(b, a)``). Class statistics are computed on the subsample, so the value
    is the exact OTDD of the subsampled datasets. Exact OT costs roughly :math:`O(n^3)` time and
    :math:`O(n^2)` memory.

    Alvarez-Melis, D. & Fusi, N. (2020). Geometric dataset distances via optimal transport.
    NeurIPS 33. arXiv:2002.02923.
    """
    xa, ya = as_dataset(xa, ya, "a")
    xb, yb = as_dataset(xb, yb, "b")
    same_dim(xa, xb)
    ia = stratified_subsample(ya, max_samples, seed)
    ib = stratified_subsample(yb, max_samples, seed)
    xa, ya, xb, yb = xa[ia], ya[ia], xb[ib], yb[ib]
    labels_cost = label_cost_matrix(xa, ya, xb, yb, inner=inner, ridge=ridge)
    _, ka = np.unique(ya, return_inverse=True)
    _, kb = np.unique(yb, return_inverse=True)
    cost = cdist(xa, xb, "sqeuclidean") + labels_cost[np.ix_(ka, kb)]
    total = float(ot.emd2(uniform(len(xa)), uniform(len(xb)), cost, numItermax=_EMD_MAX_ITER))
    return math.sqrt(max(total, 0.0))


def class_mean_emd(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray, yb: np.ndarray) -> float:
    r"""Earth Mover's Distance between the count-weighted class means of two datasets.

    Dataset A is the weighted point set :math:`\{(\bar f_i, w_i)\}` with :math:`\bar f_i` the mean
    feature of class ``i`` and :math:`w_i = n_i / n` its share of examples; likewise B. With the
    Euclidean ground distance :math:`d_{ij} = \lVert \bar f_i - \bar f'_j\rVert_2`,

    .. math::
        \mathrm{EMD}(A,B) = \min_{\pi \ge 0,\ \pi\mathbf 1 = w,\ \pi^\top\mathbf 1 = w'}
        \sum_{ij} \pi_{ij}\, d_{ij}.

    Cui, Y., Song, Y., Sun, C., Howard, A. & Belongie, S. (2018). Large scale fine-grained
    categorization and domain-specific transfer learning. CVPR.
    """
    xa, ya = as_dataset(xa, ya, "a")
    xb, yb = as_dataset(xb, yb, "b")
    same_dim(xa, xb)
    ma, wa = class_means_and_weights(xa, ya)
    mb, wb = class_means_and_weights(xb, yb)
    dist = cdist(ma, mb, "euclidean")
    return max(float(ot.emd2(wa, wb, dist, numItermax=_EMD_MAX_ITER)), 0.0)


def domain_similarity(
    xa: np.ndarray, ya: np.ndarray, xb: np.ndarray, yb: np.ndarray, *, gamma: float = 0.01
) -> float:
    r"""Domain similarity of Cui et al. (2018): :math:`\exp(-\gamma\, \mathrm{EMD}(A,B))`.

    ``EMD`` is :func:`class_mean_emd`. The value lies in (0, 1] and equals 1 for identical class
    means; Cui et al. use :math:`\gamma = 0.01` with ImageNet-trained ResNet features.

    Cui, Y., Song, Y., Sun, C., Howard, A. & Belongie, S. (2018). Large scale fine-grained
    categorization and domain-specific transfer learning. CVPR.
    """
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0; got {gamma}")
    return math.exp(-gamma * class_mean_emd(xa, ya, xb, yb))
