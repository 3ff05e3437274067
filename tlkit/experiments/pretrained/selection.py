r"""Which source to pick: transferability scores against measured fine-tuning accuracy.

For every fine-tuning run of the page (a source, a target, a size, a seed) the scores are
computed on that run's own training images, before any training, from the source network alone:

The accuracy a score should predict is that of fine-tuning each source as a practitioner would:
every layer from a glyph source, and from ImageNet the method chosen on validation
(:func:`selection_runs`).

* **LEEP** (Nguyen et al., 2020) from the softmax of the source's own classifier, and **NCE**
  (Tran et al., 2019) from its hard predictions (:func:`tlkit.measures.leep`, :func:`~.nce`);
* **LogME** (You et al., 2021) and **H-score** (Bao et al., 2019) on its penultimate features
  (cnn8: fc7; EfficientNet-Lite0: the pooled 1280 head features);
* **OTDD** (Alvarez-Melis & Fusi, 2020) and the **domain similarity** of Cui et al. (2018)
  between the source's training pool and the target's training images, both in one feature
  space for every pair, the area-averaged pixels of :func:`tlkit.measures.pixel_features`
  (``feature_size`` squared), so that the distances of different sources are comparable (in
  each source's own feature space, a distance would measure the space as much as the data).
  They need the source's own images: the ImageNet network's are not shipped and the random
  network has none, so for those two they are missing (NaN).

A *task* is one target at one size. Within a task, each score ranks the sources; the ranking is
compared with that of the mean fine-tuning test accuracy by Kendall's :math:`\tau` and by the
weighted :math:`\tau` of Vigna (2015), which weighs agreement at the top more (hyperbolic
weights, ``scipy.stats.weightedtau``), and the score *picks* the source it ranks first. A
distance ranks by its negative (nearer is better). The means over tasks get percentile
bootstrap intervals over seeds and tasks (:func:`bootstrap_agreement`).

Vigna, S. (2015). A weighted correlation index for rankings with ties. WWW.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ...spec import RunSpec
from .design import CNN_KINDS
from .published import TLLIB_WEIGHTED_TAU

__all__ = ["SCORES", "TLLIB_WEIGHTED_TAU", "source_network", "selection_runs", "score_table",
           "rank_agreement",
           "bootstrap_agreement", "agreement_claims", "agreement_family", "agreement_name",
           "agreement_statements"]

#: Each score: its column and its direction (+1: higher predicts better transfer).
SCORES: Mapping[str, tuple[str, int]] = {
    "LEEP": ("leep", 1), "NCE": ("nce", 1), "LogME": ("logme", 1), "H-score": ("h_score", 1),
    "OTDD": ("otdd", -1), "domain similarity": ("similarity", 1),
}

#: The penultimate layer (features read by LogME, H-score and the distances) by architecture.
_FEATURE_LAYER = {"cnn8": 7, "efficientnet_lite0": 9}


def source_network(run: RunSpec, store: Any = None) -> Any:
    """The source network of a transfer run, with its own classifier, in evaluation mode: the
    trained base network of ``run.transfer.source`` from the run cache, the ImageNet
    network with its 1000-class head when the run starts from ``model.weights``, or, for a run
    from the random network (tag ``kind`` ``random``), the very random weights the run starts
    from (:func:`tlkit.runner.initial_model`, its classifier over the target's classes)."""
    from ...models import build_model
    from ...trained import trained_model

    m = run.model
    src = run.transfer.source
    if src is None and run.tag_dict.get("kind") == "random":
        from ... import runner

        classes = runner.load_data(run, "train").num_classes
        return runner.initial_model(run, classes).eval()
    if src is None:
        if m.weights is None:
            raise ValueError(f"run {run.key()} has no source to score")
        model = build_model(m.arch, 1000, in_channels=m.channels, input_size=m.size,
                            width=m.width, weights=m.weights)
    else:
        model = trained_model(src, store)
    return model.eval()


def selection_runs(records: Sequence[Any], chosen: pd.DataFrame) -> list[Any]:
    """The run that measures each source's fine-tuning accuracy, per target, size and seed:
    fine-tuning from each glyph source, and from ImageNet the method chosen on validation for
    that target and size (``chosen``: :func:`tlkit.experiments.pretrained.chosen_methods`), as
    a practitioner would fine-tune the source they picked."""
    from ..small_targets.curves import size_label

    pick = {(r.target, r.size): r.method for r in chosen.itertuples(index=False)}
    out = []
    for record in records:
        t = record.spec.tag_dict
        size = size_label(record.spec.data.n_per_class)
        if t["kind"] in CNN_KINDS and t["method"] == "fine-tune":
            out.append(record)
        elif t["kind"] == "imagenet" and pick.get((t["target"], size)) == t["method"]:
            out.append(record)
    return out


def _outputs(model: Any, images: Any, layer: int, batch: int = 256) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """(softmax of the source classifier, penultimate features) of ``images``."""
    import torch

    probs, feats = [], []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            f = model(images[i:i + batch], 0, layer)
            logits = model(f, layer)
            feats.append(f.flatten(1).double())
            probs.append(torch.softmax(logits.double(), dim=1))
    return torch.cat(probs).numpy(), torch.cat(feats).numpy()


def _scores(spec: RunSpec, networks: dict[str, Any], pools: dict[Any, Any], net_key: str,
            store: Any, distance_samples: int, gamma: float, feature_size: int
            ) -> dict[str, float]:
    """The six scores of the source network of ``spec`` on the run's training images (the
    distances between the source's training pool and those images in pixel space)."""
    from ... import runner
    from ...measures import domain_similarity, h_score, leep, logme, nce, otdd, pixel_features
    from ...measures.sampling import stratified_subsample

    if net_key not in networks:
        networks[net_key] = source_network(spec, store)
    model = networks[net_key]
    layer = _FEATURE_LAYER[spec.model.arch]
    train = runner.load_data(spec, "train")
    y = train.labels.numpy()
    probs, feats = _outputs(model, train.images, layer)
    out = dict(leep=leep(probs, y), nce=nce(probs.argmax(1), y), logme=logme(feats, y),
               h_score=h_score(feats, y), otdd=math.nan, similarity=math.nan)
    src = spec.transfer.source
    if src is not None:
        if src.data not in pools:
            pool = runner.load_data(src, "train")
            keep = stratified_subsample(pool.labels.numpy(), distance_samples, seed=0)
            pools[src.data] = (pixel_features(pool.images[keep], feature_size),
                               pool.labels.numpy()[keep])
        f_src, y_src = pools[src.data]
        f_tgt = pixel_features(train.images, feature_size)
        out["otdd"] = otdd(f_src, y_src, f_tgt, y, max_samples=distance_samples)
        out["similarity"] = domain_similarity(f_src, y_src, f_tgt, y, gamma=gamma)
    return out


def score_table(runs: Sequence[Any], *, distance_samples: int, store: Any = None,
                gamma: float | None = None, feature_size: int = 8) -> pd.DataFrame:
    """Every score of every run in ``runs`` (records, e.g. :func:`selection_runs`), one row
    per run; the scores read only the run's training images, its source network and the
    source network's training pool.

    Columns ``target, source, kind, per_class, size, seed, test_acc`` and the columns of
    :data:`SCORES`. The distances are measured on ``feature_size`` squared area-averaged
    pixels, with the domain similarity's :math:`\\gamma` (default: the pixel-space value of
    the layer-transfer chapter).
    """
    from dataclasses import asdict

    from ...computed import cached
    from ...store import Store
    from ..layer_transfer import SIMILARITY_GAMMA
    from ..small_targets.curves import size_label

    store = store if store is not None else Store()
    gamma = SIMILARITY_GAMMA["pixels"] if gamma is None else gamma
    rows, networks, pools = [], {}, {}
    cache: dict[Any, dict[str, float]] = {}  # scores of one network on one set of images
    for record in runs:
        spec = record.spec
        src = spec.transfer.source
        if src is not None:
            net_key = src.key()
        elif spec.tag_dict.get("kind") == "random":  # each run starts from its own weights
            net_key = f"random:{spec.model.arch}:{spec.seed_for('init')}"
        else:
            net_key = f"{spec.model.arch}:{spec.model.weights}"
        # the whole split is the same images whatever the subsample seed
        data = spec.data if spec.data.n_per_class is not None else replace(spec.data,
                                                                           subsample_seed=0)
        if (net_key, data, spec.model) not in cache:
            inputs = {"network": net_key, "data": asdict(data),
                      "model": asdict(spec.model), "distance_samples": distance_samples,
                      "gamma": gamma, "layer": _FEATURE_LAYER[spec.model.arch],
                      "space": f"pixels {feature_size}"}
            cache[net_key, data, spec.model] = cached(
                "scores", inputs,
                lambda spec=spec, net_key=net_key: _scores(
                    spec, networks, pools, net_key, store, distance_samples, gamma,
                    feature_size),
                modules=["measures", "experiments/pretrained/selection.py"], store=store)
        rows.append(dict(spec.tag_dict, per_class=spec.data.n_per_class, seed=spec.seed,
                         size=size_label(spec.data.n_per_class),
                         test_acc=record.metrics["test_acc"],
                         **cache[net_key, data, spec.model]))
    out = pd.DataFrame(rows)
    if len(out):
        per_class = out["per_class"].astype(float)
        out["per_class"] = per_class.where(per_class.notna(), np.inf)
    return out


def _task_agreement(means: pd.DataFrame, column: str, sign: int) -> tuple[float, float, float]:
    """(Kendall tau, weighted tau, top-1 hit) of one task's sources (rows), or NaNs when fewer
    than two sources have the score."""
    from scipy import stats as sps

    part = means[["test_acc", column]].dropna()
    if len(part) < 2:
        return math.nan, math.nan, math.nan
    score = sign * part[column].to_numpy(dtype=float)
    acc = part["test_acc"].to_numpy(dtype=float)
    tau = sps.kendalltau(score, acc).statistic
    wtau = sps.weightedtau(score, acc).statistic
    hit = float(acc[int(np.argmax(score))] == acc.max())
    return float(tau), float(wtau), hit


def rank_agreement(table: pd.DataFrame, seeds: Sequence[int] | None = None) -> pd.DataFrame:
    """Per task (target and size) and score: ``tau``, ``weighted_tau`` and ``top1`` (1 when
    the score's first source has the best mean accuracy), from the means over ``seeds``
    (default: every seed; a seed drawn twice counts twice) of accuracy and score."""
    if seeds is not None:
        table = pd.concat([table[table["seed"] == s] for s in seeds], ignore_index=True)
    cols = [c for c, _ in SCORES.values()]
    means = table.groupby(["target", "per_class", "size", "source"], sort=True)[
        ["test_acc", *cols]].mean()
    rows = []
    for (target, per_class, size), part in means.groupby(level=[0, 1, 2], sort=True):
        for name, (column, sign) in SCORES.items():
            tau, wtau, hit = _task_agreement(part, column, sign)
            rows.append(dict(target=target, per_class=per_class, size=size, score=name,
                             sources=int(part[column].notna().sum()), tau=tau,
                             weighted_tau=wtau, top1=hit))
    return pd.DataFrame(rows)


def bootstrap_agreement(table: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                        level: float = 0.95) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per score: the mean over tasks of ``tau``, ``weighted_tau`` and ``top1`` with
    percentile bootstrap intervals, and the bootstrap draws of the mean weighted tau (for
    :func:`agreement_claims`).

    Each draw resamples the seeds (with replacement, the same draw for every source and task:
    the runs of one seed share the target subsample) and then the tasks (with replacement), so
    that the interval covers both the noise of the runs and the spread between tasks: a score
    that ranks the sources well on some targets and badly on others gets a wide interval.

    Columns ``score, tasks, sources, tau, tau_low, tau_high, weighted_tau, wtau_low,
    wtau_high, top1, top1_low, top1_high``.
    """
    seeds = sorted(table["seed"].unique())
    if len(seeds) < 2:
        raise ValueError("a bootstrap over seeds needs at least two seeds")
    metrics = ["tau", "weighted_tau", "top1"]
    point_rows = rank_agreement(table)
    point = point_rows.groupby("score", sort=False)
    tasks = point_rows[["target", "size"]].drop_duplicates().reset_index(drop=True)
    rng = np.random.default_rng(seed)
    # per seed multiset: an array (score, task, metric); a draw depends only on the multiset
    seen: dict[tuple[int, ...], np.ndarray] = {}
    names = list(SCORES)
    draws = np.empty((n_boot, len(names), len(metrics)))
    for b in range(n_boot):
        pick = tuple(sorted(int(x) for x in rng.choice(seeds, size=len(seeds), replace=True)))
        if pick not in seen:
            agree = rank_agreement(table, list(pick)).set_index(["score", "target", "size"])
            seen[pick] = np.stack([
                agree.loc[name].reindex(pd.MultiIndex.from_frame(tasks))[metrics]
                .to_numpy(dtype=float) for name in names])
        rows = rng.integers(0, len(tasks), size=len(tasks))
        with np.errstate(invalid="ignore"):
            draws[b] = np.nanmean(seen[pick][:, rows, :], axis=1)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    out, wtau_draws = [], {}
    for name, part in point:
        d = draws[:, names.index(name), :]
        lo, hi = np.nanpercentile(d, q, axis=0) if np.isfinite(d).any() else (
            np.full(3, math.nan), np.full(3, math.nan))
        wtau_draws[name] = d[:, 1]
        out.append(dict(score=name, tasks=int(part["tau"].notna().sum()),
                        sources=int(part["sources"].max()),
                        tau=part["tau"].mean(), tau_low=lo[0], tau_high=hi[0],
                        weighted_tau=part["weighted_tau"].mean(), wtau_low=lo[1],
                        wtau_high=hi[1], top1=part["top1"].mean(), top1_low=lo[2],
                        top1_high=hi[2]))
    return pd.DataFrame(out), wtau_draws


def agreement_name(score: str) -> str:
    """The claim name of a score's agreement (``"wtau_logme"``)."""
    return f"wtau_{score.replace(' ', '_').replace('-', '_').lower()}"


def agreement_statements(scores: Any) -> dict[str, str]:
    """Each score's agreement claim in words, by claim name."""
    return {agreement_name(s): f"{s} ranks the candidate sources as their fine-tuned "
                               "accuracy does (mean weighted τ > 0)" for s in scores}


def agreement_claims(summary: pd.DataFrame, draws: Mapping[str, np.ndarray]) -> list[Any]:
    """One claim per score: its mean weighted tau over tasks is positive (it ranks the sources
    as fine-tuning does), with the weighted tau of TLlib's benchmark as its published size
    (:data:`TLLIB_WEIGHTED_TAU`; none for the distances). The interval at level
    :math:`\\ell` is the percentile bootstrap
    interval; the p-value, twice the smaller bootstrap tail beyond 0 (at least ``1/B``), is
    the level at which that interval just touches 0."""
    from ...verdicts import Claim

    out = []
    for r in summary.itertuples(index=False):
        d = np.asarray(draws[r.score], dtype=float)
        d = d[np.isfinite(d)]
        if len(d) == 0:
            continue
        p = min(1.0, max(2 * min((d <= 0).mean(), (d >= 0).mean()), 1 / len(d)))

        def interval(level: float, d: np.ndarray = d) -> tuple[float, float]:
            lo, hi = np.percentile(d, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
            return float(lo), float(hi)

        out.append(Claim(agreement_name(r.score),
                         float(r.weighted_tau), interval, float(p), 1,
                         float(TLLIB_WEIGHTED_TAU.get(r.score, 0.0)),
                         f"{r.score}: mean weighted τ over tasks > 0"))
    return out


def agreement_family(summary: pd.DataFrame, draws: Mapping[str, np.ndarray],
                     unready: Mapping[str, str],
                     unpowered: Mapping[str, str] | None = None
                     ) -> tuple[list[Any], dict[str, str]]:
    """The claims of :func:`agreement_claims` that enter the family, and those left out with
    why: every one of them when a source is not at its plateau (``unready``, source -> why:
    :func:`~.convergence.unconverged_sources`), since a ranking of half-trained candidates
    says nothing about the scores; else those the plan cannot power (``unpowered``, claim ->
    why: :func:`~.plan.unpowered`, decided from the profile before any result)."""
    claims = agreement_claims(summary, draws)
    if unready:
        why = "a source is not at its plateau: " + "; ".join(unready.values())
        return [], {c.name: why for c in claims}
    out = dict(unpowered or {})
    return [c for c in claims if c.name not in out], {c.name: out[c.name] for c in claims
                                                       if c.name in out}
