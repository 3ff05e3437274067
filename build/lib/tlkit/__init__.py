"""tlkit: helpers for a reproducible companion book to the survey *Deep transfer learning for
image classification* (Plested, Phiri & Gedeon, 2022).

One pure function turns a :class:`RunSpec` into a :class:`Record`; :func:`tlkit.sweep.run`
caches records on disk by the spec's hash; :func:`tlkit.results.frame` turns records into a
tidy table.
"""

__version__ = "0.1.0"

from .record import Record  # noqa: E402
from .runner import run  # noqa: E402
from .spec import DataSpec, ModelSpec, RunSpec, TransferSpec  # noqa: E402
from .train import TrainConfig  # noqa: E402

__all__ = ["__version__", "run", "Record", "RunSpec", "DataSpec", "ModelSpec", "TransferSpec",
           "TrainConfig"]
