"""``folder``: a reader's own images, one subfolder per class.

**Layout** (torchvision's ``ImageFolder``): ``ROOT/<class>/<image>``; the class names are the
subfolders' names, sorted, and label ``k`` is the ``k``-th. An optional ``ROOT/test/<class>/
<image>`` holds a test set with the same classes (``test`` is then not a class). Files ending
in .png .jpg .jpeg .bmp .tif .tiff .gif .webp (any case) are images, read with Pillow; other
files (README.txt, .DS_Store, Thumbs.db, hidden files) are skipped and counted.

**Digest.** :func:`scan` reads the folder once and names its content with 16 hex digits: the
SHA-256 of the sorted list of ``(split, class name, SHA-256 of the file's bytes)``, one entry
per image. Editing an image's bytes, moving an image to another class, or adding or removing
one changes it; renaming the folder, moving it, or renaming a file within its class does not.
Within a class the images are ordered by the SHA-256 of their bytes, so splits and folds do
not depend on file names. A run names the folder by two options, ``path`` (where it is: not
part of the run's identity, :attr:`~tlkit.data.source.DatasetSource.location`) and
``content`` (the digest: part of it); :func:`spec_options` gives both. Building the data checks
that the folder still has that digest, and raises :class:`FolderError` if it changed.

**Splits.** With ``test/``, ``"train"`` is every training image and ``"test"`` is ``test/``.
Without it the split is stratified: of a class of ``c`` images, :func:`held_out_count`
(``round(c * test_fraction)``, at least 1, leaving at least 1) go to test, chosen by a
permutation of the class's images seeded by ``split_seed`` and the class name.

**Folds** (``folds >= 2``): the training pool of each class (all of it with ``test/``, what the
split leaves otherwise) is dealt into ``folds`` folds by a seeded permutation (fold ``j`` takes
positions ``j, j + folds, ...`` of it); with ``fold = k``, ``"train"`` is the pool less fold
``k`` and ``"test"`` is fold ``k``, so selection runs never see the real test images. The folds
of a class partition its pool; a class with fewer pool images than folds is an error
(:func:`max_folds` says how many fit).

**Options.** ``path`` and ``content`` (both ``None`` by default, which only lists the dataset
in the registry; a build needs both, and one without the other is invalid); ``side`` (the side
after resizing) and ``bands`` (1: grey, 3: RGB), named so that they do not clash with
:func:`tlkit.data.load`'s own ``size`` and ``channels`` (which then convert further);
``test_fraction``, ``split_seed``, ``folds``, ``fold``.

**Conversions.** Each image becomes 8-bit RGB, or grey for ``bands=1``: transparency
(RGBA, LA, PA, a palette's or a colour key's) is composited on white, palette, CMYK and YCbCr
images are converted to RGB, black-and-white ones to grey, 16-bit values are divided by 257,
grey is repeated to three channels and RGB made grey by Pillow's ITU-R 601-2 luma. It is
then resized straight to ``side x side`` (stretched, not cropped) with Pillow's bilinear filter,
whose support widens with the reduction (antialiased); a JPEG is first decoded at the smallest
scale that keeps at least ``side`` pixels (``Image.draft``). Only the first frame of an
animated GIF or multi-page TIFF is read. Pixels stay ``uint8`` until the split is turned into
``float32`` in ``[0, 1]``.

**Errors and notes.** A :class:`FolderError` (a ValueError, one line naming the file or
folder) is raised before any training for: a path that is not there or is a file; no class
folders; one class only; a class folder without images, or with fewer than ``min_per_class``;
a folder inside a class folder; an unreadable, truncated or non-image file with an image
extension; an image mode that cannot be converted; a ``test/`` folder with other classes or an
empty test class. Mixed sizes and modes, multi-frame images and skipped files are not errors:
:attr:`FolderScan.notes` says, in a sentence each, what was found and what is done about it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..checks import is_int, is_number, option_int, shown
from .base import TensorData
from .folder_scan import (
    IMAGE_EXTENSIONS,
    FolderError,
    FolderScan,
    Progress,
    clear_scans,
    listing,
    reason,
    scan,
)
from .source import DatasetSource, stream_seed, validate_split

__all__ = ["FolderError", "FolderScan", "scan", "spec_options", "max_folds", "split_files",
           "held_out_count", "read_image", "clear_cache", "DEFAULT_OPTIONS", "IMAGE_EXTENSIONS",
           "SOURCE"]

_NAME = "folder"
DEFAULT_OPTIONS: Mapping[str, Any] = {
    "path": None, "content": None, "side": 32, "bands": 3, "test_fraction": 0.2,
    "split_seed": 0, "folds": 0, "fold": 0,
}
_SIXTEEN_BIT = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_ALPHA = frozenset({"RGBA", "LA", "La", "RGBa", "PA"})
_PIXELS_MAX = 2  # decoded folders (content, side, bands) kept in memory
_CHUNK = 4096  # images turned into float32 at a time


def _validate(opts: Mapping[str, Any]) -> dict[str, Any]:
    path, content = opts["path"], opts["content"]
    if (path is None) != (content is None):
        missing, given = ("path", "content") if path is None else ("content", "path")
        raise ValueError(f"option {missing!r} of dataset 'folder' is required with {given!r}: "
                         "pass tlkit.data.folder.spec_options(scan(PATH)), which gives both")
    if path is not None and (not isinstance(path, str) or not path):
        raise ValueError(f"option 'path' of dataset 'folder' must be the image folder's path as "
                         f"a string, got {shown(path)}")
    if content is not None and not (isinstance(content, str) and len(content) == 16
                                    and all(c in "0123456789abcdef" for c in content)):
        raise ValueError("option 'content' of dataset 'folder' must be the 16 hex digits of "
                         f"scan(path).digest, got {shown(content)}")
    bands = opts["bands"]
    if not is_int(bands, exact=False) or bands not in (1, 3):
        raise ValueError(f"option 'bands' of dataset 'folder' must be 1 (grey) or 3 (RGB), got "
                         f"{shown(bands)}")
    fraction = opts["test_fraction"]
    if not is_number(fraction) or not 0 < fraction < 1:
        raise ValueError("option 'test_fraction' of dataset 'folder' must be a number strictly "
                         f"between 0 and 1, got {shown(fraction)}")
    folds = option_int(_NAME, "folds", opts["folds"], 0)
    if folds == 1:
        raise ValueError("option 'folds' of dataset 'folder' must be 0 (no folds) or at least "
                         "2, got 1")
    fold = option_int(_NAME, "fold", opts["fold"], 0)
    if folds and fold >= folds:
        raise ValueError(f"option 'fold' of dataset 'folder' must lie in 0..{folds - 1} for "
                         f"folds={folds}, got {fold}")
    if not folds and fold:
        raise ValueError(f"option 'fold' of dataset 'folder' needs folds >= 2, got fold={fold} "
                         "with folds=0")
    return {"path": path, "content": content, "side": option_int(_NAME, "side", opts["side"], 1),
            "bands": int(bands), "test_fraction": float(fraction),
            "split_seed": option_int(_NAME, "split_seed", opts["split_seed"], 0),
            "folds": folds, "fold": fold}


def held_out_count(count: int, test_fraction: float) -> int:
    """The number of a class's ``count`` images that the stratified split puts in test:
    ``round(count * test_fraction)`` (Python's rounding, halves to even), at least 1 and at
    most ``count - 1``."""
    return min(count - 1, max(1, round(count * test_fraction)))


def _rng(*words: int | str) -> np.random.Generator:
    return np.random.default_rng(stream_seed(*words))


def _choose(name: str, members: np.ndarray, held_out: np.ndarray | None,
            opts: Mapping[str, Any], root: Path) -> tuple[np.ndarray, np.ndarray]:
    """The train and test images of one class (sorted positions), from its training images
    ``members`` in digest order and its ``test/`` images ``held_out`` (``None``: no test/)."""
    if held_out is None:
        if len(members) < 2:
            raise FolderError(f"the class {name!r} of {root} has {len(members)} image: the "
                              "split needs at least 2 (one to train on, one to test)")
        order = _rng(opts["split_seed"], "folder-split", name).permutation(len(members))
        cut = held_out_count(len(members), opts["test_fraction"])
        held_out, members = np.sort(members[order[:cut]]), np.sort(members[order[cut:]])
    folds = opts["folds"]
    if not folds:
        return members, held_out
    if len(members) < folds:
        raise FolderError(f"the class {name!r} of {root} has {len(members)} images to train on, "
                          f"fewer than folds={folds}: ask for fewer folds (max_folds says how "
                          "many fit)")
    order = _rng(opts["split_seed"], "folder-folds", folds, name).permutation(len(members))
    fold = np.sort(members[order[opts["fold"]::folds]])
    return np.setdiff1d(members, fold), fold


def _index(found: FolderScan, split: str, opts: Mapping[str, Any]) -> np.ndarray:
    """Positions in ``found.train + found.test`` of the images of ``split``."""
    train = validate_split(split) == "train"
    labels = np.array([label for _, label in found.train], dtype=np.int64)
    tests = np.array([label for _, label in found.test], dtype=np.int64)
    chosen = []
    for k, name in enumerate(found.classes):
        held = len(labels) + np.flatnonzero(tests == k) if found.has_test_folder else None
        parts = _choose(name, np.flatnonzero(labels == k), held, opts, found.root)
        chosen.append(parts[0] if train else parts[1])
    return np.concatenate(chosen)


def _options(found: FolderScan | None, **given: Any) -> dict[str, Any]:
    opts = _validate({**DEFAULT_OPTIONS, **given})
    return opts if found is None else {**opts, "path": str(found.root), "content": found.digest}


def split_files(found: FolderScan, split: str, *, test_fraction: float = 0.2,
                split_seed: int = 0, folds: int = 0, fold: int = 0) -> tuple[tuple[str, int], ...]:
    """``(path relative to the folder, label)`` of the images that ``split`` (``"train"`` or
    ``"test"``) of the scanned folder holds with these options, by class and within a class in
    digest order: the files a build of :data:`SOURCE` reads."""
    opts = _options(None, test_fraction=test_fraction, split_seed=split_seed, folds=folds,
                    fold=fold)
    files = found.train + found.test
    return tuple(files[i] for i in _index(found, split, opts))


def _pools(found: FolderScan, test_fraction: float) -> tuple[int, ...]:
    counts = found.per_class("train")
    if found.has_test_folder:
        return counts
    return tuple(c - held_out_count(c, test_fraction) for c in counts)


def max_folds(found: FolderScan, test_fraction: float = 0.2) -> int:
    """The largest number of folds that every class of the scanned folder can fill: the size of
    its smallest training pool (what the split with ``test_fraction`` leaves to train on, or
    every training image when there is a ``test/`` folder). Folds need at least 2."""
    return min(_pools(found, test_fraction))


def spec_options(found: FolderScan, *, side: int = 32, channels: int = 3,
                 test_fraction: float = 0.2, split_seed: int = 0, folds: int = 0,
                 fold: int = 0) -> dict[str, Any]:
    """The options of dataset ``"folder"`` for the scanned folder, for
    ``tlkit.spec.DataSpec("folder", options, ...)`` or :func:`tlkit.data.load`: its ``path``
    and ``content`` (digest) with the values given (``channels`` becomes the option ``bands``:
    ``load`` has a ``channels`` of its own). Raises ValueError for an invalid value and
    :class:`FolderError` when a class cannot fill ``folds`` folds."""
    opts = _options(found, side=side, bands=channels, test_fraction=test_fraction,
                    split_seed=split_seed, folds=folds, fold=fold)
    pools = _pools(found, opts["test_fraction"])
    if folds and folds > min(pools):
        smallest = found.classes[int(np.argmin(pools))]
        raise FolderError(f"{folds} folds do not fit the folder {found.root}: its class "
                          f"{smallest!r} has {min(pools)} images to train on, so at most "
                          f"{min(pools)} folds")
    return opts


# --- pixels ---------------------------------------------------------------------------------


def _eight_bit(im: Image.Image) -> Image.Image:
    """``im`` as an 8-bit grey (L) or RGB image."""
    if im.mode in _SIXTEEN_BIT:
        values = np.clip(np.asarray(im, dtype=np.int64), 0, 65535)
        return Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8))
    if im.mode in _ALPHA or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode in ("L", "RGB"):
        return im
    return im.convert("L" if im.mode == "1" else "RGB")


def read_image(path: str | Path, side: int, channels: int) -> np.ndarray:
    """The image file at ``path`` as a ``uint8`` array of shape ``(channels, side, side)``,
    converted and resized as the module docstring says (Pillow's ``Image.resize`` with
    ``Resampling.BILINEAR``, antialiased when shrinking)."""
    with Image.open(path) as opened:
        if opened.format == "JPEG":
            opened.draft(opened.mode, (side, side))
        im = _eight_bit(opened)
        want = "L" if channels == 1 else "RGB"
        if im.mode != want:
            im = im.convert(want)
        if im.size != (side, side):
            im = im.resize((side, side), Image.Resampling.BILINEAR)
        pixels = np.asarray(im, dtype=np.uint8)
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


_lock = threading.Lock()
_pixels_cache: OrderedDict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()


def _pixels(found: FolderScan, side: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Every image (train then test) as ``uint8 (N, channels, side, side)`` and the labels,
    cached by ``(digest, side, channels)``."""
    key = (found.digest, side, channels)
    with _lock:
        if key in _pixels_cache:
            _pixels_cache.move_to_end(key)
            return _pixels_cache[key]
    files = found.train + found.test
    out = np.empty((len(files), channels, side, side), dtype=np.uint8)
    meter = Progress(f"reading {found.root} at {side} x {side}", len(files), None)
    for i, (rel, _) in enumerate(files):
        try:
            out[i] = read_image(found.root / rel, side, channels)
        except (OSError, SyntaxError, ValueError) as exc:
            raise FolderError(f"cannot read the image {rel!r} in {found.root}: "
                              f"{reason(exc)}") from None
        meter.step()
    labels = np.array([label for _, label in files], dtype=np.int64)
    with _lock:
        _pixels_cache[key] = (out, labels)
        while len(_pixels_cache) > _PIXELS_MAX:
            _pixels_cache.popitem(last=False)
    return out, labels


def clear_cache() -> None:
    """Forget the cached scans and decoded pixels of every folder."""
    clear_scans()
    with _lock:
        _pixels_cache.clear()


def _required(opts: Mapping[str, Any]) -> tuple[str, str]:
    if opts["path"] is None or opts["content"] is None:
        raise ValueError("dataset 'folder' needs the options 'path' and 'content': pass "
                         "tlkit.data.folder.spec_options(scan(PATH))")
    return opts["path"], opts["content"]


def build(split: str, opts: Mapping[str, Any], root: Path | None = None,
          download: bool | None = None) -> TensorData:
    """The ``split`` of the folder named by ``opts`` (validated options), as float32 images
    ``(N, bands, side, side)`` in ``[0, 1]``, by class and within a class in digest order.

    Scans the folder first (cheap when its files' stats are unchanged) and raises
    :class:`FolderError` when its digest is no longer ``opts["content"]``. ``root`` and
    ``download`` are not used.
    """
    path, content = _required(opts)
    found = scan(path, min_per_class=1)
    if found.digest != content:
        raise FolderError(f"the folder {found.root} changed since its runs were planned "
                          f"(content {content} now {found.digest}): scan it again")
    index = _index(found, split, opts)
    pixels, labels = _pixels(found, opts["side"], opts["bands"])
    images = torch.empty((len(index), *pixels.shape[1:]), dtype=torch.float32)
    for i in range(0, len(index), _CHUNK):  # no uint8 copy of the whole split on the way
        images[i:i + _CHUNK] = torch.from_numpy(pixels[index[i:i + _CHUNK]])
    images.div_(255.0)
    return TensorData(images, torch.from_numpy(labels[index]), found.classes, f"folder/{split}")


def _classes(opts: Mapping[str, Any]) -> tuple[str, ...]:
    return () if opts["path"] is None else listing(opts["path"]).classes


def _class_counts(split: str, opts: Mapping[str, Any]) -> tuple[int, ...] | None:
    """Per-class counts of ``split`` from the file names alone (nothing decoded)."""
    if opts["path"] is None:
        return None
    train = validate_split(split) == "train"
    found = listing(opts["path"])
    counts = []
    for k, name in enumerate(found.classes):
        held = np.arange(len(found.test[k])) if found.has_test_folder else None
        parts = _choose(name, np.arange(len(found.train[k])), held, opts, found.root)
        counts.append(len(parts[0] if train else parts[1]))
    return tuple(counts)


def _availability(root: Path, split: str | None = None) -> str:
    """``"on disk"``: an image folder is wherever its ``path`` option says; that it is there
    and unchanged is checked by the scan (:func:`scan`, and before training by the
    preflight), not here."""
    if split is not None:
        validate_split(split)
    return "on disk"


SOURCE = DatasetSource(
    name=_NAME,
    kind="folder",
    description=(
        "a reader's own images, one subfolder per class (ImageFolder layout), read with "
        "Pillow; split stratified by test_fraction, or by a test/ subfolder"
    ),
    defaults=DEFAULT_OPTIONS,
    validate=_validate,
    classes=_classes,
    class_counts=_class_counts,
    build=build,
    availability=_availability,
    location=("path",),
)
