"""The sources of the pretrained-source page: what each is and the run that trains it.

Beside the ImageNet weights of EfficientNet-Lite0, every source is one of the book's own cnn8
networks (:data:`CNN_KINDS`), each fine-tuned on the targets: base network A of a layer-transfer
split (``glyphs``, the very run of that chapter), a cnn8 trained from scratch on other declared
data with that chapter's scratch recipe (``trained``), or a cnn8 at random weights (``random``:
it has learned nothing, so fine-tuning it is training from scratch with the fine-tuning recipe,
the floor a useful source has to clear). Source networks are trained per seed: replicate ``k``
fine-tunes the source network trained from seed ``k``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...spec import RunSpec
from .. import layer_transfer as lt
from ..source_networks import check_trained, cnn_model, layer_params, trained_run

__all__ = ["IMAGENET", "CNN_KINDS", "Source", "sources_of", "layer_params", "cnn_model",
           "pixel_side", "source_run", "check_sources"]

#: The name of the ImageNet source.
IMAGENET = "ImageNet (EfficientNet-Lite0)"
#: The kinds of the book's own cnn8 sources, each fine-tuned at the rate of the search grid's
#: key ``fine-tune (glyph source)``: ``glyphs`` (base network A of a layer-transfer split),
#: ``trained`` (a cnn8 trained from scratch on declared data, with the layer-transfer chapter's
#: scratch recipe) and ``random`` (a cnn8 with random weights).
CNN_KINDS = ("glyphs", "trained", "random")


@dataclass(frozen=True)
class Source:
    """A source: ``kind`` ``"imagenet"`` (the ImageNet weights), ``"glyphs"`` (base network A
    of the layer-transfer split ``split``), ``"trained"`` (a cnn8 trained from scratch on
    ``dataset`` with ``options`` and ``classes``) or ``"random"`` (a cnn8 at random weights)."""

    name: str
    kind: str
    split: str | None = None
    dataset: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None


def sources_of(s: Mapping[str, Any]) -> list[Source]:
    """The sources of the settings ``s``: the ImageNet source first, then the glyph-trained
    sources, then the ``other_sources`` (``trained`` and ``random``)."""
    return [Source(IMAGENET, "imagenet"),
            *(Source(g["name"], "glyphs", g["split"]) for g in s["glyph_sources"]),
            *(Source(o["name"], o["kind"], dataset=o.get("dataset"),
                     options=dict(o.get("options") or {}),
                     classes=None if o.get("classes") is None else tuple(o["classes"]))
              for o in s.get("other_sources") or [])]


def pixel_side(s: Mapping[str, Any]) -> int:
    """The side of the pixel space in which the page measures distances between a source's
    training images and a target's (the layer-transfer chapter's ``feature_size``)."""
    return int(lt.design_settings(layer_params(s))["feature_size"])


def source_run(s: Mapping[str, Any], source: Source, seed: int) -> RunSpec | None:
    """The source network's run for ``seed``: base network A of a glyph source, or the cnn8
    trained from scratch on a ``trained`` source's data (the layer-transfer chapter's
    ``source_per_class`` images per class, ``validation`` held out, its scratch recipe);
    ``None`` for the ImageNet weights and the random network, which train nothing."""
    lp = layer_params(s)
    if source.kind == "glyphs":
        split = {x.name: x for x in lt.splits(lp)}[source.split]
        return lt.source_spec(lp, split, "a", seed)
    if source.kind == "trained":
        return trained_run(s, source.dataset, source.options, source.classes, seed)
    return None


def check_sources(s: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for a glyph source whose layer-transfer split does not exist, or a
    bad ``other_sources`` entry: a name used twice, a kind other than ``trained`` or
    ``random``, or data a ``trained`` source cannot draw."""
    splits = {x.name for x in lt.splits(layer_params(s))}
    for g in s["glyph_sources"]:
        if g["split"] not in splits:
            raise ValueError(f"glyph source {g['name']!r}: unknown layer-transfer split "
                             f"{g['split']!r}; valid: {', '.join(sorted(splits))}")
    other = s.get("other_sources") or []
    if not isinstance(other, list):
        raise ValueError(f"other_sources must be a list of sources, got {other!r}")
    names = [IMAGENET, *(g["name"] for g in s["glyph_sources"])]
    for o in other:
        if not isinstance(o, Mapping) or "name" not in o or o.get("kind") not in (
                "trained", "random"):
            raise ValueError(f"an entry of other_sources needs a name and kind 'trained' or "
                             f"'random', got {o!r}")
        if o["name"] in names:
            raise ValueError(f"source name {o['name']!r} is used twice")
        names.append(o["name"])
        if o["kind"] == "trained":
            check_trained(s, o["name"], o.get("dataset"), o.get("options"), o.get("classes"))


