"""``Record``: the result of one run, as stored in the run cache.

A leaf module: it depends only on :mod:`tlkit.spec`, so the store, the runner and the sweep all
import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import RunSpec

__all__ = ["Record"]


@dataclass
class Record:
    """The result of one run: its spec and key, metrics, per-epoch history and provenance."""

    spec: RunSpec
    key: str
    metrics: dict[str, float]
    history: dict[str, list[float]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "spec": self.spec.to_dict(), "metrics": self.metrics,
                "history": self.history, "provenance": self.provenance}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        return cls(spec=RunSpec.from_dict(d["spec"]), key=d["key"], metrics=d["metrics"],
                   history=d.get("history", {}), provenance=d.get("provenance", {}))
