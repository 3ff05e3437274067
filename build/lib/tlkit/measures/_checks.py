"""Input checks and class statistics shared by the measures: features ``(n, d)`` and integer
labels ``(n,)``."""

from __future__ import annotations

import numpy as np

__all__ = ["as_features", "as_labels", "as_dataset", "class_means_and_weights", "same_dim",
           "uniform"]


def as_features(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` as a finite, non-empty float64 array of shape ``(n, d)``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d); got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has no rows")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def as_labels(y: np.ndarray, name: str, n: int | None = None) -> np.ndarray:
    """``y`` as int64 class labels of length ``n`` (floats must be whole numbers)."""
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


def as_dataset(x: np.ndarray, y: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of one labelled dataset, checked together."""
    xs = as_features(x, f"x{name}")
    return xs, as_labels(y, f"y{name}", xs.shape[0])


def same_dim(xa: np.ndarray, xb: np.ndarray) -> None:
    """Raise unless two feature arrays live in the same space."""
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(
            f"the two datasets live in different feature spaces: d={xa.shape[1]} vs d={xb.shape[1]}"
        )


def uniform(n: int) -> np.ndarray:
    """The uniform weights ``1/n`` of an empirical distribution of ``n`` points."""
    return np.full(n, 1.0 / n)


def class_means_and_weights(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean feature of each class (in ``np.unique`` order) and its share of the examples."""
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    means = np.zeros((len(classes), x.shape[1]))
    np.add.at(means, inverse, x)
    means /= counts[:, None]
    return means, counts / counts.sum()
