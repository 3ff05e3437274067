"""Transferability of a source model to a labelled target, from its outputs or features.

- :func:`leep` (Nguyen et al., ICML 2020) and :func:`nce` (Tran et al., ICCV 2019) read the
  source classifier's predictions on the target;
- :func:`h_score` (Bao et al., ICIP 2019) and :func:`logme` (You et al., ICML 2021) read the
  source's features of the target.

Each is a plain function ``(outputs or features, target labels) -> float``; higher means
"expected to transfer better" for all four.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_features, as_labels, class_means_and_weights

__all__ = ["h_score", "leep", "logme", "nce"]


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
    theta = as_features(source_probs, "source_probs")
    y = as_labels(target_labels, "target_labels", theta.shape[0])
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
    z = as_labels(source_labels, "source_labels")
    y = as_labels(target_labels, "target_labels", z.shape[0])
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
    f = as_features(features, "features")
    y = as_labels(labels, "labels", f.shape[0])
    means, _ = class_means_and_weights(f, y)
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
        # n - gamma summed from its own terms: n - gamma by subtraction rounds to zero where
        # beta * s2 dwarfs alpha (large features that fit y), and beta would become 0
        slack = (n - len(s2)) + float(np.sum(alpha / (alpha + beta * s2)))
        m = vt.T @ (beta * np.sqrt(s2) * uty / (alpha + beta * s2))
        mm = float(m @ m)
        res = float(np.sum((y - f @ m) ** 2))
        new_alpha = gamma / max(mm, 1e-300)
        new_beta = slack / max(res, 1e-300)
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
    f = as_features(features, "features")
    y = as_labels(labels, "labels", f.shape[0])
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
