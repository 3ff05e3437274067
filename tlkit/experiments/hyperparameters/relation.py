r"""How near each target is to its source, measured: the check of the page's near and far.

A cell's relation (near or far) is given by the profile; this module measures it, so the page
can say whether the measurement agrees. For every source and each of its targets the score is
LogME (You et al., 2021, *LogME: practical assessment of pre-trained models for transfer
learning*, ICML; :func:`tlkit.measures.logme`) of the source network's penultimate features on
the target's training images: the evidence per example of a linear model on those features,
higher when the features already separate the target's classes. It needs no source images, so
it measures the ImageNet source as well as a glyph one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["relation_table"]


def relation_table(records: Sequence[Any], store: Any = None) -> pd.DataFrame:
    """One row per source and target: ``source, kind, relation, target, logme`` and ``agrees``
    (per source, the near target has the higher LogME). ``records`` are runs of the page; one
    run of each source, target and training subsample is scored (the first given)."""
    from ... import runner
    from ...measures import logme
    from ..pretrained.selection import _FEATURE_LAYER, _outputs, source_network

    rows, seen, networks = [], set(), {}
    for record in records:
        spec, t = record.spec, record.spec.tag_dict
        key = (t["source"], t["target"])
        if key in seen:
            continue
        seen.add(key)
        src = spec.transfer.source
        net = "imagenet" if src is None else src.key()
        if net not in networks:
            networks[net] = source_network(spec, store)
        train = runner.load_data(spec, "train")
        _, feats = _outputs(networks[net], train.images, _FEATURE_LAYER[spec.model.arch])
        rows.append(dict(source=t["source"], kind=t["kind"], relation=t["relation"],
                         target=t["target"], per_class=spec.data.n_per_class,
                         logme=float(logme(feats, train.labels.numpy()))))
    out = pd.DataFrame(rows)
    agree = {}
    for source, part in out.groupby("source", sort=False):
        near = part.loc[part["relation"] == "near", "logme"]
        far = part.loc[part["relation"] == "far", "logme"]
        agree[source] = bool(len(near) and len(far) and near.max() > far.max())
    return out.assign(agrees=out["source"].map(agree))
