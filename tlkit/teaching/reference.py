"""What hidden tests compare a submission with: tables rebuilt from the run cache, and the
library's own solutions made uncallable while a student's function runs.

A test that recomputes the expected answer from the student's table ``df`` can be fooled by a
submission that overwrites ``df``; :func:`table` rebuilds the table from the records on disk (the
grading run's records, shipped in the grading package), with the parameters the assignment is
graded with (:mod:`tlkit.teaching.settings`), never from the notebook's variables. Outside
grading (the book's build runs the same tests) there are no settings, and the notebook's own
parameters are used.

An exercise that asks students to write a function the library already has can be answered by
calling the library; :func:`forbidden` makes such functions raise :class:`ForbiddenCallError`
for as long as it is active, whatever name the submission imported them under.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["ForbiddenCallError", "MissingRunError", "forbidden", "specs", "records",
           "parameters", "table"]


class ForbiddenCallError(RuntimeError):
    """A submission called the library's own solution of the exercise it answers."""


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
    """The table ``name`` of ``notebook`` rebuilt from the run cache.

    The parameters are the assignment's (``tlkit-assignment.json`` in the working folder, as
    when a submission is graded); only where there is none are ``params`` (the notebook's own)
    used.

    Raises:
        ValueError: no such table, or no parameters at all.
        MissingRunError: a run of the table is not in the cache.
    """
    try:
        build = _tables()[notebook, name]
    except KeyError:
        raise ValueError(f"no reference table {name!r} for notebook {notebook!r}") from None
    return build(parameters(params))


def _raiser(qualname: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        raise ForbiddenCallError(
            f"the answer calls {qualname}, the library's own solution of this exercise; "
            f"write it without it")

    return call


@contextlib.contextmanager
def forbidden(*objects: Any) -> Iterator[None]:
    """Within the block, calling any of ``objects`` (functions or classes) raises
    :class:`ForbiddenCallError`, through every name and alias bound to them.

    A function's code object is swapped (so ``from tlkit.x import f as g`` is caught too); a
    class's ``__init__`` and ``__call__`` are replaced. Everything is restored on exit.
    """
    undo: list[Callable[[], None]] = []
    try:
        for obj in objects:
            name = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"
            if isinstance(obj, types.FunctionType):
                if obj.__code__.co_freevars:
                    raise TypeError(f"cannot forbid {name}: it is a closure")
                saved = (obj.__code__, obj.__defaults__, obj.__kwdefaults__)
                obj.__code__, obj.__defaults__, obj.__kwdefaults__ = (_code_raising(name),
                                                                      None, None)
                undo.append(lambda obj=obj, saved=saved: _restore(obj, saved))
            elif isinstance(obj, type):
                for attribute in ("__init__", "__call__"):
                    had = attribute in vars(obj)
                    old = vars(obj).get(attribute)
                    setattr(obj, attribute, _raiser(name))
                    undo.append(lambda obj=obj, a=attribute, had=had, old=old:
                                setattr(obj, a, old) if had else delattr(obj, a))
            else:
                raise TypeError(f"cannot forbid {obj!r}: not a function or a class")
        yield
    finally:
        for step in reversed(undo):
            step()


def _code_raising(qualname: str) -> types.CodeType:
    """A code object without free variables that raises :class:`ForbiddenCallError`."""
    message = (f"the answer calls {qualname}, the library's own solution of this exercise; "
               f"write it without it")
    # the code runs with the globals of the function it replaces: reach the error class by import
    source = ("def call(*args, **kwargs):\n"
              "    raise __import__('tlkit.teaching.reference', fromlist=['_']"
              f").ForbiddenCallError({message!r})\n")
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    return namespace["call"].__code__


def _restore(obj: types.FunctionType, saved: tuple[Any, Any, Any]) -> None:
    obj.__code__, obj.__defaults__, obj.__kwdefaults__ = saved
