"""The package's shape: no import cycles between its modules, and small modules.

A module imports another when it names it in any ``import`` statement, at the top or inside a
function (a function-level import hides a cycle, it does not remove it); imports under
``if TYPE_CHECKING:`` do not count. A package's ``__init__`` that re-exports its own modules is
not part of a cycle with them.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tlkit"
#: Modules longer than this say why in their first docstring ("long because ...").
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    return skip


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    # a package importing its own submodules (re-exports) is not a dependency of them on it
    for name, deps in graph.items():
        if modules[name].name == "__init__.py":
            graph[name] = {d for d in deps if not d.startswith(name + ".")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    assert "tlkit.record" in graph and graph["tlkit.record"] <= {"tlkit.spec"}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_modules_are_small_or_say_why():
    long = []
    for name, path in _modules().items():
        lines = path.read_text(encoding="utf-8").count("\n")
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if lines > MAX_LINES and "long because" not in doc.lower():
            long.append(f"{name} ({lines} lines)")
    assert not long, long


def test_teaching_tools_sit_apart_from_the_research_core():
    graph = _graph()
    core = [n for n in graph if not n.startswith(("tlkit.teaching", "tlkit.cli"))]
    assert not [n for n in core if any(d.startswith("tlkit.teaching") for d in graph[n])]


def test_import_tlkit_reaches_every_public_submodule_in_a_fresh_interpreter():
    import subprocess
    import sys

    code = ("import sys, types, tlkit\n"
            "assert 'matplotlib' not in sys.modules, 'import tlkit stays light'\n"
            "assert callable(tlkit.data.load) and callable(tlkit.sweep.run)\n"
            "for name in tlkit.SUBMODULES:\n"
            "    assert isinstance(getattr(tlkit, name), types.ModuleType), name\n"
            "try:\n"
            "    tlkit.no_such_module\n"
            "except AttributeError:\n"
            "    pass\n"
            "else:\n"
            "    raise SystemExit('a missing attribute must raise AttributeError')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    import tlkit

    for name in tlkit.SUBMODULES:
        assert (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir(), name


def test_no_run_cache_or_checkpoint_is_committed():
    """Records, locks and checkpoints are made by running, never part of the repository."""
    import shutil
    import subprocess

    import pytest

    root = Path(__file__).resolve().parents[2]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    made = [f for f in tracked if f.endswith((".lock", ".pt", ".pth", ".ckpt"))
            or any(part in ("runs", "locks", "checkpoints", "computed")
                   for part in Path(f).parts[:-1])]
    assert made == []


def test_specs_are_made_without_a_network_library():
    """spec.py and what it imports at its top (checks, config, regularizer registry) name no
    torch: specs are made and checked without it."""
    graph, modules = _graph(), _modules()
    reach, todo = set(), ["tlkit.spec"]
    while todo:
        name = todo.pop()
        if name in reach:
            continue
        reach.add(name)
        tree = ast.parse(modules[name].read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        assert not any("torch" in ast.unparse(n) for n in top), f"{name} imports torch"
        todo += [d for d in graph[name] if d in {"tlkit.checks", "tlkit.config"}
                 or d.startswith("tlkit.regularizers")]
    assert {"tlkit.checks", "tlkit.config", "tlkit.regularizers"} <= reach


def test_no_module_holds_a_control_character():
    """A docstring written ``"\\bar"`` without ``r`` holds a backspace, not LaTeX."""
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        bad = [c for c in set(text) if ord(c) < 32 and c not in "\n"]
        assert not bad, f"{name} holds {bad!r}"
