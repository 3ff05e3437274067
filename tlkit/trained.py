"""The networks of finished runs, rebuilt from their checkpoints in the run cache: what a
chapter reads features from (a source's penultimate layer, its classifier's outputs)."""

from __future__ import annotations

from typing import Any

from .models import build_model
from .spec import RunSpec

__all__ = ["trained_model"]


def trained_model(spec: RunSpec, store: Any = None) -> Any:
    """The trained network of a finished run, from its checkpoint in the run cache
    (:class:`~tlkit.store.Store`), with its own classifier, in evaluation mode.

    Raises:
        ValueError: the cache holds no checkpoint of the run.
    """
    from .store import Store

    store = store if store is not None else Store()
    state = store.load_checkpoint(spec)
    if state is None:
        raise ValueError(f"no checkpoint of run {spec.key()} in {store}; run the sweep first")
    m = spec.model
    top = [v for key, v in state.items() if key.endswith("weight")][-1]
    model = build_model(m.arch, int(top.shape[0]), in_channels=m.channels, input_size=m.size,
                        width=m.width, weights=None)
    model.load_state_dict(state)
    return model.eval()
