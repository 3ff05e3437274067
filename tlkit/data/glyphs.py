"""``glyphs``: characters rendered from the TrueType fonts that matplotlib ships.

A generated dataset with a dial for domain shift. Each class is one character; each image is
that character drawn from a font file of the chosen families, with a random size, rotation,
shear, translation, stroke weight, contrast and pixel noise. The ``shift`` option moves the
whole distribution away from ``shift=0`` by a style change whose strength grows linearly with
``shift``: a growing rightward slant, thicker and increasingly hollow (outlined) strokes, and
a brighter, cluttered background. The same seed draws the same random variates whatever the
shift, so ``shift=s`` shows the images of ``shift=0`` restyled, and the distance between the
two distributions grows monotonically with ``s``.

Every character is rendered once per font file with PIL at a high resolution (the master);
samples are made from the masters with tensor operations over the whole batch:
an affine resampling (:func:`torch.nn.functional.affine_grid`/``grid_sample``) at twice the
output resolution, stroke dilation and erosion by max-pooling, and an average-pool down to the
output resolution, which antialiases. With ``g`` the glyph coverage in [0, 1], an image is

    x = clip(b (1 - g) + f g + sigma eps, 0, 1),   eps ~ N(0, 1) per pixel,

with foreground ``f ~ U(0.75, 1)``, background ``b ~ U(0, 0.15)`` and noise level
``sigma ~ U(0, 0.06)``. The glyph is scaled by ``U(0.8, 1.1)`` (a capital is then about half
the image tall), stretched in width by ``exp(U(-0.1, 0.1))``, rotated by ``U(-12, 12)``
degrees and moved by ``U(-0.12, 0.12)`` of the half-width in each direction. At shift ``s``:

- shear ``~ U(-0.08, 0.08) + 0.45 s`` (a rightward slant);
- stroke weight ``w ~ U(-0.6, 0.6) + 1.2 s``, where -1, 0, 1, 2 mean one erosion, none, one
  and two dilations by a 3x3 square, linearly interpolated between;
- hollow strokes ``g <- g - 0.5 s erode(erode(g))``;
- background ``b <- b + 0.3 s + 0.1 s c``, with ``c`` smooth clutter (Gaussian noise on a 4x4
  grid, bicubically upsampled).

The generator is this package's own; the fonts are the DejaVu, STIX and Computer Modern
(BaKoMa) fonts distributed with matplotlib under their own licences.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..checks import option_float, option_int
from .base import TensorData
from .source import DatasetSource, stream_seed, validate_split

__all__ = [
    "DEFAULT_CHARSET",
    "DIGITS",
    "LETTERS",
    "FONT_FAMILIES",
    "DEFAULT_OPTIONS",
    "font_dir",
    "font_files",
    "render_masters",
    "generate",
    "SOURCE",
]

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DEFAULT_CHARSET = DIGITS + LETTERS

#: Font files of each family, relative to matplotlib's ``fonts/ttf`` folder.
FONT_FAMILIES: Mapping[str, tuple[str, ...]] = {
    "sans": (
        "DejaVuSans.ttf",
        "DejaVuSans-Bold.ttf",
        "DejaVuSans-Oblique.ttf",
        "DejaVuSans-BoldOblique.ttf",
    ),
    "serif": (
        "DejaVuSerif.ttf",
        "DejaVuSerif-Bold.ttf",
        "DejaVuSerif-Italic.ttf",
        "DejaVuSerif-BoldItalic.ttf",
    ),
    "mono": (
        "DejaVuSansMono.ttf",
        "DejaVuSansMono-Bold.ttf",
        "DejaVuSansMono-Oblique.ttf",
        "DejaVuSansMono-BoldOblique.ttf",
    ),
    "stix": (
        "STIXGeneral.ttf",
        "STIXGeneralBol.ttf",
        "STIXGeneralItalic.ttf",
        "STIXGeneralBolIta.ttf",
    ),
    "cm": ("cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf", "cmti10.ttf"),
}

DEFAULT_OPTIONS: Mapping[str, Any] = {
    "charset": DEFAULT_CHARSET,
    "fonts": ("sans",),
    "shift": 0.0,
    "n_train": 200,
    "n_test": 100,
    "resolution": 32,
    "seed": 0,
}

# Ranges of the per-image nuisance variables (at shift = 0).
_SCALE = (0.80, 1.10)  # glyph size relative to the master
_ASPECT = 0.10  # log width/height ratio in [-a, a]
_ROTATION_DEG = 12.0  # rotation in [-r, r] degrees
_SHEAR = 0.08  # horizontal shear in [-s, s]
_TRANSLATION = 0.12  # translation in [-t, t] of the half-width
_STROKE = 0.6  # stroke weight in [-w, w]; -1 is one erosion, +1 one dilation (half-res pixels)
_FOREGROUND = (0.75, 1.0)
_BACKGROUND = (0.0, 0.15)
_NOISE = 0.06  # pixel noise standard deviation in [0, n]

# Style change at shift = 1, scaled linearly by the shift.
_SHIFT_SHEAR = 0.45  # rightward slant
_SHIFT_STROKE = 1.2  # added stroke weight
_SHIFT_HOLLOW = 0.5  # fraction of the stroke interior removed (outlined glyphs)
_SHIFT_BACKGROUND = 0.30  # background brightness
_SHIFT_CLUTTER = 0.10  # amplitude of smooth background clutter

_CAP_HEIGHT = 0.55  # height of "H" as a fraction of the image at scale 1
_CHUNK = 1024  # images transformed at a time


def font_dir() -> Path:
    """matplotlib's folder of TrueType fonts."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_files(families: Sequence[str]) -> list[list[Path]]:
    """For each family in ``families``, the paths of its font files."""
    root = font_dir()
    return [[root / f for f in FONT_FAMILIES[family]] for family in families]


@functools.lru_cache(maxsize=64)
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())


def _validate(options: dict[str, Any]) -> dict[str, Any]:
    name = "glyphs"
    charset = options["charset"]
    if isinstance(charset, str):
        chars = tuple(charset)
    elif isinstance(charset, Sequence) and all(isinstance(c, str) for c in charset):
        chars = tuple(charset)
    else:
        raise ValueError(f"option 'charset' of dataset 'glyphs' must be a string, got {charset!r}")
    if not chars or any(len(c) != 1 or not c.isprintable() or c.isspace() for c in chars):
        raise ValueError(
            "option 'charset' of dataset 'glyphs' must be a non-empty string of visible "
            f"characters, got {charset!r}"
        )
    if len(set(chars)) != len(chars):
        dup = sorted({c for c in chars if chars.count(c) > 1})
        raise ValueError(f"option 'charset' of dataset 'glyphs' repeats {dup}")
    fonts = options["fonts"]
    fonts = (fonts,) if isinstance(fonts, str) else tuple(fonts)
    unknown = [f for f in fonts if f not in FONT_FAMILIES]
    if not fonts or unknown:
        raise ValueError(
            f"option 'fonts' of dataset 'glyphs' must be a non-empty tuple of font families "
            f"from {tuple(FONT_FAMILIES)}, got {options['fonts']!r}"
        )
    if len(set(fonts)) != len(fonts):
        raise ValueError(f"option 'fonts' of dataset 'glyphs' repeats a family: {fonts}")
    for family, paths in zip(fonts, font_files(fonts), strict=True):
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(f"font file {path} of family {family!r} is missing")
            missing = [c for c in chars if ord(c) not in _charmap(str(path))]
            if missing:
                raise ValueError(
                    f"font family {family!r} cannot draw {''.join(missing)!r} "
                    f"({path.name} has no glyph for it)"
                )
    return {
        "charset": "".join(chars),
        "fonts": fonts,
        "shift": option_float(name, "shift", options["shift"], 0.0, 1.0),
        "n_train": option_int(name, "n_train", options["n_train"], 1),
        "n_test": option_int(name, "n_test", options["n_test"], 1),
        "resolution": option_int(name, "resolution", options["resolution"], 8),
        "seed": option_int(name, "seed", options["seed"], 0),
    }


@functools.lru_cache(maxsize=32)
def _render_font(path: str, charset: str, size: int) -> torch.Tensor:
    """Masters of every character of ``charset`` in one font: float32 ``(K, size, size)``."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    probe = ImageFont.truetype(path, 100)
    left, top, right, bottom = probe.getbbox("H", anchor="ls")
    font_size = max(1, round(100 * _CAP_HEIGHT * size / (bottom - top)))
    font = ImageFont.truetype(path, font_size)
    masters = np.zeros((len(charset), size, size), dtype=np.float32)
    limit = 0.92 * size
    for k, char in enumerate(charset):
        glyph_font = font
        left, top, right, bottom = glyph_font.getbbox(char, anchor="ls")
        extent = max(right - left, bottom - top)
        if extent > limit:  # a glyph too large for the canvas is drawn smaller
            glyph_font = ImageFont.truetype(path, max(1, int(font_size * limit / extent)))
            left, top, right, bottom = glyph_font.getbbox(char, anchor="ls")
        image = Image.new("L", (size, size), 0)
        origin = (size / 2 - (left + right) / 2, size / 2 - (top + bottom) / 2)
        ImageDraw.Draw(image).text(origin, char, font=glyph_font, fill=255, anchor="ls")
        masters[k] = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(masters)


def render_masters(paths: Sequence[Path], charset: str, size: int) -> torch.Tensor:
    """High-resolution masters: float32 ``(len(paths), len(charset), size, size)`` in [0, 1].

    Each character is centred by its bounding box; the font size makes the capital "H"
    ``0.55 * size`` pixels tall, so relative character sizes within a font are kept.
    Results are cached per font file.
    """
    return torch.stack([_render_font(str(p), charset, size) for p in paths])


def _uniform(g: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=g)


def _affine(
    scale: torch.Tensor,
    aspect: torch.Tensor,
    rotation: torch.Tensor,
    shear: torch.Tensor,
    tx: torch.Tensor,
    ty: torch.Tensor,
) -> torch.Tensor:
    """``theta`` for ``affine_grid``: the inverse of ``p -> T + R(rot) Sh(shear) S p``.

    Coordinates are normalised to [-1, 1] with y pointing down, so a positive shear
    (``x' = x - shear * y``) slants the glyph to the right.
    """
    sx, sy = scale * torch.exp(aspect), scale * torch.exp(-aspect)
    cos, sin = torch.cos(rotation), torch.sin(rotation)
    # forward linear part A = R @ Sh @ S, Sh = [[1, -shear], [0, 1]]
    a11, a12 = cos * sx, (-cos * shear - sin) * sy
    a21, a22 = sin * sx, (-sin * shear + cos) * sy
    det = a11 * a22 - a12 * a21
    i11, i12, i21, i22 = a22 / det, -a12 / det, -a21 / det, a11 / det
    b1 = -(i11 * tx + i12 * ty)
    b2 = -(i21 * tx + i22 * ty)
    return torch.stack([torch.stack([i11, i12, b1], -1), torch.stack([i21, i22, b2], -1)], -2)


def _dilate(x: torch.Tensor) -> torch.Tensor:
    """Grey-level dilation by the 3x3 square: each pixel the maximum of its neighbourhood
    (outside the image ignored), taken along rows, then along columns. The same values as
    ``max_pool2d(x, 3, stride=1, padding=1)``, which is many times slower on one channel."""
    p = F.pad(x, (1, 1, 1, 1), value=-math.inf)
    rows = torch.maximum(torch.maximum(p[..., :, :-2], p[..., :, 1:-1]), p[..., :, 2:])
    return torch.maximum(torch.maximum(rows[..., :-2, :], rows[..., 1:-1, :]), rows[..., 2:, :])


def _erode(x: torch.Tensor) -> torch.Tensor:
    return -_dilate(-x)


def _stroke(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Stroke weight change by piecewise-linear interpolation between morphological levels.

    ``weight`` of shape ``(N,)`` in [-1, 2]: -1 is one erosion, 0 the input, 1 one dilation
    and 2 two dilations (3x3 square structuring element), linearly interpolated between.
    """
    w = weight.clamp(-1.0, 2.0).view(-1, 1, 1, 1)
    d1 = _dilate(x)
    out = x + (-w).clamp(0.0, 1.0) * (_erode(x) - x)
    out += w.clamp(0.0, 1.0) * (d1 - x)
    out += (w - 1.0).clamp(0.0, 1.0) * (_dilate(d1) - d1)
    return out


def generate(split: str = "train", **options: Any) -> TensorData:
    """Generate the ``split`` of ``glyphs`` for ``options`` (see :data:`DEFAULT_OPTIONS`).

    Labels cycle through the classes (``label = i mod K``) and every class has exactly
    ``n_train`` (``n_test``) images. Train and test come from independent random streams
    of ``seed``; ``shift`` does not change the random variates drawn, only their effect.
    """
    split = validate_split(split)
    opts = SOURCE.options(options)
    charset, res, shift = opts["charset"], opts["resolution"], opts["shift"]
    n_classes = len(charset)
    n = n_classes * opts[f"n_{split}"]
    families = font_files(opts["fonts"])
    paths = [p for family in families for p in family]
    masters = render_masters(paths, charset, 3 * res)  # (F, K, M, M)
    # a family is drawn uniformly, then a file of that family uniformly
    file_weights = torch.tensor(
        [1.0 / (len(families) * len(family)) for family in families for _ in family],
        dtype=torch.float64,
    )

    g = torch.Generator().manual_seed(stream_seed(opts["seed"], split, "glyphs"))
    labels = torch.arange(n, dtype=torch.int64) % n_classes
    font = torch.multinomial(file_weights, n, replacement=True, generator=g)
    scale = _uniform(g, n, *_SCALE)
    aspect = _uniform(g, n, -_ASPECT, _ASPECT)
    rotation = _uniform(g, n, -_ROTATION_DEG, _ROTATION_DEG) * (math.pi / 180.0)
    shear = _uniform(g, n, -_SHEAR, _SHEAR) + _SHIFT_SHEAR * shift
    tx = _uniform(g, n, -_TRANSLATION, _TRANSLATION)
    ty = _uniform(g, n, -_TRANSLATION, _TRANSLATION)
    stroke = _uniform(g, n, -_STROKE, _STROKE) + _SHIFT_STROKE * shift
    foreground = _uniform(g, n, *_FOREGROUND)
    background = _uniform(g, n, *_BACKGROUND) + _SHIFT_BACKGROUND * shift
    sigma = _uniform(g, n, 0.0, _NOISE)
    clutter = torch.randn(n, 1, 4, 4, generator=g)
    noise = torch.randn(n, 1, res, res, generator=g)

    theta = _affine(scale, aspect, rotation, shear, tx, ty)
    flat_masters = masters.reshape(-1, 1, *masters.shape[-2:])
    out = torch.empty(n, 1, res, res)
    for start in range(0, n, _CHUNK):
        sl = slice(start, min(start + _CHUNK, n))
        src = flat_masters[font[sl] * n_classes + labels[sl]]
        grid = F.affine_grid(theta[sl], [src.shape[0], 1, 2 * res, 2 * res], align_corners=False)
        x = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        x = _stroke(x, stroke[sl])
        if shift > 0:
            x = x - _SHIFT_HOLLOW * shift * _erode(_erode(x))
        out[sl] = F.avg_pool2d(x, 2)

    field = background.view(-1, 1, 1, 1)
    if shift > 0:
        blobs = F.interpolate(clutter, size=(res, res), mode="bicubic", align_corners=False)
        field = field + _SHIFT_CLUTTER * shift * blobs
    images = field * (1.0 - out) + foreground.view(-1, 1, 1, 1) * out
    images = (images + sigma.view(-1, 1, 1, 1) * noise).clamp_(0.0, 1.0)
    return TensorData(images.contiguous(), labels, tuple(charset), f"glyphs/{split}")


def _classes(opts: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(opts["charset"])


def _class_counts(split: str, opts: Mapping[str, Any]) -> tuple[int, ...]:
    return (opts[f"n_{validate_split(split)}"],) * len(opts["charset"])


SOURCE = DatasetSource(
    name="glyphs",
    kind="embedded",
    description=(
        "characters rendered from matplotlib's TrueType fonts (DejaVu, STIX, Computer Modern) "
        "with random size, rotation, shear, position, stroke, contrast and noise; "
        "font families and a style shift are options"
    ),
    defaults=DEFAULT_OPTIONS,
    validate=_validate,
    classes=_classes,
    class_counts=_class_counts,
    build=lambda split, opts, root, download: generate(split, **opts),
)
