"""The datasets by name, and what can be known about them without building them."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..checks import is_int
from . import digits, folder, glyphs, real, shapes
from .base import UnknownDatasetError, data_root
from .source import DatasetInfo, DatasetSource, validate_split

__all__ = ["SOURCES", "MODULES", "drop_locations", "source", "names", "info", "availability",
           "check", "resolve_root"]

#: The module of every dataset: a run's code fingerprint includes the modules of the datasets
#: it uses and of no other (:mod:`tlkit.fingerprint`). Adding a dataset is a module with a
#: ``SOURCE`` (or ``SOURCES``) and its line here.
_PLUGINS = (glyphs, digits, shapes, real, folder)

SOURCES: Mapping[str, DatasetSource] = {
    s.name: s for m in _PLUGINS for s in getattr(m, "SOURCES", (getattr(m, "SOURCE", None),))
}
MODULES: Mapping[str, str] = {
    s.name: m.__name__ for m in _PLUGINS
    for s in getattr(m, "SOURCES", (getattr(m, "SOURCE", None),))
}


def names() -> list[str]:
    """Names of all datasets: the embedded ones first, then the torchvision ones."""
    return list(SOURCES)


def source(name: str) -> DatasetSource:
    """The registry entry of ``name``; :class:`UnknownDatasetError` lists the valid names."""
    try:
        return SOURCES[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), SOURCES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; valid names: {', '.join(SOURCES)}.{hint}"
        ) from None


def resolve_root(root: str | Path | None) -> Path:
    """``root`` as a path, or :func:`data_root` when ``None``."""
    return data_root() if root is None else Path(root).expanduser()


def info(name: str, **options: Any) -> DatasetInfo:
    """What is known about dataset ``name`` with ``options``, without building it."""
    src = source(name)
    opts = src.options(options)
    train = src.class_counts("train", opts)
    test = src.class_counts("test", opts)
    return DatasetInfo(
        name=src.name,
        kind=src.kind,
        classes=src.classes(opts),
        train_size=None if train is None else sum(train),
        test_size=None if test is None else sum(test),
        min_train_per_class=None if not train else min(train),
        description=src.description,
        options=opts,
        defaults=src.defaults,
    )


def availability(name: str, root: str | Path | None = None, split: str | None = None) -> str:
    """Where dataset ``name`` comes from: ``"embedded"``, ``"on disk"`` or ``"needs download"``.

    For a torchvision dataset, ``"on disk"`` means that the files of ``split`` (of both
    splits when ``split`` is None) are in the folder under ``root`` (default
    :func:`data_root`); their checksums are not computed here.
    """
    src = source(name)
    if split is not None:
        validate_split(split)
    if src.kind == "embedded":
        return "embedded"
    return src.availability(resolve_root(root), split)


def check(
    name: str,
    *,
    split: str = "train",
    classes: Sequence[str] | None = None,
    n_per_class: int | None = None,
    size: int | None = None,
    channels: int | None = None,
    root: str | Path | None = None,
    download: bool | None = None,
    **options: Any,
) -> None:
    """Validate arguments for :func:`~tlkit.data.load` cheaply: nothing is built or downloaded.

    Takes the arguments of :func:`~tlkit.data.load` (``root`` and ``download`` are accepted
    and not checked: whether files are on disk is :func:`availability`'s question) plus the
    ``classes`` and ``n_per_class`` that will be asked of the data.

    Raises ValueError (or :class:`UnknownDatasetError`) with a message that says what is wrong
    and what is valid, for an unknown dataset, split, option or option value, an unknown class
    name, a bad ``size`` or ``channels``, or ``n_per_class`` larger than the smallest of the
    chosen classes (all classes when ``classes`` is None) in ``split``.
    """
    src = source(name)
    validate_split(split)
    opts = src.options(options)
    valid = src.classes(opts)
    chosen = valid
    if classes is not None:
        if isinstance(classes, str):
            raise TypeError("classes must be a sequence of class names, not a string")
        chosen = tuple(str(c) for c in classes)
        unknown = [c for c in chosen if c not in valid]
        if unknown:
            raise ValueError(
                f"unknown class name(s) {unknown} for dataset {name!r}; "
                f"its classes are {list(valid)}"
            )
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"class names repeat in {list(chosen)}")
    if size is not None and (not is_int(size) or size < 1):
        raise ValueError(f"size must be a positive integer or None, got {size!r}")
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"channels must be 1, 3 or None, got {channels!r}")
    if n_per_class is None:
        return
    if not is_int(n_per_class) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer or None, got {n_per_class!r}")
    counts = src.class_counts(split, opts)
    if counts is None:
        return
    by_class = dict(zip(valid, counts, strict=True))
    smallest = min(chosen, key=lambda c: by_class[c])
    if by_class[smallest] < n_per_class:
        raise ValueError(
            f"asked for {n_per_class} examples per class but class {smallest!r} of {name} "
            f"has only {by_class[smallest]} in the {split} split"
        )


def drop_locations(d: dict[str, Any]) -> None:
    """Leave out of ``d`` (a spec's dict) the data options that only say where the files are
    (:attr:`~tlkit.data.source.DatasetSource.location`; a run's identity,
    :meth:`tlkit.spec.RunSpec.identity`), in it and in its sources."""
    data = d.get("data", {})
    src = SOURCES.get(data.get("name"))
    if src is not None and src.location:
        data["options"] = [pair for pair in data.get("options", [])
                           if pair[0] not in src.location]
    inner = d.get("transfer", {}).get("source")
    if isinstance(inner, dict):
        drop_locations(inner)
