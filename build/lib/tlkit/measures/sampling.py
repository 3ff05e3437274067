"""Seeded, stratified subsamples of a labelled dataset (to bound the cost of exact OT)."""

from __future__ import annotations

import numpy as np

from ._checks import as_labels

__all__ = ["stratified_subsample"]


def stratified_subsample(labels: np.ndarray, max_samples: int, seed: int = 0) -> np.ndarray:
    """Indices of a seeded, stratified subsample of at most ``max_samples`` points.

    Each class keeps a share of ``max_samples`` proportional to its size (largest-remainder
    rounding), and at least one point, so no class disappears. If there are no more than
    ``max_samples`` points, all indices are returned. The result is sorted and depends only on
    ``(labels, max_samples, seed)``.

    Raises ``ValueError`` if ``max_samples`` is smaller than the number of classes (some class
    would be left empty).
    """
    y = as_labels(labels, "labels")
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
