r"""Distances between labelled datasets and transferability scores.

Every function takes plain arrays: ``features`` of shape ``(n, d)`` (any fixed feature space, e.g.
:func:`pixel_features` or the penultimate activations of a fixed network) and integer ``labels`` of
shape ``(n,)``, and returns a float.

Dataset distances

- :func:`otdd`: Optimal Transport Dataset Distance (Alvarez-Melis & Fusi, NeurIPS 2020).
- :func:`class_mean_emd` and :func:`domain_similarity`: EMD between count-weighted class means and
  its similarity ``exp(-gamma * EMD)`` (Cui et al., CVPR 2018).

Transferability of a source model to a labelled target

- :func:`leep` (Nguyen et al., ICML 2020), :func:`nce` (Tran et al., ICCV 2019),
  :func:`h_score` (Bao et al., ICIP 2019), :func:`logme` (You et al., ICML 2021).
  Higher means "expected to transfer better" for all four.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import ot
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist

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
    "stratified_subsample",
]

_EMD_MAX_ITER = 10_000_000
_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights, as in PIL's convert("L")


# --------------------------------------------------------------------------- input checks


def _as_features(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d); got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has no rows")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _as_labels(y: np.ndarray, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array; got shape {arr.shape}")
    n = arr.shape[0] if n is None else n
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but {n} were expected (one per row)")
    if n == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer class labels")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer class labels; got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _dataset(x: np.ndarray, y: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    xs = _as_features(x, f"x{name}")
    return xs, _as_labels(y, f"y{name}", xs.shape[0])


def _same_dim(xa: np.ndarray, xb: np.ndarray) -> None:
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(
            f"the two datasets live in different feature spaces: d={xa.shape[1]} vs d={xb.shape[1]}"
        )


def _uniform(n: int) -> np.ndarray:
    return np.full(n, 1.0 / n)


# --------------------------------------------------------------------------- subsampling


def stratified_subsample(labels: np.ndarray, max_samples: int, seed: int = 0) -> np.ndarray:
    """Indices of a seeded, stratified subsample of at most ``max_samples`` points.

    Each class keeps a share of ``max_samples`` proportional to its size (largest-remainder
    rounding), and at least one point, so no class disappears. If there are no more than
    ``max_samples`` points, all indices are returned. The result is sorted and depends only on
    ``(labels, max_samples, seed)``.

    Raises ``ValueError`` if ``max_samples`` is smaller than the number of classes (some class
    would be left empty).
    """
    y = _as_labels(labels, "labels")
    n = y.shape[0]
    if max_samples < 1:
        raise ValueError(f"max_samples must be >= 1; got {max_samples}")
    if n <= max_samples:
        return np.arange(n)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    if len(classes) > max_samples:
        raise ValueError(
            f"max_samples={max_samples} is smaller than the number of classes ({len(classes)}): "
            "a stratified subsample would leave some class empty"
        )
    exact = max_samples * counts / n
    quota = np.minimum(np.maximum(np.floor(exact).astype(np.int64), 1), counts)
    while quota.sum() < max_samples:
        room = np.where(quota < counts, exact - quota, -np.inf)
        quota[int(np.argmax(room))] += 1
    while quota.sum() > max_samples:
        excess = np.where(quota > 1, quota - exact, -np.inf)
        quota[int(np.argmax(excess))] -= 1
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(np.flatnonzero(inverse == k), size=int(q), replace=False)
        for k, q in enumerate(quota)
    ]
    return np.sort(np.concatenate(chosen))


# --------------------------------------------------------------------------- OTDD


def _psd_factor(s: np.ndarray) -> np.ndarray:
    """A factor R with R R^T = S: the Cholesky factor, or S^{1/2} if S is singular."""
    s = (s + s.T) / 2
    try:
        return np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(s)
        return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _bures(s1: np.ndarray, r1: np.ndarray, s2: np.ndarray) -> float:
    """tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}) given any factor R1 R1^T = S1.

    R1^T S2 R1 has the same eigenvalues as S1 S2 and as S1^{1/2} S2 S1^{1/2}, so the trace of
    the matrix square root is the sum of the square roots of its (symmetric) eigenvalues.
    """
    m = r1.T @ s2 @ r1
    w = np.linalg.eigvalsh((m + m.T) / 2)
    cross = np.sqrt(np.clip(w, 0.0, None)).sum()
    return max(float(np.trace(s1) + np.trace(s2) - 2.0 * cross), 0.0)


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

    (Dowson & Landau, 1982; Givens & Shortt, 1984). The trace of the matrix square root is
    :math:`\sum_j \sqrt{\lambda_j}` over the eigenvalues of :math:`R^\top \Sigma_2 R`, where
    :math:`R R^\top = \Sigma_1` (Cholesky, or :math:`\Sigma_1^{1/2}` if :math:`\Sigma_1` is
    singular); round-off negative eigenvalues are clipped to zero. Scalars are accepted for the
    1-D case (``s1``, ``s2`` are then variances).

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
    w2sq = float(np.sum((m1 - m2) ** 2)) + _bures(c1, _psd_factor(c1), c2)
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
    xa, ya = _dataset(xa, ya, "a")
    xb, yb = _dataset(xb, yb, "b")
    _same_dim(xa, xb)
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0; got {ridge}")
    ca, cb = np.unique(ya), np.unique(yb)
    cost = np.empty((len(ca), len(cb)))
    if inner == "gaussian":
        mua, sa = _class_gaussians(xa, ya, ca, ridge)
        mub, sb = _class_gaussians(xb, yb, cb, ridge)
        for i in range(len(ca)):
            factor = _psd_factor(sa[i])
            for j in range(len(cb)):
                mean_term = float(np.sum((mua[i] - mub[j]) ** 2))
                cost[i, j] = mean_term + _bures(sa[i], factor, sb[j])
    elif inner == "exact":
        for i, c in enumerate(ca):
            pa = xa[ya == c]
            for j, c2 in enumerate(cb):
                pb = xb[yb == c2]
                m = cdist(pa, pb, "sqeuclidean")
                cost[i, j] = float(
                    ot.emd2(_uniform(len(pa)), _uniform(len(pb)), m, numItermax=_EMD_MAX_ITER)
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
    of a dataset leaves the distance unchanged; moving points between classes does not.

    Each dataset is first reduced to a stratified subsample of at most ``max_samples`` points
    (:func:`stratified_subsample`, each dataset with its own generator seeded by ``seed``, so the
    subsample of a dataset does not depend on argument order and ``otdd(a, b) == otdd(b, a)``).
    Class statistics are computed on the subsample, so the value is the exact OTDD of the
    subsampled datasets. Exact OT costs roughly :math:`O(n^3)` time and :math:`O(n^2)` memory.

    Alvarez-Melis, D. & Fusi, N. (2020). Geometric dataset distances via optimal transport.
    NeurIPS 33. arXiv:2002.02923.
    """
    xa, ya = _dataset(xa, ya, "a")
    xb, yb = _dataset(xb, yb, "b")
    _same_dim(xa, xb)
    ia = stratified_subsample(ya, max_samples, seed)
    ib = stratified_subsample(yb, max_samples, seed)
    xa, ya, xb, yb = xa[ia], ya[ia], xb[ib], yb[ib]
    labels_cost = label_cost_matrix(xa, ya, xb, yb, inner=inner, ridge=ridge)
    _, ka = np.unique(ya, return_inverse=True)
    _, kb = np.unique(yb, return_inverse=True)
    cost = cdist(xa, xb, "sqeuclidean") + labels_cost[np.ix_(ka, kb)]
    total = float(ot.emd2(_uniform(len(xa)), _uniform(len(xb)), cost, numItermax=_EMD_MAX_ITER))
    return math.sqrt(max(total, 0.0))


# --------------------------------------------------------------------------- Cui et al. 2018


def _class_means_and_weights(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    means = np.zeros((len(classes), x.shape[1]))
    np.add.at(means, inverse, x)
    means /= counts[:, None]
    return means, counts / counts.sum()


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
    xa, ya = _dataset(xa, ya, "a")
    xb, yb = _dataset(xb, yb, "b")
    _same_dim(xa, xb)
    ma, wa = _class_means_and_weights(xa, ya)
    mb, wb = _class_means_and_weights(xb, yb)
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


# --------------------------------------------------------------------------- feature space


def pixel_features(images: np.ndarray | torch.Tensor, size: int = 8) -> np.ndarray:
    r"""A fixed pixel feature space for distances between image datasets.

    ``images`` of shape ``(N, C, H, W)`` (or ``(N, H, W)``) with values in [0, 1], as a numpy array
    or a torch tensor, are converted to grayscale (``C=3``: :math:`0.299R + 0.587G + 0.114B`,
    ITU-R BT.601; ``C=1``: unchanged), resized to ``size x size`` by area averaging
    (``torch.nn.functional.interpolate(mode="area")``), and flattened.

    Returns a float64 array of shape ``(N, size * size)`` with values in [0, 1].
    """
    t = torch.as_tensor(images).detach().to("cpu", torch.float64)
    if t.ndim == 3:
        t = t.unsqueeze(1)
    if t.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W) or (N, H, W); got {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError("images is empty")
    if t.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels; got {t.shape[1]}")
    if size < 1:
        raise ValueError(f"size must be >= 1; got {size}")
    if not torch.isfinite(t).all():
        raise ValueError("images contain NaN or infinite values")
    if t.min() < 0 or t.max() > 1:
        raise ValueError(
            f"images must have values in [0, 1]; got range [{t.min().item():.3g}, "
            f"{t.max().item():.3g}] (divide uint8 images by 255; undo any normalisation)"
        )
    if t.shape[1] == 3:
        weights = torch.tensor(_LUMA, dtype=t.dtype).view(1, 3, 1, 1)
        t = (t * weights).sum(dim=1, keepdim=True)
    t = F.interpolate(t, size=(size, size), mode="area")
    return t.reshape(t.shape[0], -1).numpy().clip(0.0, 1.0)


# --------------------------------------------------------------------------- transferability


def leep(source_probs: np.ndarray, target_labels: np.ndarray) -> float:
    r"""Log Expected Empirical Prediction (LEEP).

    With :math:`\theta(x_i) \in \Delta^{C_s}` the source model's predicted distribution over
    source classes :math:`z` for target example :math:`x_i` (label :math:`y_i`):

    .. math::
        \hat P(y, z) = \frac1n \sum_{i: y_i = y} \theta(x_i)_z, \qquad
        \hat P(y \mid z) = \frac{\hat P(y, z)}{\sum_{y'} \hat P(y', z)},

    .. math::
        \mathrm{LEEP} = \frac1n \sum_{i=1}^n \log \Big(\sum_z \hat P(y_i \mid z)\,
        \theta(x_i)_z\Big) \;\le\; 0.

    A score of 0 means the "expected empirical predictor" is certain and right on every example.

    Nguyen, C., Hassner, T., Seeger, M. & Archambeau, C. (2020). LEEP: A new measure to evaluate
    transferability of learned representations. ICML.
    """
    theta = _as_features(source_probs, "source_probs")
    y = _as_labels(target_labels, "target_labels", theta.shape[0])
    if np.any(theta < 0) or not np.allclose(theta.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError(
            "source_probs must be probabilities (non-negative rows summing to 1); "
            "apply a softmax to logits first"
        )
    n = theta.shape[0]
    _, yk = np.unique(y, return_inverse=True)
    joint = np.zeros((yk.max() + 1, theta.shape[1]))
    np.add.at(joint, yk, theta / n)
    marginal = joint.sum(axis=0, keepdims=True)
    cond = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)
    expected = np.einsum("iz,iz->i", theta, cond[yk])  # > 0: x_i itself contributes to P(y_i, z)
    return float(np.mean(np.log(expected)))


def nce(source_labels: np.ndarray, target_labels: np.ndarray) -> float:
    r"""Negative Conditional Entropy (NCE) of target labels given source labels.

    With :math:`z_i` the source label (e.g. the source model's hard prediction) and :math:`y_i` the
    target label of example :math:`i`, and :math:`\hat P` their empirical joint distribution,

    .. math::
        \mathrm{NCE} = -H(Y \mid Z) = \sum_{y,z} \hat P(y, z)\,\log \frac{\hat P(y, z)}{\hat P(z)}
        \;\le\; 0,

    which is 0 exactly when the target label is a function of the source label.

    Tran, A. T., Nguyen, C. V. & Hassner, T. (2019). Transferability and hardness of supervised
    classification tasks. ICCV.
    """
    z = _as_labels(source_labels, "source_labels")
    y = _as_labels(target_labels, "target_labels", z.shape[0])
    _, zk = np.unique(z, return_inverse=True)
    _, yk = np.unique(y, return_inverse=True)
    joint = np.zeros((yk.max() + 1, zk.max() + 1))
    np.add.at(joint, (yk, zk), 1.0 / len(y))
    marginal = np.broadcast_to(joint.sum(axis=0, keepdims=True), joint.shape)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / marginal[nz])))


def h_score(features: np.ndarray, labels: np.ndarray) -> float:
    r"""H-score: how well the features separate the target classes.

    .. math::
        \mathcal H(f) = \operatorname{tr}\!\big(\operatorname{cov}(f)^{-1}\,
        \operatorname{cov}(\mathbb E[f \mid y])\big),

    where :math:`\mathbb E[f \mid y]` replaces each example's feature by its class mean; the
    inverse is the Moore-Penrose pseudo-inverse. In one dimension it is the share of the feature's
    variance explained by the class.

    Bao, Y., Li, Y., Huang, S.-L., Zhang, L., Zheng, L., Zamir, A. & Guibas, L. (2019). An
    information-theoretic approach to transferability in task transfer learning. ICIP.
    """
    f = _as_features(features, "features")
    y = _as_labels(labels, "labels", f.shape[0])
    means, _ = _class_means_and_weights(f, y)
    _, yk = np.unique(y, return_inverse=True)
    g = means[yk]
    fc = f - f.mean(axis=0)
    gc = g - g.mean(axis=0)
    cov_f = fc.T @ fc / len(f)
    cov_g = gc.T @ gc / len(f)
    return float(np.trace(np.linalg.pinv(cov_f, hermitian=True) @ cov_g))


def _log_evidence_max(
    s2: np.ndarray,
    u: np.ndarray,
    vt: np.ndarray,
    f: np.ndarray,
    y: np.ndarray,
    max_iter: int,
    tol: float,
) -> float:
    n, d = f.shape
    uty = u.T @ y
    alpha, beta = 1.0, 1.0
    for _ in range(max_iter):
        gamma = float(np.sum(beta * s2 / (alpha + beta * s2)))
        m = vt.T @ (beta * np.sqrt(s2) * uty / (alpha + beta * s2))
        mm = float(m @ m)
        res = float(np.sum((y - f @ m) ** 2))
        new_alpha = gamma / max(mm, 1e-300)
        new_beta = (n - gamma) / max(res, 1e-300)
        done = abs(new_alpha / new_beta - alpha / beta) <= tol * (alpha / beta)
        alpha, beta = new_alpha, new_beta
        if done:
            break
    m = vt.T @ (beta * np.sqrt(s2) * uty / (alpha + beta * s2))
    mm = float(m @ m)
    res = float(np.sum((y - f @ m) ** 2))
    logdet = float(np.sum(np.log(alpha + beta * s2))) + (d - len(s2)) * math.log(alpha)
    evidence = (
        d / 2 * math.log(alpha)
        + n / 2 * math.log(beta)
        - logdet / 2
        - beta / 2 * res
        - alpha / 2 * mm
        - n / 2 * math.log(2 * math.pi)
    )
    return evidence / n


def logme(
    features: np.ndarray, labels: np.ndarray, *, max_iter: int = 100, tol: float = 1e-5
) -> float:
    r"""LogME: log of the maximum marginal likelihood (evidence) of a linear model on the features.

    For each class :math:`k` the one-hot target :math:`y = \mathbf 1[\text{label} = k] \in
    \mathbb R^n` is modelled as :math:`y = F w + \varepsilon`, :math:`w \sim N(0, \alpha^{-1} I_d)`,
    :math:`\varepsilon \sim N(0, \beta^{-1} I_n)`. With :math:`\sigma_j` the eigenvalues of
    :math:`F^\top F`, :math:`A = \alpha I + \beta F^\top F` and :math:`m = \beta A^{-1} F^\top y`,
    the log evidence is

    .. math::
        \mathcal L(\alpha,\beta) = \tfrac d2 \log\alpha + \tfrac n2 \log\beta
        - \tfrac12 \log\lvert A\rvert - \tfrac\beta2 \lVert Fm - y\rVert^2
        - \tfrac\alpha2 m^\top m - \tfrac n2 \log 2\pi,

    maximised by the fixed-point iteration :math:`\gamma = \sum_j \frac{\beta\sigma_j}{\alpha +
    \beta\sigma_j}`, :math:`\alpha \leftarrow \gamma / m^\top m`, :math:`\beta \leftarrow (n -
    \gamma) / \lVert Fm - y\rVert^2` until :math:`\alpha/\beta` changes by less than ``tol``
    (relative). The score is :math:`\frac{1}{K}\sum_k \mathcal L_k^\ast / n`.

    You, K., Liu, Y., Wang, J. & Long, M. (2021). LogME: Practical assessment of pre-trained
    models for transfer learning. ICML.
    """
    f = _as_features(features, "features")
    y = _as_labels(labels, "labels", f.shape[0])
    _, yk = np.unique(y, return_inverse=True)
    u, s, vt = np.linalg.svd(f, full_matrices=False)
    s2 = s**2
    if not np.any(s2 > 0):
        raise ValueError("features are all zero: the evidence has no maximum")
    scores = [
        _log_evidence_max(s2, u, vt, f, (yk == k).astype(np.float64), max_iter, tol)
        for k in range(yk.max() + 1)
    ]
    return float(np.mean(scores))
