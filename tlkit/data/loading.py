"""Loading a dataset by name, with an in-process cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from ..checks import is_int
from .base import TensorData
from .preprocess import to_format
from .registry import resolve_root, source
from .source import validate_split

__all__ = ["load", "clear_cache", "CACHE_MAX_ITEMS", "CACHE_MAX_BYTES"]

CACHE_MAX_ITEMS = 16
CACHE_MAX_BYTES = 2 * 1024**3

_cache: OrderedDict[Hashable, TensorData] = OrderedDict()
_lock = threading.Lock()


def _nbytes(data: TensorData) -> int:
    return data.images.nbytes + data.labels.nbytes


def _remember(key: Hashable, data: TensorData) -> None:
    if _nbytes(data) > CACHE_MAX_BYTES:
        return
    with _lock:
        _cache[key] = data
        _cache.move_to_end(key)
        while len(_cache) > CACHE_MAX_ITEMS or sum(map(_nbytes, _cache.values())) > CACHE_MAX_BYTES:
            _cache.popitem(last=False)


def _recall(key: Hashable) -> TensorData | None:
    with _lock:
        data = _cache.get(key)
        if data is not None:
            _cache.move_to_end(key)
        return data


def clear_cache() -> None:
    """Forget every dataset held by :func:`load`'s cache."""
    with _lock:
        _cache.clear()


def _copy(data: TensorData) -> TensorData:
    return TensorData(data.images.clone(), data.labels.clone(), data.classes, data.name)


def load(
    name: str,
    split: str = "train",
    *,
    size: int | None = None,
    channels: int | None = None,
    root: str | Path | None = None,
    download: bool | None = None,
    **options: Any,
) -> TensorData:
    """Load ``split`` (``"train"`` or ``"test"``) of dataset ``name`` as a :class:`TensorData`.

    Args:
        name: one of :func:`~tlkit.data.names`.
        split: ``"train"`` or ``"test"``.
        size: side of the square images returned; ``None`` keeps the dataset's own size.
        channels: 1 or 3; ``None`` keeps the dataset's own. See :func:`~tlkit.data.to_format`.
        root: folder of downloaded datasets (torchvision datasets only); default
            :func:`~tlkit.data.data_root`.
        download: for torchvision datasets whose files are absent: ``True`` downloads,
            ``False`` raises :class:`~tlkit.data.DatasetUnavailableError`, ``None`` downloads
            unless ``$TLKIT_OFFLINE=1``.
        **options: dataset options, see :func:`~tlkit.data.info` (``verify=False`` skips the
            md5 checks of a torchvision dataset).

    The result is deterministic: the same arguments give bitwise-identical tensors. Results
    are kept in an in-process least-recently-used cache (at most ``CACHE_MAX_ITEMS`` datasets
    and ``CACHE_MAX_BYTES`` bytes); every call returns fresh copies of the cached tensors,
    which the caller may modify.
    """
    src = source(name)
    split = validate_split(split)
    opts = src.options(options)
    if size is not None and (not is_int(size) or size < 1):
        raise ValueError(f"size must be a positive integer or None, got {size!r}")
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"channels must be 1, 3 or None, got {channels!r}")
    path = resolve_root(root) if src.kind != "embedded" else None
    key = (src.name, split, size, channels, None if path is None else str(path.resolve()))
    key += tuple(sorted(opts.items()))
    data = _recall(key)
    if data is None:
        data = to_format(src.build(split, opts, path, download), size, channels)
        _remember(key, data)
    return _copy(data)
