"""What a sweep needs from the machine, checked before its first run trains.

:func:`check` looks at every run a sweep is about to train (and their sources) at once and
collects every problem before raising, so a user fixes them in one go rather than one per
attempt:

* the results folder takes new records (:meth:`tlkit.store.Store.check_writable`, a real
  write) and its disk has room for the records and checkpoints the sweep will write
  (:func:`tlkit.space.space_problem`);
* the files of every real dataset (both splits) are on disk, downloaded first where that is
  allowed (not under ``$TLKIT_OFFLINE``), and match their published md5 (a file that passed is
  not hashed again in the same process, so training reads it without a second check);
* every pretrained checkpoint is available (:func:`tlkit.models.prepare_weights`: the shipped
  EfficientNet-Lite0 package, torchvision's cache, a download where allowed).

A problem of any kind is one line of :class:`PreflightError`, which names the file or folder
and says what to do. Nothing has trained when it is raised.

``tlkit notebook`` and ``tlkit book`` run the same checks before any kernel starts
(:func:`tlkit.notebooks.check_notebooks`), for every notebook of the build at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .spec import RunSpec

__all__ = ["PreflightError", "problems", "check", "DATASET_HINT"]


class PreflightError(RuntimeError):
    """Raised before any training; ``problems`` holds one message per problem found."""

    def __init__(self, problems: Sequence[str], hints: Sequence[str] = ()) -> None:
        self.problems, self.hints = list(problems), list(hints)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            listed = "\n".join(f"  {i}. {p}" for i, p in enumerate(self.problems, start=1))
            message = (f"{len(self.problems)} problems, found before any training:\n"
                       f"{listed}")
        super().__init__("\n".join([message, *self.hints]))


#: How to get a dataset that is not on disk, said once however many are missing.
DATASET_HINT = ("To get a dataset: run once with network access "
                "(tlkit.data.load(NAME, download=True)), copy its files into the folder named, "
                "or point TLKIT_DATA at a folder that holds them; `tlkit datasets` lists where "
                "each one is looked for.")


def _with_sources(specs: Iterable[RunSpec]) -> list[RunSpec]:
    out: dict[str, RunSpec] = {}
    for spec in specs:
        for s in (spec, *spec.sources()):
            out.setdefault(s.key(), s)
    return list(out.values())


def _dataset_problems(name: str, verify: bool) -> list[str]:
    from .data import DatasetIntegrityError, DatasetUnavailableError, availability, data_root
    from .data.real import REAL_DATASETS, checksums_on, ensure, offline

    if availability(name) == "embedded":
        return []
    dataset, root = REAL_DATASETS[name], data_root()
    absent = [split for split in ("train", "test") if not dataset.present(root, split)]
    found: list[str] = []
    if absent and offline():  # one line for the absent splits, not one per split
        files = [*dict.fromkeys(f for split in absent for f in dataset.missing(root, split))]
        found.append(f"dataset {name!r} ({' and '.join(absent)} split{'s' * (len(absent) > 1)})"
                     f" is not in {dataset.folder(root)} (missing: {', '.join(files)})"
                     " and downloads are off (TLKIT_OFFLINE is set)")
    for split in ("train", "test"):
        if split in absent and offline():
            continue
        try:
            ensure(dataset, root, split, download=None)
            if verify and checksums_on():
                dataset.verify(root, split)
        except (DatasetUnavailableError, DatasetIntegrityError) as exc:
            found.append(str(exc))
        except OSError as exc:  # unreadable file or folder
            found.append(f"dataset {name!r} ({split} split) cannot be read in "
                         f"{dataset.folder(root)}: {exc}")
    return found


def _folder_problems(specs: Sequence[RunSpec]) -> list[str]:
    """An image folder that is not there, cannot be read or no longer holds the content its
    runs were planned on (:mod:`tlkit.data.folder`), once per folder."""
    from .data.folder import FolderError, scan

    found: list[str] = []
    seen = {(s.data.option_dict.get("path"), s.data.option_dict.get("content"))
            for s in specs if s.data.name == "folder"}
    for path, content in sorted(seen, key=str):
        try:
            now = scan(path, min_per_class=1).digest
        except FolderError as exc:
            found.append(str(exc))
            continue
        if now != content:
            found.append(f"the folder {path} changed since its runs were planned (content "
                         f"{content} now {now}): run the report again")
    return found


def problems(specs: Sequence[RunSpec], store: Any | None = None,
             checkpoints: Sequence[RunSpec] = ()) -> list[str]:
    """Every problem that would stop ``specs`` (and their sources) from training and being
    stored in ``store`` (``None``: do not check a results folder), with the checkpoints of
    ``checkpoints``; downloads what it may."""
    from .models import WeightsUnavailableError, prepare_weights

    found: list[str] = []
    if store is not None:
        from .space import bytes_needed, space_problem
        from .store import CacheNotWritableError

        try:
            store.check_writable()
        except CacheNotWritableError as exc:
            found.append(str(exc))
        else:
            full = space_problem(store.root, bytes_needed(specs, checkpoints), len(specs))
            if full is not None:
                found.append(full)
    every = _with_sources(specs)
    datasets: dict[str, bool] = {}
    for spec in every:
        verify = bool(spec.data.option_dict.get("verify", True))
        datasets[spec.data.name] = datasets.get(spec.data.name, False) or verify
    for name, verify in datasets.items():
        found += [] if name == "folder" else _dataset_problems(name, verify)
    found += _folder_problems(every)
    weights = {(s.model.arch, s.model.weights) for s in every if s.model.weights is not None}
    for arch, name in sorted(weights):
        try:
            prepare_weights(arch, name)
        except (WeightsUnavailableError, ValueError) as exc:
            found.append(str(exc))
    return found


def check(specs: Sequence[RunSpec], store: Any | None = None,
          checkpoints: Sequence[RunSpec] = ()) -> None:
    """Raise :class:`PreflightError` listing :func:`problems` when there is any."""
    found = problems(specs, store, checkpoints)
    if found:
        unavailable = _unavailable_datasets(specs)
        raise PreflightError(found, [DATASET_HINT] if unavailable else [])


def _unavailable_datasets(specs: Sequence[RunSpec]) -> list[str]:
    """The real datasets of ``specs`` with a split whose files are not on disk."""
    from .data import availability

    names = dict.fromkeys(s.data.name for s in _with_sources(specs))
    return [n for n in names if n != "folder" and availability(n) == "needs download"]
