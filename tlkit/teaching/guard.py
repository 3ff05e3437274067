"""What grading trusts: an answer that calls the library's own solution, or that changes the
library or the grader, loses its question and is flagged.

Two checks, one outside the notebook's kernel and one inside it:

* :func:`scan` reads a submission's code before any of it runs, in the grader's own process
  (the Otter plugin :class:`tlkit.teaching.settings.EnforceSettings`), out of reach of anything
  the notebook does. It reports, for the question whose answer cells hold it, a use of a tlkit
  function that the exercise does not allow (:data:`MAY_CALL`), under whatever name it was
  imported, and the ways around naming one (a module reloaded, imported by a call made at run
  time, or looked up in ``sys.modules``); and, for every question, code that changes what
  grading relies on: an assignment to or deletion of an attribute of an imported module or of
  the grader (``tlkit.transfer.copy_layers = ...``, ``torch.equal = ...``, ``grader.check =
  ...``), code built while the notebook runs (``exec``, ``eval``, ``compile``, ``setattr``), or
  a reach into functions, frames and the interpreter (``__code__``, ``__globals__``,
  ``sys.setprofile``, ``os.environ``). The book's own cells, unchanged, are not read for these
  (they install packages and start Otter); a changed one is, and anything it does costs every
  question.
* :func:`watched` (and :func:`guarded`, for a function) runs a submitted function inside a
  test under a profiler that notes every call into tlkit's own source files outside the
  exercise's allowance, by file and name, so that an alias, a copy taken before grading or a
  reloaded module is caught as well; on exit it raises :class:`Flagged`.

The plugin then sets each flagged question to zero and writes the reasons in the results'
output, which ``tlkit grade`` shows as the gradebook's ``flagged`` status.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FLAG", "NOTE", "ALWAYS_ALLOWED", "MAY_CALL", "Flagged", "Finding", "allowed",
           "answer_cells", "book_cells", "scan", "parameter_notes", "watched", "guarded"]

#: The word that opens every reason a question was flagged, in tests' messages and the output.
FLAG = "FLAGGED"
#: The word that opens a note that costs nothing (a parameter the grader overrides).
NOTE = "NOTE"
#: What every answer may use from tlkit: the network classes it is handed.
ALWAYS_ALLOWED = ("tlkit.models",)
#: Per notebook and autograded question, what its answer may use from tlkit besides
#: :data:`ALWAYS_ALLOWED` (dotted names; a name allows everything under it). Everything else of
#: tlkit is the library's own solution of some exercise, or a way around writing one.
MAY_CALL: dict[str, dict[str, tuple[str, ...]]] = {
    "00_quickstart": {"q1_predict": (), "q2_copy_freeze": (),
                      "q3_l2sp": ("tlkit.transfer.penalised_weights",)},
    "01_layer_transfer": {"q1_predict": (), "q2_similarity": ()},
    "02_small_targets": {"q1_predict": (), "q2_paired_interval": ()},
}
#: Calls that build or run code while the notebook runs, or rebind what others rely on.
_CALLS = {"exec", "eval", "compile", "__import__", "setattr", "delattr", "globals", "vars",
          "reload"}
#: Attributes that reach into functions, frames or the interpreter.
_ATTRIBUTES = {"__code__", "__globals__", "__builtins__", "__closure__", "__defaults__",
               "__kwdefaults__", "__dict__", "__subclasses__", "f_globals", "f_locals", "f_back",
               "f_builtins", "tb_frame", "gi_frame"}
#: Modules whose import is itself a way around grading.
_MODULES = ("importlib", "imp", "ctypes", "gc", "builtins", "subprocess", "otter",
            "tlkit.teaching")
#: Names of the interpreter's machinery.
_SYS = ("sys.setprofile", "sys.settrace", "sys.modules", "sys.meta_path", "sys.path_hooks",
        "os.environ", "os.putenv", "os.unsetenv", "os.chdir")


class Flagged(AssertionError):
    """An answer called the library's own solution, or the notebook changed what grading uses."""

    def __init__(self, question: str, reason: str) -> None:
        self.question, self.reason = question, reason
        super().__init__(f"{FLAG}: {question}: {reason}")


@dataclass(frozen=True)
class Finding:
    """Something :func:`scan` found: which question it costs (``None``: every question, for a
    change to what grading relies on, or anything outside the answers), where (cell index and
    line, counted from 1; cell 0 for the submission as a whole) and why."""

    question: str | None
    cell: int
    line: int
    reason: str

    def __str__(self) -> str:
        where = self.question or "every question"
        place = f"cell {self.cell}, line {self.line}: " if self.cell else ""
        return f"{FLAG}: {where}: {place}{self.reason}"


def allowed(name: str, may_call: Sequence[str] = ()) -> bool:
    """Whether the tlkit function ``name`` (dotted) is allowed by ``may_call`` or
    :data:`ALWAYS_ALLOWED` (a name allows itself and everything under it)."""
    return any(name == a or name.startswith(a + ".") for a in (*ALWAYS_ALLOWED, *may_call))


def _check_name(cell: Any) -> str | None:
    text = cell.source.strip()
    if cell.cell_type == "code" and text.startswith("grader.check(") and text.endswith(")"):
        try:
            node = ast.parse(text).body[0].value  # type: ignore[attr-defined]
            return str(node.args[0].value)
        except (SyntaxError, AttributeError, IndexError):
            return None
    return None


def answer_cells(notebook: Any) -> dict[int, str]:
    """The code cells of a student notebook that answer a question: cell index -> question.
    A question's answer is every code cell between its prompt (the read-only Markdown cell
    before it) and its ``grader.check("<question>")`` cell, cells the student added included;
    the cells of the page before the exercises, and between a check and the next prompt, are
    no answer."""
    out: dict[int, str] = {}
    pending: list[int] = []
    inside = False  # after a prompt, before its check
    for i, cell in enumerate(notebook.cells):
        name = _check_name(cell)
        if name is not None:
            out.update({j: name for j in pending})
            pending, inside = [], False
        elif cell.cell_type == "markdown" and cell.get("metadata", {}).get("editable") is False:
            pending, inside = [], True  # a prompt (or another read-only cell) starts an answer
        elif cell.cell_type == "code" and inside:
            pending.append(i)
    return out


def _digest(source: str) -> str:
    return hashlib.sha256(source.strip().encode("utf-8")).hexdigest()


def book_cells(notebook: Any) -> list[str]:
    """Fingerprints of the code cells of a student notebook that are the book's (not answers):
    unchanged in a submission, they are not read for tampering."""
    answers = answer_cells(notebook)
    return sorted({_digest(c.source) for i, c in enumerate(notebook.cells)
                   if c.cell_type == "code" and i not in answers})


def _parse(source: str) -> ast.Module | None:
    lines = ["" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _imports(trees: Sequence[ast.Module | None]) -> dict[str, str]:
    """Local name -> the dotted name it was imported as, over every cell."""
    bound: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        bound[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _dotted(node: ast.AST, bound: Mapping[str, str]) -> str | None:
    """The dotted name an expression ``a.b.c`` stands for, when ``a`` was imported."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in bound:
        return ".".join([bound[node.id], *reversed(parts)])
    return None


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _library_uses(tree: ast.Module, bound: Mapping[str, str], may_call: Sequence[str]
                  ) -> Iterator[tuple[int, str]]:
    tops = {id(child) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            for child in (node.value,)}  # an expression that is the base of a longer one
    def above(name: str) -> bool:  # a module that holds something allowed: its uses are read
        return any(a.startswith(name + ".") for a in (*ALWAYS_ALLOWED, *may_call))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tlkit"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                if not allowed(name, may_call) and not above(name):
                    yield node.lineno, f"uses {name}, the library's own code"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                if name.startswith("tlkit") and not allowed(name, may_call) and not above(name):
                    yield node.lineno, f"imports {name}, the library's own code"
        elif (isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load)
              and id(node) not in tops):  # the longest chain, reported once
            name = _dotted(node, bound)
            if (name and name.startswith("tlkit.") and not allowed(name, may_call)
                    and not above(name)):
                yield node.lineno, f"uses {name}, the library's own code"


def _tampering(tree: ast.Module, bound: Mapping[str, str]) -> Iterator[tuple[int, str, bool]]:
    """(line, why, whether it concerns every question): a change to what grading relies on
    concerns them all; a way around writing the answer (a reload, an import made at run time, a
    module looked up by name) concerns the question it answers."""
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        for target in targets:
            root = _root(target)
            if isinstance(target, ast.Attribute | ast.Subscript) and root is not None and (
                    root in bound or root in ("grader", "otter")):
                yield node.lineno, (f"changes {ast.unparse(target)}, part of an imported module "
                                    "or of the grader"), True
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            if name in _CALLS:
                yield (node.lineno, f"calls {name}(), which builds code or rebinds names at run "
                       "time", name not in ("reload", "__import__"))
        if isinstance(node, ast.Attribute) and node.attr in _ATTRIBUTES:
            yield node.lineno, f"reaches into {node.attr}", True
        if isinstance(node, ast.Attribute | ast.Name):
            dotted = _dotted(node, bound)
            if dotted and any(dotted == s or dotted.startswith(s + ".") for s in _SYS):
                yield (node.lineno, f"uses {dotted}, the interpreter's machinery",
                       not dotted.startswith("sys.modules"))
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""])
            for name in names:
                if any(name == m or name.startswith(m + ".") for m in _MODULES):
                    yield node.lineno, f"imports {name}", name.split(".")[0] != "importlib"


def scan(notebook: Any, questions: Mapping[str, Sequence[str]],
         book: Sequence[str] = ()) -> list[Finding]:
    """What a submission does that grading must not trust, before it runs.

    Args:
        notebook: The submission (an ``nbformat`` notebook, as handed out and filled in).
        questions: The autograded questions and what each answer may use from tlkit
            (:data:`MAY_CALL` of the notebook).
        book: Fingerprints of the book's own cells (:func:`book_cells`); such a cell, unchanged,
            is not read for tampering.
    """
    answers = answer_cells(notebook)
    cells = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    trees = {i: _parse(c.source) for i, c in cells}
    bound = _imports(list(trees.values()))
    known = set(book)
    found: list[Finding] = []
    for i, cell in cells:
        tree = trees[i]
        if tree is None:
            continue
        question = answers.get(i)
        if question is not None and question in questions:
            found += [Finding(question, i, line, why)
                      for line, why in _library_uses(tree, bound, questions[question])]
        if question is not None or _digest(cell.source) not in known:
            found += [Finding(None if everywhere else question, i, line, why)
                      for line, why, everywhere in _tampering(tree, bound)]
    unique = {(f.question, f.cell, f.line, f.reason): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.cell, f.line, f.reason))


def parameter_notes(notebook: Any, parameters: Mapping[str, str]) -> list[str]:
    """A line for each assignment, outside the parameters cell, to a parameter the assignment
    fixes (``parameters``: name -> the value graded with, as Python source): grading runs with
    the fixed value, so what the student set there is not what is graded. Costs nothing."""
    notes = []
    for i, cell in enumerate(notebook.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        tree = _parse(cell.source) if cell.cell_type == "code" else None
        if tree is None or "parameters" in tags:
            continue
        for node in tree.body:
            targets = (node.targets if isinstance(node, ast.Assign) else
                       [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
            for target in targets:
                if isinstance(target, ast.Name) and target.id in parameters:
                    notes.append(f"{NOTE}: cell {i}, line {node.lineno} sets {target.id}; "
                                 f"grading runs every submission with {target.id} = "
                                 f"{parameters[target.id]}, whatever a cell sets")
    return notes


_PACKAGE = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=4096)
def _library_module(filename: str) -> str | None:
    """The dotted module of a file of tlkit's source, else ``None`` (cached: the profiler asks
    for every call)."""
    try:
        path = Path(filename).resolve()
        relative = path.relative_to(_PACKAGE)
    except (ValueError, OSError):
        return None
    if path.suffix != ".py":
        return None
    return ".".join(("tlkit", *relative.with_suffix("").parts)).removesuffix(".__init__")


def _library_name(code: Any) -> str | None:
    """``tlkit.module.Qualified.name`` of a code object of tlkit's source, else ``None``."""
    module = _library_module(code.co_filename)
    if module is None:
        return None
    return f"{module}.{getattr(code, 'co_qualname', code.co_name)}"


@contextlib.contextmanager
def watched(notebook: str, question: str,
            may_call: Sequence[str] | None = None) -> Iterator[list[str]]:
    """Within the block, note every call into tlkit's source files that the answer to
    ``question`` of ``notebook`` may not make (:data:`MAY_CALL`, or ``may_call``): a call made
    by code outside tlkit (the answer, or a library it called) to a tlkit function not allowed;
    the calls tlkit's functions make in turn are theirs (an allowed function may use anything;
    a forbidden one is noted where the answer called it). Yields the list of names noted;
    on exit raises :class:`Flagged` when it is not empty (and the block raised nothing else)."""
    allowance = tuple(MAY_CALL.get(notebook, {}).get(question, ()) if may_call is None
                      else may_call)
    noted: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        name = _library_name(frame.f_code)
        if (name is None or allowed(name, allowance) or name.endswith("<module>")
                or name.startswith(__name__)):
            return
        caller = frame.f_back
        if caller is not None and _library_name(caller.f_code) is not None:
            return  # tlkit calling itself: allowed code's own business, or noted at its start
        if name not in noted:
            noted.append(name)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield noted
    finally:
        sys.setprofile(previous)
    if noted:
        raise Flagged(question, f"the answer calls {', '.join(noted)}, the library's own code, "
                                "which the exercise asks you to write yourself")


def guarded(function: Callable[..., Any], notebook: str, question: str) -> Callable[..., Any]:
    """``function`` (a submitted answer) with every call run under :func:`watched`: what a
    test calls instead of the answer itself, so that each of its calls is checked."""
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with watched(notebook, question):
            return function(*args, **kwargs)

    return call
