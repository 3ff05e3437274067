"""What hidden tests compare a submission with: tables rebuilt from the run cache, in an
interpreter of their own.

A test that recomputes the expected answer from the student's table ``df`` can be fooled by a
submission that overwrites ``df``; :func:`table` rebuilds the table from the records on disk (the
grading run's records, shipped in the grading package), with the parameters the assignment is
graded with (:mod:`tlkit.teaching.settings`), never from the notebook's variables. It does so
in a fresh Python process (``python -m tlkit.teaching.reference``), so that nothing the
submission changed in the notebook's interpreter (a patched function of tlkit, pandas or
torch) enters the expected answer. Outside grading (the book's build runs the same tests)
there are no settings, and the notebook's own parameters are used.

An answer that calls the library's own solution of its exercise is caught by
:mod:`tlkit.teaching.guard`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["MissingRunError", "specs", "records", "stage_runs", "parameters", "table"]

#: Set in the fresh interpreter that :func:`table` starts: build the table there.
_CHILD = "TLKIT_REFERENCE_CHILD"
#: Exit status of the fresh interpreter for a run missing from the cache.
_MISSING = 3


class MissingRunError(LookupError):
    """A run of the grading run is not in the run cache."""


def specs(notebook: str, params: Mapping[str, Any], stage: str | None = None, *,
          pinned_only: bool = True) -> list[Any]:
    """Every run the notebook ``notebook`` (a file stem) executes with ``params`` (of one
    ``stage``, or of every pinned stage, or with ``pinned_only=False`` of every stage whose
    runs are known in advance, such as the checks of a page's preconditions), on the compute
    that ``params["device"]`` resolves to, as its sweep does."""
    from ..experiments import experiment
    from ..sweep import placed

    declared = experiment(notebook)
    if not declared.tables:
        raise ValueError(f"no reference runs are defined for notebook {notebook!r}")
    if stage is None:
        found = declared.listing(params, pinned_only=pinned_only)
    else:
        listing = declared.stage(stage).listing
        if listing is None:
            raise ValueError(f"the runs of stage {stage!r} of {notebook} are not known in "
                             "advance")
        found = listing(declared.check(params))
    return placed(found, params.get("device", "auto"))


def records(notebook: str, params: Mapping[str, Any], store: Any | None = None, *,
            sources: bool = False, stage: str | None = None,
            pinned_only: bool = True) -> list[Any]:
    """The stored records of :func:`specs` (with their sources' where ``sources``), in order;
    a run noted as diverged (:meth:`~tlkit.store.Store.diverged`) has no record and is not
    missing: its divergence is its result.

    Raises:
        MissingRunError: a run is not in the cache (sources are skipped where missing).
    """
    from ..store import Store

    store = store if store is not None else Store()
    wanted = specs(notebook, params, stage, pinned_only=pinned_only)
    out, missing = [], 0
    for spec in wanted:
        record = store.get(spec)
        if record is None:
            missing += store.diverged(spec) is None
        else:
            out.append(record)
    if missing:
        raise MissingRunError(f"{missing} of the {len(wanted)} runs of {notebook} are not in the "
                              f"run cache {store.root}")
    if sources:
        have = {r.key for r in out}
        extra = {src.key(): src for spec in wanted for src in spec.sources()
                 if src.key() not in have}
        out += [r for r in (store.get(s) for s in extra.values()) if r is not None]
    return out


def stage_runs(notebook: str, params: Mapping[str, Any], store: Any | None = None
               ) -> dict[str, tuple[list[Any], list[Any]]]:
    """The runs of every stage of the notebook ``notebook`` as its page makes them: each stage's
    specs from the records of the stages before it (what a search chose, not the listing's
    stand-ins), on the compute that ``params["device"]`` resolves to. Returns ``{stage: (its
    specs, their stored records)}``; a run noted as diverged has no record and is not missing.
    For a page whose later runs follow from earlier results, whose listing cannot name them.

    Raises:
        MissingRunError: a run is not in the cache.
    """
    from ..experiments import experiment
    from ..store import Store
    from ..sweep import placed

    store = store if store is not None else Store()
    declared = experiment(notebook)
    checked = declared.check(params)
    done: dict[str, list[Any]] = {}
    out: dict[str, tuple[list[Any], list[Any]]] = {}
    for stage in declared.stages:
        wanted = placed(stage.specs(checked, done), params.get("device", "auto"))
        found = [r for r in (store.get(spec) for spec in wanted) if r is not None]
        have = {r.key for r in found}
        missing = [s for s in wanted if s.key() not in have and store.diverged(s) is None]
        if missing:
            raise MissingRunError(f"{len(missing)} of the {len(wanted)} runs of stage "
                                  f"{stage.name!r} of {notebook} are not in the run cache "
                                  f"{store.root}")
        done[stage.name] = found
        out[stage.name] = (wanted, found)
    return out


def _table(notebook: str, name: str) -> Callable[[Mapping[str, Any]], Any]:
    def build(params: Mapping[str, Any]) -> Any:
        from ..experiments import experiment

        declared = experiment(notebook)
        done = {s.name: records(notebook, params, stage=s.name) for s in declared.stages
                if s.listing is not None and s.pinned}
        return declared.tables[name](declared.check(params), done)

    return build


def _tables() -> dict[tuple[str, str], Callable[[Mapping[str, Any]], Any]]:
    from ..experiments import EXPERIMENTS

    return {(notebook, name): _table(notebook, name)
            for notebook, declared in EXPERIMENTS.items() for name in declared.tables}


def parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The assignment's parameters (``tlkit-assignment.json`` in the working folder, as when a
    submission is graded), else ``params`` (the notebook's own, as in the book's build).

    Raises:
        ValueError: neither exists.
    """
    from .settings import read_settings

    settings = read_settings()
    if settings is not None:
        return settings.values()
    if params is None:
        raise ValueError("no assignment settings here and no parameters given")
    return dict(params)


def table(notebook: str, name: str, params: Mapping[str, Any] | None = None) -> Any:
    """The table ``name`` of ``notebook`` rebuilt from the run cache, in a fresh interpreter.

    The parameters are the assignment's (``tlkit-assignment.json`` in the working folder, as
    when a submission is graded); only where there is none are ``params`` (the notebook's own)
    used.

    Raises:
        ValueError: no such table, or no parameters at all.
        MissingRunError: a run of the table is not in the cache.
    """
    import pandas as pd

    tables = _tables()
    if (notebook, name) not in tables:
        raise ValueError(f"no reference table {name!r} for notebook {notebook!r}")
    values = parameters(params)
    if os.environ.get(_CHILD) == "1":
        return tables[notebook, name](values)
    with tempfile.TemporaryDirectory(prefix="tlkit-reference-") as tmp:
        out = Path(tmp) / "table.pkl"
        done = subprocess.run(
            [sys.executable, "-m", "tlkit.teaching.reference", notebook, name, repr(values),
             str(out)], capture_output=True, text=True, check=False,
            env={**os.environ, _CHILD: "1"})
        said = [line for line in done.stderr.splitlines() if line.strip()]
        if done.returncode == _MISSING:
            raise MissingRunError(said[-1] if said else "a run is not in the run cache")
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"rebuilding the table {name!r} of {notebook} failed: "
                               f"{said[-1] if said else done.returncode}")
        return pd.read_pickle(out)


def _main(argv: list[str]) -> int:
    """``python -m tlkit.teaching.reference NOTEBOOK NAME PARAMETERS OUT``: write the table,
    pickled, to ``OUT`` (``PARAMETERS`` as a Python literal)."""
    import ast

    notebook, name, values, out = argv
    try:
        built = _tables()[notebook, name](ast.literal_eval(values))
    except MissingRunError as exc:
        print(exc, file=sys.stderr)
        return _MISSING
    built.to_pickle(out)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
