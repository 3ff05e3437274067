"""The runs of the chapter on a reader's own image folder: the arms, their data and specs.

Profiles: ``tlkit/experiments/profiles/own_images.yaml``. The target is the folder
(:mod:`tlkit.data.folder`); its test images are the folder's ``test/`` or a stratified share
of each class. Every arm is one way to start and train:

* ``scratch``: the book's cnn8 from random weights, at the format of the book's sources;
* from **the nearest book source** (the cnn8 source whose training images lie nearest the
  folder's by measure, :mod:`.placement`): a linear probe, fine-tuning, L2-SP, DELTA and BSS
  (:mod:`tlkit.methods`), the source network of replicate ``k`` trained from seed ``k``;
* from **ImageNet** (EfficientNet-Lite0's weights): a linear probe, fine-tuning the top (the
  first ``top_frozen`` layers frozen) and, where the profile offers them (``arms``), fine-tuning
  every layer and L2-SP, which cost about ten times as much a run on a CPU.

Each arm's learning rate is chosen by cross-validation within the folder's training images
(:func:`selection_specs`: one run per rate and fold, on search seeds, the fold read as its test
set), so the folder's test images are read only by the reported runs (:func:`reported_specs`),
one per arm and replicate seed on every training image. Arms of one seed share the seed; the
runs of one arm differ by their initial weights, batch order and source network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...data import folder as image_folder
from ...methods import transfer
from ...spec import DataSpec, ModelSpec, RunSpec, TransferSpec
from ..pretrained import design as pt
from ..pretrained.sources import Source
from ..profile import load_profiles, replicate_seeds, search_seeds, seed_params, settings
from ..small_targets.recipe import train_config

__all__ = ["PROFILES", "ARMS", "BOOK", "IMAGENET", "KEPT", "start_of", "method_of",
           "source_settings", "candidates", "book_sources", "cnn_model", "imagenet_model",
           "model_of", "data_spec", "length", "arm_spec", "selection_specs", "reported_specs",
           "source_specs", "pool_sizes"]

PROFILES = load_profiles("own_images")

#: The two ways to start besides scratch.
BOOK, IMAGENET = "book source", "ImageNet"
#: Every arm of the page, in page order: ``scratch``, then ``"{start}: {method}"``.
ARMS = ("scratch", *(f"{BOOK}: {m}" for m in ("linear probe", "fine-tune", "L2-SP", "DELTA",
                                              "BSS")),
        *(f"{IMAGENET}: {m}" for m in ("linear probe", "fine-tune top", "fine-tune", "L2-SP")))
#: Arms never left out to fit a budget: the baseline and the cheapest use of each start.
KEPT = ("scratch", f"{BOOK}: linear probe", f"{IMAGENET}: linear probe")


def start_of(arm: str) -> str:
    """``scratch``, :data:`BOOK` or :data:`IMAGENET`."""
    return arm.split(": ")[0]


def method_of(arm: str) -> str:
    """The method of an arm (``scratch``, ``linear probe``, ``fine-tune top``, ...)."""
    return arm.split(": ")[-1]


def source_settings(s: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of the pretrained chapter whose sources are the candidates (its profile
    ``sources_profile``, the same seeds)."""
    return settings(pt.PROFILES, {"profile": s["sources_profile"], **seed_params(s)})


def candidates(s: Mapping[str, Any]) -> list[Source]:
    """Every candidate source: the ImageNet weights, then the book's cnn8 sources (those of the
    pretrained chapter, random network included)."""
    return list(pt.sources({"profile": s["sources_profile"], **seed_params(s)}))


def book_sources(s: Mapping[str, Any]) -> list[Source]:
    """The book's trained cnn8 sources, the candidates for *the nearest book source*."""
    return [c for c in candidates(s) if c.kind in ("glyphs", "trained")]


def cnn_model(s: Mapping[str, Any]) -> ModelSpec:
    """The cnn8 of the book's sources (its width, input side and channels)."""
    return pt.cnn_model(source_settings(s))


def imagenet_model(s: Mapping[str, Any]) -> ModelSpec:
    """EfficientNet-Lite0 with its ImageNet weights, at ``imagenet_size``, in colour."""
    return ModelSpec(arch="efficientnet_lite0", size=int(s["imagenet_size"]), channels=3,
                     weights="imagenet")


def model_of(s: Mapping[str, Any], arm: str) -> ModelSpec:
    """The network an arm trains."""
    return imagenet_model(s) if start_of(arm) == IMAGENET else cnn_model(s)


def data_spec(scan: Any, s: Mapping[str, Any], model: ModelSpec, *, folds: int = 0,
              fold: int = 0, n: int | None = None, subsample_seed: int = 0) -> DataSpec:
    """The folder's images at the format of ``model`` (read at its side and channels): every
    training image (``n`` None) or ``n`` per class, or with ``folds`` the pool without fold
    ``fold`` (whose images are then the run's test set)."""
    options = image_folder.spec_options(scan, side=model.size, channels=model.channels,
                                        test_fraction=float(s["test_fraction"]), folds=folds,
                                        fold=fold)
    return DataSpec("folder", options, n_per_class=n, subsample_seed=subsample_seed)


def pool_sizes(scan: Any, s: Mapping[str, Any]) -> list[int]:
    """Training images of each class after the test images are set apart."""
    opts = image_folder.spec_options(scan, test_fraction=float(s["test_fraction"]))
    src = image_folder.SOURCE
    return list(src.class_counts("train", src.options(opts)))


def length(s: Mapping[str, Any], arm: str) -> dict[str, int]:
    """``steps``, ``min_epochs`` and ``batch_size`` of an arm: the profile's number, or its
    entry for the arm (``scratch``) or else for the arm's architecture."""
    arch = model_of(s, arm).arch
    out = {}
    for key in ("steps", "min_epochs", "batch_size"):
        v = s[key]
        out[key] = int(v.get(arm, v[arch]) if isinstance(v, Mapping) else v)
    return out


def _transfer(s: Mapping[str, Any], arm: str, source: Source | None, seed: int
              ) -> TransferSpec:
    method = method_of(arm)
    if arm == "scratch":
        return transfer("scratch")
    if start_of(arm) == IMAGENET:
        top = 9  # every layer of EfficientNet-Lite0 but its classifier
        if method == "L2-SP":
            return TransferSpec(layers=top, freeze=False, regularizer="l2sp",
                                alpha=float(s["alpha"]), beta=float(s["beta"]))
        frozen: bool | int = {"linear probe": True, "fine-tune": False}.get(
            method, int(s["top_frozen"]))
        return TransferSpec(layers=top, freeze=frozen)
    if source is None:
        raise ValueError(f"arm {arm!r} needs a book source")
    run = pt.source_run(source_settings(s), source, seed)
    options: dict[str, float] = {}
    if method in ("L2-SP", "DELTA"):
        options = dict(alpha=float(s["alpha"]), beta=float(s["beta"]))
    if method in ("DELTA", "BSS"):
        options["alpha"] = float(s["strength"][method])
    return transfer(method, run, **options)


def arm_spec(s: Mapping[str, Any], scan: Any, arm: str, lr: float, seed: int,
             source: Source | None, *, images: int, folds: int = 0, fold: int = 0,
             n: int | None = None) -> RunSpec:
    """The run of ``arm`` at learning rate ``lr`` for ``seed`` on ``images`` training images
    (the data of :func:`data_spec`), tagged ``arm``, ``start``, ``method`` and ``source``."""
    model = model_of(s, arm)
    d = data_spec(scan, s, model, folds=folds, fold=fold, n=n,
                  subsample_seed=seed if n is not None else 0)
    train = train_config(length(s, arm), images, float(lr))
    name = "none" if arm == "scratch" else (
        "ImageNet (EfficientNet-Lite0)" if start_of(arm) == IMAGENET else source.name)
    return RunSpec(d, model, train, _transfer(s, arm, source, seed), seed=seed).with_tags(
        arm=arm, start=start_of(arm), method=method_of(arm), source=name)


def selection_specs(s: Mapping[str, Any], scan: Any, arms: Sequence[str], folds: int,
                    source: Source) -> list[RunSpec]:
    """The cross-validation runs each arm's rate is chosen on: every rate of its ``grid`` on
    every fold, fold ``k`` on search seed ``k`` (its initial weights, batch order and source
    network: none a reported replicate uses), tagged ``fold`` and ``lr_choice``."""
    pool = sum(pool_sizes(scan, s))
    images = max(1, round(pool * (folds - 1) / folds))
    out = []
    for k, seed in enumerate(search_seeds(folds)):
        for arm in arms:
            for lr in s["grid"][arm]:
                out.append(arm_spec(s, scan, arm, lr, seed, source, images=images,
                                    folds=folds, fold=k).with_tags(fold=k, lr_choice=arm))
    return out


def reported_specs(s: Mapping[str, Any], scan: Any, arms: Sequence[str], seeds: int,
                   rates: Mapping[str, float], source: Source,
                   half: Sequence[str] = ()) -> list[RunSpec]:
    """The reported runs: every arm at its chosen rate on every training image, for each of
    ``seeds`` replicate seeds; and the arms of ``half`` again on half the images of the
    smallest class per class (tag ``share`` ``"half"``; the others ``"all"``)."""
    sizes = pool_sizes(scan, s)
    n_half = max(1, min(sizes) // 2)
    out = []
    for seed in replicate_seeds(s, seeds):
        for arm in arms:
            out.append(arm_spec(s, scan, arm, rates[arm], seed, source, images=sum(sizes))
                       .with_tags(share="all"))
        for arm in half:
            out.append(arm_spec(s, scan, arm, rates[arm], seed, source,
                                images=n_half * len(sizes), n=n_half).with_tags(share="half"))
    return out


def source_specs(s: Mapping[str, Any]) -> list[RunSpec]:
    """The source network of every trained book source for the first replicate seed: the
    networks whose transferability scores the page reports (shared with the pretrained
    chapter's runs)."""
    ps = source_settings(s)
    first = replicate_seeds(s, 1)[0]
    return [pt.source_run(ps, src, first).with_tags(source=src.name)
            for src in book_sources(s)]
