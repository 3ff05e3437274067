"""What grading trusts: the library's own solutions and tampering are caught before a submission
runs (the scan) and while its functions are tested (the profiler), and every exercise's
allowance is complete."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from tlkit.models import LayerCNN
from tlkit.teaching import guard
from tlkit.teaching.master import read_questions

REPO = Path(__file__).resolve().parents[2]
BOOK_CELL = "import numpy as np\nfrom tlkit.transfer import penalised_weights\n"


def _notebook(q1: str, q2: str, book: str = BOOK_CELL) -> nbformat.NotebookNode:
    """A student notebook as Otter makes it: a book cell, then for each question a read-only
    prompt, the answer and its check cell."""
    cells = [nbformat.v4.new_code_cell(book)]
    for name, answer in (("q1", q1), ("q2", q2)):
        prompt = nbformat.v4.new_markdown_cell(f"**Exercise {name}**")
        prompt.metadata.update(editable=False, deletable=False)
        cells += [prompt, nbformat.v4.new_code_cell(answer),
                  nbformat.v4.new_code_cell(f'grader.check("{name}")')]
    return nbformat.v4.new_notebook(cells=cells)


ALLOW = {"q1": (), "q2": ("tlkit.transfer.penalised_weights",)}
HONEST = "def f(model):\n    return [w for b in model.layers for _, w in penalised_weights(b)]\n"


def _found(nb: nbformat.NotebookNode, book: tuple[str, ...] | None = None) -> set[tuple]:
    book = guard.book_cells(_notebook("x = 1", "y = 2")) if book is None else book
    return {(f.question, f.reason.split(",")[0]) for f in guard.scan(nb, ALLOW, book)}


def test_answers_are_the_cells_between_a_prompt_and_its_check() -> None:
    nb = _notebook("x = 1", "y = 2")
    nb.cells.insert(2, nbformat.v4.new_code_cell("helper = 3"))  # a cell the student added
    assert guard.answer_cells(nb) == {2: "q1", 3: "q1", 6: "q2"}


def test_an_honest_answer_and_the_books_own_cells_are_not_flagged() -> None:
    assert _found(_notebook("gaps = {'a': 0.1}\nahead = max(gaps, key=gaps.get)", HONEST)) == set()


@pytest.mark.parametrize("answer, question, reason", [
    ("from tlkit.transfer import copy_layers as cp\ncp(1, 2, 3)", "q2",
     "uses tlkit.transfer.copy_layers"),
    ("import tlkit.transfer as t\nt.freeze_layers(1, 2)", "q2",
     "uses tlkit.transfer.freeze_layers"),
    ("import tlkit\ntlkit.regularizers.l2sp.L2SP(1, 2, 3, 4)", "q2",
     "uses tlkit.regularizers.l2sp.L2SP"),
    ("import importlib\nimport tlkit.transfer\nimportlib.reload(tlkit.transfer)", "q2",
     "imports importlib"),
    ("m = __import__('tlkit').transfer", "q2", "calls __import__()"),
    ("import sys\nm = sys.modules['tlkit.transfer']", "q2", "uses sys.modules['tlkit.transfer']"),
])
def test_the_librarys_own_solution_costs_its_question(answer: str, question: str,
                                                       reason: str) -> None:
    found = _found(_notebook("x = 1", HONEST + answer))
    assert (question, reason) in found or any(
        q == question and r.startswith(reason.split("[")[0]) for q, r in found), found
    assert not any(q == "q1" for q, _ in found), "the other question keeps its points"


@pytest.mark.parametrize("answer, reason", [
    ("import torch\ntorch.equal = lambda a, b: True", "changes torch.equal"),
    ("grader.check = print", "changes grader.check"),
    ("import tlkit.teaching.reference as r\nr.table = None", "imports tlkit.teaching.reference"),
    ("exec('x = 1')", "calls exec()"),
    ("setattr(np, 'allclose', lambda *a: True)", "calls setattr()"),
    ("f = lambda: 0\nf.__code__ = (lambda: 1).__code__", "reaches into __code__"),
    ("import sys\nsys.setprofile(None)", "uses sys.setprofile"),
    ("import os\nos.environ['TLKIT_RESULTS'] = '/tmp'", "uses os.environ"),
])
def test_a_change_to_what_grading_relies_on_costs_every_question(answer: str,
                                                                  reason: str) -> None:
    found = _found(_notebook(answer, HONEST))
    assert (None, reason) in found, found


def test_a_changed_book_cell_is_read_and_an_unchanged_one_is_not() -> None:
    book = guard.book_cells(_notebook("x = 1", "y = 2"))
    assert _found(_notebook("x = 1", HONEST), book) == set()
    changed = BOOK_CELL + "import subprocess\nnp.mean = len\n"
    found = _found(_notebook("x = 1", HONEST, book=changed), book)
    assert {(None, "imports subprocess"), (None, "changes np.mean")} <= found


def _honest_copy(source, target, n):
    for i, block in enumerate(target.layers):
        if i < n:
            block.load_state_dict(source.layers[i].state_dict())
        block.requires_grad_(i >= n)


def test_the_profiler_catches_the_library_under_any_name() -> None:
    import tlkit.transfer as transfer

    source, target = LayerCNN(10, input_size=16, width=4), LayerCNN(10, input_size=16, width=4)
    kept = [transfer.copy_layers, transfer.freeze_layers]  # taken before grading
    cheats = {
        "an alias": lambda s, t, n: (kept[0](s, t, n), kept[1](t, n)),
        "a reloaded module": lambda s, t, n: (importlib.reload(transfer).copy_layers(s, t, n)),
    }
    for how, cheat in cheats.items():
        with pytest.raises(guard.Flagged, match="tlkit.transfer.copy_layers"):
            guard.guarded(cheat, "00_quickstart", "q2_copy_freeze")(source, target, 3)
        assert how
    guard.guarded(_honest_copy, "00_quickstart", "q2_copy_freeze")(source, target, 3)
    weights = guard.guarded(
        lambda m: [w for b in m.layers for _, w in transfer.penalised_weights(b)],
        "00_quickstart", "q3_l2sp")(target)
    assert weights, "an allowed function may call the library's helpers in turn"


def _solution(stem: str, name: str):
    """The book's solution of the function ``name`` in notebook ``stem``, defined afresh."""
    nb = json.loads((REPO / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    source = next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
                  and f"def {name}(" in "".join(c["source"])
                  and "remove-input" in c.get("metadata", {}).get("tags", []))
    setup = "\n".join(line for c in nb["cells"] if c["cell_type"] == "code"
                      and not c.get("metadata", {}).get("tags")
                      for line in "".join(c["source"]).splitlines()
                      if line.startswith(("import ", "from ")))
    space: dict = {}
    exec(compile(setup + "\n" + source, f"<{stem}>", "exec"), space)  # noqa: S102
    return space[name]


def _nets():
    torch.manual_seed(0)
    return LayerCNN(10, input_size=16, width=4), LayerCNN(10, input_size=16, width=4)


def _l2sp_args():
    source, model = _nets()
    return model, source.state_dict(), 3, 0.1, 0.01


_X = (np.eye(4), np.array([0, 0, 1, 1]), np.eye(4) + 1, np.array([0, 1, 1, 1]))
_AB = (np.array([0.3, 0.5, 0.4]), np.array([0.1, 0.2, 0.4]))


def _library(dotted: str):
    module, attribute = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), attribute)


# every function exercise: a call of the book's solution, and the library's own answers to it,
# each called as an answer would call it
FUNCTIONS = {
    ("00_quickstart", "q2_copy_freeze", "copy_and_freeze"): (
        lambda f: f(*_nets(), 3), {
            "tlkit.transfer.copy_layers": lambda g: g(*_nets(), 3),
            "tlkit.transfer.freeze_layers": lambda g: g(_nets()[1], 3),
            "tlkit.transfer.load_layers": lambda g: g(_nets()[1], _nets()[0].state_dict(), 3)}),
    ("00_quickstart", "q3_l2sp", "l2sp_penalty"): (
        lambda f: f(*_l2sp_args()), {
            "tlkit.regularizers.l2sp.L2SP": lambda g: g(_l2sp_args()[0], 3, 0.1, 0.01)(),
            "tlkit.transfer.l2_penalty": lambda g: g(list(_nets()[0].parameters()), 0.1)}),
    ("01_layer_transfer", "q2_similarity", "domain_similarity"): (
        lambda f: f(*_X), {
            "tlkit.measures.domain_similarity": lambda g: g(*_X),
            "tlkit.measures.class_mean_emd": lambda g: g(*_X)}),
    ("02_small_targets", "q2_paired_interval", "paired_interval"): (
        lambda f: f(*_AB), {
            "tlkit.stats.paired_difference": lambda g: g(*_AB),
            "tlkit.stats.mean_ci": lambda g: g(_AB[0] - _AB[1])}),
}


def test_every_autograded_question_has_an_allowance() -> None:
    for stem, allowances in guard.MAY_CALL.items():
        asked = {q.name for q in read_questions(REPO / "notebooks" / f"{stem}.ipynb")
                 if not q.manual}
        assert set(allowances) == asked, stem


@pytest.mark.parametrize("key", list(FUNCTIONS), ids=lambda k: f"{k[0]}-{k[1]}")
def test_the_books_solution_passes_and_the_librarys_own_answers_are_caught(key) -> None:
    stem, question, name = key
    call, library = FUNCTIONS[key]
    with guard.watched(stem, question) as noted:
        call(_solution(stem, name))
    assert noted == [], "the book's own solution uses only what its exercise allows"
    for dotted, use in library.items():
        assert not guard.allowed(dotted, guard.MAY_CALL[stem][question]), dotted
        with pytest.raises(guard.Flagged, match=dotted.rsplit(".", 1)[1]):
            with guard.watched(stem, question):
                use(_library(dotted))


def test_a_parameter_set_outside_its_cell_is_noted_not_flagged() -> None:
    nb = _notebook('profile = "smoke"\nx = 1', HONEST)
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.cells[0].source = 'profile = "quick"\n'
    notes = guard.parameter_notes(nb, {"profile": '"quick"', "seeds": "None"})
    assert notes == ['NOTE: cell 2, line 1 sets profile; grading runs every submission with '
                     'profile = "quick", whatever a cell sets']
    assert guard.scan(nb, ALLOW) == [], "setting a parameter costs nothing"
