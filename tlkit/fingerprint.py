"""A fingerprint of the code that computes results, so that stale records are never reused.

A run's key (:meth:`tlkit.spec.RunSpec.key`) hashes its spec *and* this fingerprint: when the
code that turns a spec into numbers changes, every key changes with it and the run cache holds
no record of the new computation, so nothing computed by older code reaches a figure.

The fingerprint hashes the syntax tree (:func:`ast.dump`) of every module in
:data:`COMPUTING_MODULES`, with docstrings removed: editing a comment, a docstring or the layout
of those files leaves it unchanged, editing a statement changes it. The modules are the ones a
run executes to produce its record: the datasets, the models, the transfer operations, the
trainer, the runner and the spec itself.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

__all__ = ["COMPUTING_MODULES", "code_fingerprint", "source_fingerprint"]

_PACKAGE = Path(__file__).resolve().parent

#: Files and folders (relative to the package) whose code computes a record.
COMPUTING_MODULES: tuple[str, ...] = (
    "spec.py", "runner.py", "train.py", "batched.py", "transfer.py", "methods", "models", "data",
)
#: Files inside those folders that only describe or print (no effect on a record).
_DESCRIPTIVE = frozenset({"data/table.py"})


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


def _files() -> list[Path]:
    out: list[Path] = []
    for entry in COMPUTING_MODULES:
        path = _PACKAGE / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        out += [f for f in files if f.relative_to(_PACKAGE).as_posix() not in _DESCRIPTIVE]
    return out


@functools.cache
def code_fingerprint() -> str:
    """16 hex digits identifying the computing code of this installation (see module doc)."""
    digest = hashlib.sha256()
    for path in _files():
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(source_fingerprint(path.read_text(encoding="utf-8")).encode())
    return digest.hexdigest()[:16]
