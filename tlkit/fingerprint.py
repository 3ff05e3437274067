"""Fingerprints of the code that computes results, so that stale records are never reused.

A run's key (:meth:`tlkit.spec.RunSpec.key`) hashes its spec *and* :func:`run_fingerprint`:
when the code that turns that spec into numbers changes, its key changes with it and the run
cache holds no record of the new computation, so nothing computed by older code reaches a
figure.

**Which code.** A run's code is the import closure of :data:`ROOT` (the runner) inside this
package, found by reading every ``import`` of every module (also those inside functions),
with one exception: *plug-ins*, the modules that register a dataset, an architecture or a
transfer method's regulariser, are part of a run's code only when the run (or one of its
sources) uses one of their entries. A change to digits' generator changes the keys of the
runs on digits and of no other; adding a dataset module or an architecture leaves every
existing key as it was. *Index* modules, which only list and re-export (a package's
``__init__`` and the dataset registry), are followed but not hashed, so that registering a new
plug-in does not touch them in a way that counts.

**How.** Each file enters as the SHA-256 of its syntax tree (:func:`ast.dump`) with docstrings
removed: editing a comment, a docstring or the layout of a file leaves its fingerprint
unchanged, editing a statement changes it.

:func:`code_fingerprint` is the same over every plug-in: the computing code of this
installation, which an exported archive and a grading package name.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "code_fingerprint", "run_fingerprint", "source_fingerprint", "closure",
           "plugins_of", "all_plugins"]

_PACKAGE = Path(__file__).resolve().parent
_NAME = "tlkit"

#: The module a run's computation starts from.
ROOT = "tlkit.runner"
#: Modules that only list and re-export; followed, not hashed.
_INDEX = frozenset({"tlkit.data.registry"})
#: Modules inside the closure that only describe or print (no effect on a record).
_DESCRIPTIVE = frozenset({"tlkit.data.table"})


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    getattr(body[0], "value", None), ast.Constant) and isinstance(
                    body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def source_fingerprint(source: str) -> str:
    """SHA-256 of a module's syntax tree without docstrings (comments never reach the tree)."""
    tree = _without_docstrings(ast.parse(source))
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()


def _path(module: str, package: Path) -> Path | None:
    """The file of ``module`` (``tlkit.a.b``) under ``package``, if it is one of its modules."""
    parts = module.split(".")[1:]
    base = package.joinpath(*parts)
    if base.with_suffix(".py").is_file() and parts:
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


@functools.cache
def _parsed(path: Path) -> tuple[str, tuple[str, ...]]:
    """A file's fingerprint and the package modules it imports (cached per process)."""
    text = path.read_text(encoding="utf-8")
    return source_fingerprint(text), tuple(sorted(_imports(ast.parse(text), path)))


def _module_of(path: Path) -> tuple[str, bool]:
    """The dotted name of the module at ``path`` and whether it is a package's ``__init__``."""
    package = path.parent
    parts = [path.stem] if path.stem != "__init__" else []
    while (package / "__init__.py").is_file() and package.name != _NAME:
        parts.insert(0, package.name)
        package = package.parent
    return ".".join([_NAME, *parts]), path.stem == "__init__"


def _imports(tree: ast.AST, path: Path) -> set[str]:
    name, is_package = _module_of(path)
    here = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == _NAME)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == _NAME:
                target = node.module
            else:
                continue
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)  # submodules, when they are
    return out


def closure(roots: Iterable[str], plugins: Iterable[str], skipped: Iterable[str],
            package: Path = _PACKAGE) -> list[tuple[str, Path]]:
    """The modules reached from ``roots`` by imports, never entering a module of ``skipped``
    unless it is in ``plugins``: ``(name, file)`` sorted by name, index modules included."""
    plugins, skipped = set(plugins), set(skipped) - set(plugins)
    seen: dict[str, Path] = {}
    todo = [*roots, *plugins]
    while todo:
        module = todo.pop()
        if module in seen or module in skipped:
            continue
        path = _path(module, package)
        if path is None:
            continue
        seen[module] = path
        todo.extend(_parsed(path)[1])
    return sorted(seen.items())


def _hash(modules: list[tuple[str, Path]], package: Path) -> str:
    digest = hashlib.sha256()
    for module, path in modules:
        if module == _NAME or module in _INDEX or module in _DESCRIPTIVE or (
                path.name == "__init__.py"):
            continue
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(_parsed(path)[0].encode())
    return digest.hexdigest()[:16]


def all_plugins() -> dict[str, frozenset[str]]:
    """The plug-in modules by kind: ``datasets``, ``architectures``, ``regularizers``."""
    from .data.registry import MODULES
    from .models import ARCHITECTURES
    from .regularizers import REGULARIZATIONS

    return {"datasets": frozenset(MODULES.values()),
            "architectures": frozenset(a.build.__module__ for a in ARCHITECTURES.values()),
            "regularizers": frozenset(r.module for r in REGULARIZATIONS.values())}


def plugins_of(spec: Any) -> frozenset[str]:
    """The plug-in modules a run uses: its and its sources' datasets, architecture and
    regulariser."""
    from .data.registry import MODULES
    from .models import ARCHITECTURES
    from .regularizers import regularization

    out = set()
    for s in [spec, *spec.sources()]:
        out.add(MODULES[s.data.name])
        out.add(ARCHITECTURES[s.model.arch].build.__module__)
        out.add(regularization(s.transfer.regularizer).module)
    return frozenset(out)


@functools.cache
def _fingerprint(plugins: frozenset[str], package: Path = _PACKAGE) -> str:
    skipped = frozenset().union(*all_plugins().values())
    return _hash(closure([ROOT], plugins, skipped, package), package)


def run_fingerprint(spec: Any, package: Path = _PACKAGE) -> str:
    """16 hex digits identifying the code that computes ``spec`` (see the module doc)."""
    return _fingerprint(plugins_of(spec), package)


def code_fingerprint() -> str:
    """16 hex digits identifying the computing code of this installation: every plug-in's."""
    return _fingerprint(frozenset().union(*all_plugins().values()))


def _clear() -> None:
    """Forget the parsed files and fingerprints (tests that edit a copy of the package)."""
    _parsed.cache_clear()
    _fingerprint.cache_clear()
