"""A run's key follows the code that computes it: a change to a module its computation imports
changes the key; a change to, or a new module beside, a dataset, architecture or method it does
not use leaves the key as it was."""

import shutil

import pytest

from tlkit import DataSpec, ModelSpec, RunSpec, TransferSpec, fingerprint

DIGITS = RunSpec(DataSpec("digits", classes=("0", "1"), n_per_class=5))
SHAPES = RunSpec(DataSpec("shapes"))


@pytest.fixture
def package(tmp_path):
    """A copy of the package's source to edit; caches forgotten before and after."""
    import tlkit

    copy = tmp_path / "tlkit"
    shutil.copytree(fingerprint._PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    fingerprint._clear()
    yield copy
    fingerprint._clear()
    assert tlkit  # the installed package is untouched


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_run_hashes_what_it_imports_and_the_plugins_it_uses():
    skipped = frozenset().union(*fingerprint.all_plugins().values())
    used = fingerprint.plugins_of(DIGITS)
    assert used == {"tlkit.data.digits", "tlkit.models.cnn", "tlkit.regularizers.l2"}
    modules = dict(fingerprint.closure([fingerprint.ROOT], used, skipped))
    for needed in ("tlkit.runner", "tlkit.train", "tlkit.transfer", "tlkit.spec",
                   "tlkit.batched", "tlkit.data.loading", "tlkit.models.base",
                   "tlkit.regularizers.base", "tlkit.data.digits", "tlkit.models.cnn"):
        assert needed in modules
    for unused in ("tlkit.data.shapes", "tlkit.data.real", "tlkit.models.efficientnet",
                   "tlkit.regularizers.delta", "tlkit.sweep", "tlkit.plots"):
        assert unused not in modules
    source = RunSpec(DataSpec("glyphs"), ModelSpec(width=4))
    l2sp = RunSpec(DataSpec("digits"), ModelSpec(width=4), transfer=TransferSpec(
        source=source, layers=3, freeze=False, regularizer="l2sp"))
    assert fingerprint.plugins_of(l2sp) == {"tlkit.data.digits", "tlkit.data.glyphs",
                                            "tlkit.models.cnn", "tlkit.regularizers.l2sp",
                                            "tlkit.regularizers.l2"}


def test_a_change_to_an_imported_module_changes_the_key(package):
    before = fingerprint.run_fingerprint(DIGITS, package)
    shapes = fingerprint.run_fingerprint(SHAPES, package)
    _edit(package / "data" / "digits.py", "SOURCE = DatasetSource(",
          "_UNUSED = 1\nSOURCE = DatasetSource(")
    fingerprint._clear()
    assert fingerprint.run_fingerprint(DIGITS, package) != before
    assert fingerprint.run_fingerprint(SHAPES, package) == shapes  # shapes do not use digits
    _edit(package / "train.py", "EVAL_BATCH = 128", "EVAL_BATCH = 64")
    fingerprint._clear()
    assert fingerprint.run_fingerprint(SHAPES, package) != shapes  # every run trains


def test_docstrings_and_comments_do_not_count(package):
    before = fingerprint.run_fingerprint(DIGITS, package)
    _edit(package / "train.py", '"""Training on in-memory tensors',
          '# a comment\n"""Training, reworded, on in-memory tensors')
    fingerprint._clear()
    assert fingerprint.run_fingerprint(DIGITS, package) == before


def test_a_new_dataset_or_architecture_leaves_existing_keys_alone(package, monkeypatch):
    before = fingerprint.run_fingerprint(DIGITS, package)
    known = fingerprint.all_plugins()
    added = {"datasets": "tlkit.data.newset", "architectures": "tlkit.models.newnet",
             "regularizers": "tlkit.regularizers.newpenalty"}  # as their registration makes them
    monkeypatch.setattr(fingerprint, "all_plugins",
                        lambda: {k: v | {added[k]} for k, v in known.items()})
    (package / "data" / "newset.py").write_text("SOURCE = None\n")
    _edit(package / "data" / "registry.py", "from . import digits, folder, glyphs, real, shapes",
          "from . import digits, folder, glyphs, newset, real, shapes")
    _edit(package / "data" / "registry.py", "_PLUGINS = (glyphs, digits, shapes, real, folder)",
          "_PLUGINS = (glyphs, digits, shapes, real, folder, newset)")
    (package / "models" / "newnet.py").write_text("from .base import register\n")
    _edit(package / "models" / "__init__.py", "from . import cnn, efficientnet, resnet",
          "from . import cnn, efficientnet, newnet, resnet")
    _edit(package / "regularizers" / "__init__.py", "from . import bss, delta, l2, l2sp",
          "from . import bss, delta, l2, l2sp, newpenalty")
    (package / "regularizers" / "newpenalty.py").write_text("X = 1\n")
    fingerprint._clear()
    assert fingerprint.run_fingerprint(DIGITS, package) == before
