"""The notebooks: clean in git, registered, and their parameters checked before they run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from tlkit import experiments
from tlkit.notebooks import (
    NotebookNotFoundError,
    Parameter,
    check_parameters,
    convert_value,
    execute,
    find_notebook,
    read_parameters,
    resolve_parameters,
    short_name,
)

REPO = Path(__file__).resolve().parents[2]

PARAMETERS = """\
profile = "quick"  # smoke | quick | full
seeds = 3  # number of seeds
lr = 0.1
pretrained = True
sizes = [5, 20]
device = None
source = "glyphs"
"""


def tracked_notebooks() -> list[Path]:
    """The notebooks under notebooks/ that git tracks; every one on disk outside git."""
    try:
        listed = subprocess.run(["git", "ls-files", "notebooks/*.ipynb"], cwd=REPO, check=True,
                                capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = []
    if listed:
        return [REPO / name for name in listed]
    return sorted((REPO / "notebooks").glob("*.ipynb"))


def make_notebook(path: Path, parameters: str | None = PARAMETERS,
                  cells: tuple[str, ...] = ("print(profile)",)) -> Path:
    """Write a small Python notebook with a ``parameters`` cell followed by ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    nb.cells.append(nbformat.v4.new_markdown_cell("# A notebook"))
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return make_notebook(tmp_path / "notebooks" / "07_sample.ipynb")


# --- the tracked notebooks ------------------------------------------------------------------

@pytest.mark.parametrize("path", tracked_notebooks(), ids=lambda p: p.stem)
def test_tracked_notebook_has_no_outputs_and_one_parameters_cell(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert not [i for i, c in enumerate(code) if c.get("outputs")], "commit without outputs"
    assert all(c.get("execution_count") is None for c in code), "clear the execution counts"
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{len(tagged)} cells tagged 'parameters', expected exactly one"
    assert tagged[0].cell_type == "code"


@pytest.mark.parametrize("path", tracked_notebooks(), ids=lambda p: p.stem)
def test_tracked_notebook_is_registered_and_its_defaults_pass(path: Path) -> None:
    assert path.stem in experiments.NOTEBOOKS, (
        f"declare EXPERIMENT for {path.stem} in its module of tlkit.experiments")
    declared = read_parameters(path)
    assert "profile" in declared, "every notebook takes a 'profile' parameter"
    defaults = {name: p.default for name, p in declared.items()}
    experiments.check_params(path.stem, defaults)
    experiments.check_params(path.stem, {**defaults, "profile": "smoke"})


# --- finding notebooks ----------------------------------------------------------------------

def test_find_notebook_by_stem_short_name_and_path(notebook: Path) -> None:
    root = notebook.parents[1]
    assert find_notebook("07_sample", root) == notebook
    assert find_notebook("sample", root) == notebook
    assert find_notebook(str(notebook)) == notebook
    assert short_name("00_quickstart") == "quickstart"


def test_unknown_notebook_lists_the_available_ones(notebook: Path) -> None:
    with pytest.raises(NotebookNotFoundError, match="07_sample"):
        find_notebook("nonexistent", notebook.parents[1])
    with pytest.raises(NotebookNotFoundError, match="no notebook at"):
        find_notebook(str(notebook.parent / "missing.ipynb"))


# --- reading and converting parameters ------------------------------------------------------

def test_read_parameters_gives_defaults_types_and_help(notebook: Path) -> None:
    params = read_parameters(notebook)
    assert list(params) == ["profile", "seeds", "lr", "pretrained", "sizes", "device", "source"]
    assert params["profile"] == Parameter("profile", "quick", '"quick"', "str",
                                          "smoke | quick | full")
    assert params["seeds"].default == 3 and params["seeds"].type_name == "int"
    assert params["lr"].type_name == "float"
    assert params["pretrained"].type_name == "bool"
    assert params["sizes"].type_name == "list"
    assert params["device"].default is None and params["device"].type_name == "None"


def test_unknown_parameter_is_an_error_listing_the_valid_names(notebook: Path) -> None:
    with pytest.raises(ValueError, match="unknown parameter sedes") as info:
        resolve_parameters(notebook, {"sedes": "2"})
    for name in ("profile", "seeds", "lr", "pretrained", "sizes", "device", "source"):
        assert name in str(info.value)


def test_notebook_without_parameters_cell_takes_none(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "bare.ipynb", parameters=None)
    assert read_parameters(path) == {}
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        resolve_parameters(path, {"profile": "smoke"})


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("seeds", "5", 5),
    ("seeds", "None", None),
    ("lr", "0.5", 0.5),
    ("lr", "2", 2.0),
    ("pretrained", "true", True),
    ("pretrained", "False", False),
    ("pretrained", "1", True),
    ("pretrained", "0", False),
    ("sizes", "[1, 2, 3]", [1, 2, 3]),
    ("sizes", "5, 10", [5, 10]),
    ("device", "cuda:0", "cuda:0"),
    ("device", "3", 3),
    ("device", "null", None),
    ("source", "digits", "digits"),
    ("source", "123", "123"),
])
def test_string_values_are_converted_to_the_defaults_type(notebook: Path, name: str, text: str,
                                                          expected: object) -> None:
    value = resolve_parameters(notebook, {name: text})[name]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("name", "text"), [
    ("seeds", "three"), ("seeds", "2.5"), ("lr", "fast"), ("pretrained", "maybe"),
    ("sizes", "{a: 1}"),
])
def test_values_that_do_not_convert_are_errors(notebook: Path, name: str, text: str) -> None:
    with pytest.raises(ValueError, match=f"parameter {name} expects"):
        resolve_parameters(notebook, {name: text})


def test_values_that_are_not_strings_pass_unchanged() -> None:
    seeds = Parameter("seeds", 3, "3", "int")
    assert convert_value(seeds, 7) == 7
    assert convert_value(seeds, None) is None


def test_resolved_parameters_keep_the_other_defaults(notebook: Path) -> None:
    params = resolve_parameters(notebook, {"profile": "smoke"})
    assert params == {"profile": "smoke", "seeds": 3, "lr": 0.1, "pretrained": True,
                      "sizes": [5, 20], "device": None, "source": "glyphs"}


# --- checking values --------------------------------------------------------------------

BAD_VALUES = [
    {"profile": "huge"},
    {"profile": "smoke", "seeds": 0},
    {"profile": "smoke", "seeds": True},
    {"profile": "smoke", "device": "tpu"},
]


@pytest.mark.parametrize("bad", BAD_VALUES, ids=lambda bad: ",".join(map(str, bad.values())))
@pytest.mark.parametrize("stem", ["00_quickstart", "07_unregistered"])
def test_bad_profile_seeds_or_device_are_rejected(stem: str, bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(k for k in bad if k != "profile"), "profile")):
        check_parameters(stem, bad)


def test_good_values_pass_for_a_notebook_outside_the_registry() -> None:
    check_parameters("07_unregistered", {"profile": "smoke", "seeds": 2, "device": "cuda:1"})


def test_registered_notebook_gets_its_own_checks() -> None:
    if "00_quickstart" not in experiments.NOTEBOOKS:
        pytest.skip("00_quickstart is not registered")
    with pytest.raises(ValueError):
        check_parameters("00_quickstart", {"profile": "smoke", "source": "no-such-dataset"})


# --- the pages the tracked notebooks make -------------------------------------------------

def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _before_exercises(nb) -> list:
    start = next((i for i, c in enumerate(nb.cells) if c.source.startswith("## Exercises")),
                 len(nb.cells))
    return nb.cells[:start]


def _visible_code(cells) -> list:
    """Code cells a reader sees unfolded: neither removed, hidden nor the parameters cell
    (folded when the book is built)."""
    return [c for c in cells if c.cell_type == "code" and "parameters" not in _tags(c)
            and not any(t.startswith(("remove", "hide")) for t in _tags(c))]


def _repository_url() -> str:
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"]


@pytest.mark.parametrize("path", tracked_notebooks(), ids=lambda p: p.stem)
def test_first_cell_installs_the_package_from_the_books_repository(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import subprocess as sp

    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    install, parameters = code[0], next(c for c in code if "parameters" in _tags(c))
    assert "remove-cell" in _tags(install), "the install cell is plumbing: remove-cell"
    assert code.index(install) < code.index(parameters), "install before anything runs"
    calls: list[list[str]] = []
    monkeypatch.setattr(sp, "check_call", lambda cmd, **kw: calls.append(list(cmd)))
    exec(install.source, {"__name__": "install"})  # tlkit is installed here: nothing to do
    assert calls == []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    exec(install.source, {"__name__": "install"})  # as on Colab or Binder
    assert len(calls) == 1 and calls[0][-1] == f"tlkit[book] @ git+{_repository_url()}", calls


@pytest.mark.parametrize("path", tracked_notebooks(), ids=lambda p: p.stem)
def test_visible_code_is_short_and_fits_the_column(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    visible = _visible_code(_before_exercises(nb))
    long = [line for c in visible for line in c.source.splitlines() if len(line) > 88]
    assert not long, f"visible code wider than the column (88 characters): {long}"
    tall = [c.source.splitlines()[0] for c in visible if len(c.source.splitlines()) > 12]
    assert not tall, f"visible cells longer than 12 lines: {tall}"
    assert not [c for c in visible if "glue(" in c.source], "glue belongs in hidden cells"


@pytest.mark.parametrize("path", tracked_notebooks(), ids=lambda p: p.stem)
def test_every_glued_figure_has_a_numbered_caption_and_every_caption_a_figure(path: Path
                                                                              ) -> None:
    import re

    nb = nbformat.read(str(path), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    glued = set(re.findall(r'pages\.figure\(f?"([a-z0-9_{}]+)"', code))
    shown = re.findall(r"```\{glue:figure\} (\S+)\n:name: (\S+)", prose)
    names = {key for key, _ in shown}
    fixed = {g for g in glued if "{" not in g}
    assert fixed <= names, f"figures glued but never shown: {fixed - names}"
    patterns = [re.compile(re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(g))) for g in glued]
    assert all(any(p.fullmatch(n) for p in patterns) for n in names), (
        f"captions of figures never glued: {names}")
    assert len({label for _, label in shown}) == len(shown), "figure labels are unique"


@pytest.mark.parametrize("path", [p for p in tracked_notebooks() if p.stem[:2] in
                                  ("00", "01", "02")], ids=lambda p: p.stem)
def test_experiment_chapter_shows_its_data_first(path: Path) -> None:
    """The question, the claim and the data as images open the chapter, before any code."""
    nb = nbformat.read(str(path), as_version=4)
    cells = _before_exercises(nb)
    first_code = cells.index(_visible_code(cells)[0])
    opening = "\n".join(c.source for c in cells[:first_code] if c.cell_type == "markdown")
    assert "**The question.**" in opening and "**The survey's claim.**" in opening
    at = opening.find("{glue:figure}")
    assert 0 <= at < 1600, "a figure of the data within the first screen of prose"
    assert "sample_grid" in "\n".join(c.source for c in cells if c.cell_type == "code")


@pytest.mark.parametrize("path", [p for p in tracked_notebooks() if p.stem[:2] in
                                  ("00", "01", "02")], ids=lambda p: p.stem)
def test_every_section_of_a_chapter_ends_with_a_summary(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    prose = "\n".join(c.source for c in _before_exercises(nb) if c.cell_type == "markdown")
    assert prose.count("**In short.**") >= 2, "sections end with a short summary"


# --- executing one notebook -------------------------------------------------------------

def test_execute_injects_parameters_and_records_the_profile(notebook: Path, tmp_path: Path
                                                            ) -> None:
    output = tmp_path / "out" / "sample.ipynb"
    make_notebook(notebook, cells=("import os; print(profile, seeds, os.getcwd())",
                                   "print('progress', os.environ['TLKIT_PROGRESS'])"))
    before = notebook.read_bytes()
    seconds = execute(notebook, output, {"profile": "smoke", "seeds": 2}, cwd=tmp_path)
    assert seconds > 0 and notebook.read_bytes() == before
    nb = nbformat.read(str(output), as_version=4)
    assert nb.metadata["tlkit"]["profile"] == "smoke"
    assert nb.metadata["tlkit"]["parameters"] == {"profile": "smoke", "seeds": 2}
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert f"smoke 2 {tmp_path}" in text
    assert "progress 0" in text
    tags = [c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code"]
    injected = [t for t in tags if "injected-parameters" in t]
    assert len(injected) == 1 and "remove-cell" in injected[0], "papermill's cell is removed"
    assert ["parameters", "hide-cell"] in tags, "the parameters cell is folded"


def test_execute_records_the_default_profile_when_not_given(notebook: Path, tmp_path: Path
                                                             ) -> None:
    output = tmp_path / "default.ipynb"
    execute(notebook, output, {}, cwd=tmp_path)
    assert nbformat.read(str(output), as_version=4).metadata["tlkit"]["profile"] == "quick"
