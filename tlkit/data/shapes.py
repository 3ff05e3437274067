"""``shapes``: procedural shapes and textures, a domain far from characters and photographs.

Ten classes: six filled shapes (circle, square, triangle, cross, ring, star) drawn at a random
position, size and rotation, and four textures filling the image (horizontal stripes,
diagonal stripes, checkerboard, dots) with a random period, phase and small rotation. Each
image has a random background and foreground intensity and Gaussian pixel noise.

Shapes are drawn from signed distance functions ``d`` (negative inside, in units of the
shape radius ``r``) with an antialiased edge: coverage ``clip(0.5 - r d, 0, 1)`` with ``r`` in
pixels. All images of a class are computed at once on a pixel grid. The generator is this
package's own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from ..checks import option_int
from .base import TensorData
from .source import DatasetSource, stream_seed, validate_split

__all__ = ["CLASSES", "SHAPE_CLASSES", "TEXTURE_CLASSES", "DEFAULT_OPTIONS", "generate", "SOURCE"]

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "ring", "star")
TEXTURE_CLASSES = ("horizontal_stripes", "diagonal_stripes", "checkerboard", "dots")
CLASSES = SHAPE_CLASSES + TEXTURE_CLASSES

DEFAULT_OPTIONS: Mapping[str, Any] = {"n_train": 200, "n_test": 100, "resolution": 32, "seed": 0}

_RADIUS = (0.22, 0.38)  # shape radius as a fraction of the side
_CENTRE = 0.15  # shape centre offset from the middle, as a fraction of the side
_PERIOD = (4.0, 8.0)  # texture period in pixels at resolution 32
_TEXTURE_TILT_DEG = 10.0
_BACKGROUND = (0.0, 0.4)
_FOREGROUND = (0.6, 1.0)
_NOISE = 0.08


def _shape_distance(name: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Signed distance (approximate away from the edge) in units of the shape radius."""
    if name == "circle":
        return torch.sqrt(u * u + v * v) - 1.0
    if name == "square":
        return torch.maximum(u.abs(), v.abs()) - 0.8
    if name == "triangle":  # equilateral, circumradius 1, inradius 0.5
        sides = [
            math.cos(a) * u + math.sin(a) * v
            for a in (math.pi / 2, math.pi / 2 + 2 * math.pi / 3, math.pi / 2 + 4 * math.pi / 3)
        ]
        return torch.stack(sides).amax(0) - 0.5
    if name == "cross":
        au, av = u.abs(), v.abs()
        return torch.minimum(
            torch.maximum(au - 0.28, av - 0.95), torch.maximum(av - 0.28, au - 0.95)
        )
    if name == "ring":
        return (torch.sqrt(u * u + v * v) - 0.72).abs() - 0.22
    if name == "star":  # five points, outer radius 1, inner radius 0.45
        rho = torch.sqrt(u * u + v * v)
        frac = torch.remainder(torch.atan2(v, u) * (5 / (2 * math.pi)), 1.0)
        tri = (frac - 0.5).abs() * 2.0
        return 0.6 * (rho - (0.45 + 0.55 * tri))
    raise ValueError(name)


def _texture_coverage(
    name: str, x: torch.Tensor, y: torch.Tensor, phase1: torch.Tensor, phase2: torch.Tensor
) -> torch.Tensor:
    """Coverage of a texture from coordinates ``x, y`` measured in periods."""
    two_pi = 2 * math.pi
    if name in ("horizontal_stripes", "diagonal_stripes"):
        return (0.5 + 1.5 * torch.sin(two_pi * y + phase1)).clamp(0.0, 1.0)
    if name == "checkerboard":
        wave = torch.sin(two_pi * x + phase1) * torch.sin(two_pi * y + phase2)
        return (0.5 + 3.0 * wave).clamp(0.0, 1.0)
    if name == "dots":
        fx = torch.remainder(x + phase1 / two_pi, 1.0) - 0.5
        fy = torch.remainder(y + phase2 / two_pi, 1.0) - 0.5
        return (0.5 - 4.0 * (torch.sqrt(fx * fx + fy * fy) - 0.28)).clamp(0.0, 1.0)
    raise ValueError(name)


def _uniform(g: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=g)


def _view(t: torch.Tensor) -> torch.Tensor:
    return t.view(-1, 1, 1)


def generate(
    split: str = "train",
    n_train: int = 200,
    n_test: int = 100,
    resolution: int = 32,
    seed: int = 0,
) -> TensorData:
    """Generate the ``split`` of ``shapes``: ``n_train`` (``n_test``) images per class.

    Labels cycle through the classes (``label = i mod 10``); train and test come from
    independent random streams of ``seed``.
    """
    split = validate_split(split)
    opts = SOURCE.options(
        {"n_train": n_train, "n_test": n_test, "resolution": resolution, "seed": seed}
    )
    res = opts["resolution"]
    k = len(CLASSES)
    n = k * opts[f"n_{split}"]
    g = torch.Generator().manual_seed(stream_seed(opts["seed"], split, "shapes"))
    labels = torch.arange(n, dtype=torch.int64) % k
    radius = _uniform(g, n, *_RADIUS) * res
    cx = (0.5 + _uniform(g, n, -_CENTRE, _CENTRE)) * res
    cy = (0.5 + _uniform(g, n, -_CENTRE, _CENTRE)) * res
    angle = _uniform(g, n, 0.0, 2 * math.pi)
    tilt = _uniform(g, n, -_TEXTURE_TILT_DEG, _TEXTURE_TILT_DEG) * (math.pi / 180)
    diagonal = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0) * (math.pi / 4)
    period = _uniform(g, n, *_PERIOD) * (res / 32)
    phase1 = _uniform(g, n, 0.0, 2 * math.pi)
    phase2 = _uniform(g, n, 0.0, 2 * math.pi)
    background = _uniform(g, n, *_BACKGROUND)
    foreground = _uniform(g, n, *_FOREGROUND)
    sigma = _uniform(g, n, 0.0, _NOISE)
    noise = torch.randn(n, res, res, generator=g)

    grid = torch.arange(res, dtype=torch.float32) + 0.5  # pixel centres
    py, px = grid.view(1, -1, 1), grid.view(1, 1, -1)
    coverage = torch.empty(n, res, res)
    for c, name in enumerate(CLASSES):
        idx = (labels == c).nonzero().flatten()
        if name in SHAPE_CLASSES:
            dx, dy = px - _view(cx[idx]), py - _view(cy[idx])
            cos, sin = _view(torch.cos(angle[idx])), _view(torch.sin(angle[idx]))
            r = _view(radius[idx])
            u, v = (cos * dx + sin * dy) / r, (-sin * dx + cos * dy) / r
            cov = (0.5 - r * _shape_distance(name, u, v)).clamp(0.0, 1.0)
        else:
            rot = tilt[idx] + (diagonal[idx] if name == "diagonal_stripes" else 0.0)
            if name == "dots":
                rot = angle[idx]
            cos, sin = _view(torch.cos(rot)), _view(torch.sin(rot))
            p = _view(period[idx])
            x, y = (cos * px + sin * py) / p, (-sin * px + cos * py) / p
            cov = _texture_coverage(name, x, y, _view(phase1[idx]), _view(phase2[idx]))
        coverage[idx] = cov
    images = _view(background) + _view(foreground - background) * coverage + _view(sigma) * noise
    images = images.clamp_(0.0, 1.0).unsqueeze(1).contiguous()
    return TensorData(images, labels, CLASSES, f"shapes/{split}")


def _validate(opts: dict[str, Any]) -> dict[str, Any]:
    return {
        "n_train": option_int("shapes", "n_train", opts["n_train"], 1),
        "n_test": option_int("shapes", "n_test", opts["n_test"], 1),
        "resolution": option_int("shapes", "resolution", opts["resolution"], 8),
        "seed": option_int("shapes", "seed", opts["seed"], 0),
    }


SOURCE = DatasetSource(
    name="shapes",
    kind="embedded",
    description=(
        "procedural shapes (circle, square, triangle, cross, ring, star) and textures "
        "(stripes, checkerboard, dots) with random position, size, rotation, contrast and noise"
    ),
    defaults=DEFAULT_OPTIONS,
    validate=_validate,
    classes=lambda opts: CLASSES,
    class_counts=lambda split, opts: (opts[f"n_{validate_split(split)}"],) * len(CLASSES),
    build=lambda split, opts, root, download: generate(split, **opts),
)
