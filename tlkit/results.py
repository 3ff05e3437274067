"""Records as one tidy table: one row per run, one column per variable.

Columns (in this order): the run's tags (e.g. ``condition``, ``split``), the spec's variables
(``dataset``, ``n_per_class``, ``layers``, ``freeze``, ``source_dataset`` ...), the metrics
(``test_acc`` ...) and the provenance (``key``, ``seed``, library versions, ``device``,
``wall_seconds``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .record import Record

__all__ = ["frame", "row"]

METRICS = ("test_acc", "test_loss", "val_acc", "val_loss", "train_acc", "train_loss",
           "n_train", "n_val", "n_test", "num_classes")


def row(record: Record) -> dict[str, Any]:
    """One record as a flat dict (see the module docstring for the columns)."""
    s = record.spec
    d, m, tr, t = s.data, s.model, s.train, s.transfer
    out: dict[str, Any] = dict(s.tags)
    out.update(
        dataset=d.name,
        data_options=json.dumps(d.option_dict, sort_keys=True),
        classes=None if d.classes is None else "|".join(d.classes),
        n_per_class=d.n_per_class,
        subsample_seed=d.subsample_seed,
        validation=d.validation,
        arch=m.arch, width=m.width, size=m.size, channels=m.channels, weights=m.weights,
        epochs=tr.epochs, batch_size=tr.batch_size, lr=tr.lr, momentum=tr.momentum,
        weight_decay=tr.weight_decay, schedule=tr.schedule, warmup_epochs=tr.warmup_epochs,
        source_key=None if t.source is None else t.source.key(),
        source_dataset=None if t.source is None else t.source.data.name,
        layers=t.layers, freeze=t.freeze, frozen=t.frozen, lr_mult=t.lr_mult,
        regularizer=t.regularizer,
        alpha=t.alpha, beta=t.beta, sp_layers=t.sp_layers, bn_stats=t.bn_stats,
    )
    out.update({k: record.metrics.get(k) for k in METRICS})
    p = record.provenance
    out.update(
        key=record.key, seed=s.seed, compute=s.compute,
        tlkit_version=p.get("tlkit"), torch_version=p.get("torch"),
        device=p.get("device"), wall_seconds=p.get("wall_seconds"),
    )
    return out


def frame(records: Iterable[Record]) -> pd.DataFrame:
    """A tidy :class:`pandas.DataFrame` with one row per record."""
    rows = [row(r) for r in records]
    return pd.DataFrame(rows)
