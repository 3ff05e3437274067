"""The ``tlkit`` command: user mistakes exit 2 with one line and nothing runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

import tlkit
from tlkit.cli import main


def make_project(root: Path, cells: tuple[str, ...] = ("print(profile, seeds)",)) -> Path:
    """A minimal book: ``_toc.yml`` and one notebook ``notebooks/01_demo.ipynb``."""
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/index\n"
                                   "chapters:\n  - file: notebooks/01_demo\n", encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    parameters = nbformat.v4.new_code_cell('profile = "quick"\nseeds = 3\nlr = 0.1\n')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, *(nbformat.v4.new_code_cell(source) for source in cells)]
    nbformat.write(nb, str(root / "notebooks" / "01_demo.ipynb"))
    return root


@pytest.fixture
def no_execution(monkeypatch: pytest.MonkeyPatch) -> list:
    """Record (and refuse) every call to papermill.execute_notebook."""
    calls: list = []

    def refuse(*args, **kwargs):
        calls.append((args, kwargs))
        raise AssertionError("papermill.execute_notebook must not be called")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    return calls


def test_datasets_lists_embedded_and_real_datasets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("glyphs", "digits", "mnist"):
        assert name in out


def test_datasets_with_a_data_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "--root", str(tmp_path)]) == 0
    assert "needs download" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert tlkit.__version__ in capsys.readouterr().out


def test_python_dash_m_tlkit_works_the_same() -> None:
    done = subprocess.run([sys.executable, "-m", "tlkit", "--version"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and tlkit.__version__ in done.stdout


def test_unknown_parameter_exits_2_listing_valid_names_without_executing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], no_execution: list) -> None:
    root = make_project(tmp_path)
    code = main(["notebook", "demo", "--root", str(root), "-p", "sedes", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tlkit: error: unknown parameter sedes")
    assert "valid: profile, seeds, lr" in err
    assert "Traceback" not in err
    assert no_execution == []


@pytest.mark.parametrize(("arguments", "message"), [
    (["-p", "seeds", "many"], "parameter seeds expects an integer"),
    (["-p", "seeds", "0"], "seeds must be a positive integer"),
    (["--profile", "huge"], "profile must be one of smoke, quick, full"),
    (["-p", "device", "tpu"], "unknown parameter device"),
])
def test_bad_values_exit_2_before_executing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            no_execution: list, arguments: list[str],
                                            message: str) -> None:
    root = make_project(tmp_path)
    assert main(["notebook", "01_demo", "--root", str(root), *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tlkit: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert no_execution == []


def test_unknown_notebook_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  no_execution: list) -> None:
    root = make_project(tmp_path)
    assert main(["notebook", "nonexistent", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tlkit: error: unknown notebook 'nonexistent'") and "01_demo" in err
    assert main(["book", "--root", str(root), "--only", "nonexistent"]) == 2
    assert "not in _toc.yml" in capsys.readouterr().err
    assert no_execution == []


def test_missing_root_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["book", "--root", str(tmp_path / "nowhere")]) == 2
    assert "no _toc.yml" in capsys.readouterr().err


def test_notebook_runs_with_converted_parameters(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    output = tmp_path / "out.ipynb"
    code = main(["notebook", "demo", "--root", str(root), "--profile", "smoke",
                 "-p", "seeds", "2", "--output", str(output)])
    assert code == 0, capsys.readouterr().err
    assert str(output) in capsys.readouterr().out
    nb = nbformat.read(str(output), as_version=4)
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert printed.strip() == "smoke 2"
    assert nb.metadata["tlkit"]["parameters"] == {"profile": "smoke", "seeds": 2}


def test_notebook_default_output_is_under_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    root = make_project(tmp_path)
    assert main(["notebook", str(root / "notebooks" / "01_demo.ipynb")]) == 0
    assert (root / "_build" / "notebooks" / "01_demo.ipynb").is_file()


def test_failing_notebook_exits_1_naming_the_cell(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path, cells=("x = 1", "raise KeyError('missing-key')"))
    assert main(["notebook", "01_demo", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "tlkit: error: notebook 01_demo failed in cell 2" in err
    assert "KeyError: 'missing-key'" in err
    assert 'File "' not in err  # the cell's traceback only, none from tlkit itself


def test_a_killed_kernel_gives_one_line_naming_the_notebook_and_the_cell(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    import pickle

    from tlkit.notebooks import KernelDiedError, NotebookExecutionError

    root = make_project(tmp_path, cells=(
        "print('before')", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "print('never')"))
    output = tmp_path / "out.ipynb"
    assert main(["notebook", "01_demo", "--root", str(root), "-p", "seeds", "2",
                 "--output", str(output)]) == 1  # parameters injected: a cell inserted
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("tlkit: error: notebook 01_demo: its kernel died in cell 2")
    assert "`import os, signal`" in lines[0] and "out of memory" in lines[0]
    assert str(output) in lines[0] and "Kernel died" not in caplog.text
    kept = nbformat.read(str(output), as_version=4).cells
    assert "before" in "".join(o.get("text", "") for o in kept[2].outputs)  # what ran, kept
    assert kept[3].metadata.papermill["status"] == "failed"
    assert kept[3].outputs[-1]["ename"] == "DeadKernelError"
    error = KernelDiedError("01_demo", 2, 3, "import os, signal", output)
    again = pickle.loads(pickle.dumps(error))  # as from the processes of `tlkit book`
    assert isinstance(again, NotebookExecutionError) and str(again) == str(error)
    assert again.traceback == "" and "\n" not in str(again)


@pytest.mark.parametrize("argv", [["book", "--jobs", "0"], ["bogus"], ["assignments",
                                  "--variants", "0"], ["notebook"], ["results", "send", "x"]])
def test_a_mistake_argparse_finds_is_one_line_too(argv, capsys):
    from tlkit.cli import main

    assert main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("tlkit: error: ") and "--help" in err[0], err
