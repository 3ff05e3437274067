"""tlkit: helpers for a reproducible companion book to the survey *Deep transfer learning for
image classification* (Plested, Phiri & Gedeon, 2022).

One pure function turns a :class:`RunSpec` into a :class:`Record`; :func:`tlkit.sweep.run`
caches records on disk by the spec's hash; :func:`tlkit.results.frame` turns records into a
tidy table.

Every public submodule is reachable from the package itself, imported on first use (PEP 562),
so that ``import tlkit`` stays light: ``tlkit.data.load(...)``, ``tlkit.sweep.run(...)``,
``tlkit.plots``, ``tlkit.experiments`` and the others of :data:`SUBMODULES`.
"""

__version__ = "0.1.0"

from .record import Record  # noqa: E402
from .runner import run  # noqa: E402
from .spec import DataSpec, ModelSpec, RunSpec, TransferSpec  # noqa: E402
from .train import TrainConfig  # noqa: E402

#: The public submodules, imported when first used as attributes of the package.
SUBMODULES = ("analysis", "batched", "book", "checks", "computed", "config", "data", "diagrams",
              "executors", "experiments", "measures", "methods", "models", "pages", "plots",
              "power", "regularizers", "results", "runner", "schedule", "spec", "stats", "store",
              "sweep", "teaching", "train", "trained", "transfer", "verdicts", "worker")

__all__ = ["__version__", "run", "Record", "RunSpec", "DataSpec", "ModelSpec", "TransferSpec",
           "TrainConfig", "SUBMODULES"]


def __getattr__(name: str):
    if name in SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tlkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *SUBMODULES})
