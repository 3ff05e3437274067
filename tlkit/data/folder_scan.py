"""Reading a reader's image folder once: its layout, its images' bytes, sizes and modes.

The rules are in :mod:`tlkit.data.folder`, which re-exports :func:`scan` and its types.
:func:`listing` is the cheap part (names and file stats, no image opened)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from PIL import Image, UnidentifiedImageError

from ..checks import is_int
from .source import validate_split

__all__ = ["FolderError", "FolderScan", "Listing", "scan", "listing", "IMAGE_EXTENSIONS",
           "SUPPORTED_MODES", "TEST_FOLDER", "PROGRESS_ABOVE", "Progress", "clear_scans",
           "reason"]

#: Extensions (compared in lower case) of the files read as images; other files are skipped.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp")
#: The optional subfolder of held-out test images, with the same class folders.
TEST_FOLDER = "test"
#: Pillow modes that are converted to 8-bit grey or RGB; an image in another mode is an error.
SUPPORTED_MODES = frozenset({"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX",
                             "CMYK", "YCbCr", "I", "I;16", "I;16L", "I;16B", "I;16N"})
#: Folders with more images than this print their progress to stderr (``progress=None``).
PROGRESS_ABOVE = 2000

_IGNORED_FOLDERS = frozenset({"__MACOSX"})  # left by macOS zip archives, never a class
_MODE_WORDS = {"L": "grey (L)", "RGBA": "RGB with transparency (RGBA)", "P": "palette (P)",
               "LA": "grey with transparency (LA)", "1": "black and white (1)"}


class FolderError(ValueError):
    """An image folder that tlkit cannot read as a dataset; the message is one line that names
    the problem and the file or folder."""


@dataclass(frozen=True)
class Listing:
    """The names in an image folder, without opening any image: its ``root`` (resolved), its
    ``classes`` (sorted), the images of each class in ``train`` and in ``test`` (empty without
    a ``test/`` folder; paths relative to ``root``, ``/``-separated, sorted), the ``skipped``
    files that are not images and the images ``outside`` any class folder, and the ``stats``
    ``(path, size, mtime_ns)`` of every image, sorted by path."""

    root: Path
    classes: tuple[str, ...]
    train: tuple[tuple[str, ...], ...]
    test: tuple[tuple[str, ...], ...]
    has_test_folder: bool
    skipped: tuple[str, ...]
    outside: tuple[str, ...]
    stats: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class FolderScan:
    """What :func:`scan` found in an image folder.

    Attributes:
        root: the folder, resolved.
        classes: class names (the class folders' names), sorted; label ``k`` is ``classes[k]``.
        train: ``(path relative to root, label)`` of every training image, by class, and within
            a class by the SHA-256 of the file's bytes.
        test: the same for the images of ``root/test/``; empty when there is no such folder.
        has_test_folder: whether ``root/test/`` holds the test images.
        digest: 16 hex digits identifying the images' bytes and classes (not their names).
        notes: one sentence each about conversions, resizes and skipped files.
        sizes: ``(width, height)`` of every train image, then every test image, in order.
        modes: Pillow mode -> number of images in it.
    """

    root: Path
    classes: tuple[str, ...]
    train: tuple[tuple[str, int], ...]
    test: tuple[tuple[str, int], ...]
    has_test_folder: bool
    digest: str
    notes: tuple[str, ...]
    sizes: tuple[tuple[int, int], ...]
    modes: Mapping[str, int] = field(hash=False)  # a read-only dict: hashed through the rest

    def per_class(self, split: str = "train") -> tuple[int, ...]:
        """The number of images of each class in ``split`` (``"train"`` or ``"test"``), in the
        order of :attr:`classes`."""
        files = self.train if validate_split(split) == "train" else self.test
        counts = Counter(label for _, label in files)
        return tuple(counts.get(k, 0) for k in range(len(self.classes)))


class Progress:
    """Prints ``what: done of total images (p%)`` to stderr about every 10% when ``show``."""

    def __init__(self, what: str, total: int, show: bool | None) -> None:
        self.what, self.total, self.done = what, total, 0
        self.show = total > PROGRESS_ABOVE if show is None else bool(show)
        self._tenth = 1

    def step(self) -> None:
        """Count one image, printing a line when another tenth is done."""
        self.done += 1
        if self.show and 10 * self.done >= self._tenth * self.total:
            print(f"{self.what}: {self.done} of {self.total} images "
                  f"({100 * self.done // self.total}%)", file=sys.stderr, flush=True)
            while self._tenth * self.total <= 10 * self.done:
                self._tenth += 1


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as exc:
        raise FolderError(f"cannot list the folder {folder}: {exc.strerror or exc}") from None


def _class_folders(folder: Path, prefix: str, skipped: list[str], outside: list[str],
                   top: bool) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for entry in _entries(folder):
        rel = prefix + entry.name
        if entry.is_dir():
            if entry.name.startswith(".") or entry.name in _IGNORED_FOLDERS:
                skipped.append(rel + "/")
            elif not (top and entry.name == TEST_FOLDER):
                out[entry.name] = Path(entry.path)
        elif _is_image(entry.name) and not entry.name.startswith("."):
            outside.append(rel)
        else:
            skipped.append(rel)
    return out


def _images(root: Path, folder: Path, prefix: str, skipped: list[str],
            stats: list[tuple[str, int, int]]) -> tuple[str, ...]:
    found = []
    for entry in _entries(folder):
        rel = prefix + entry.name
        if entry.is_dir():
            if entry.name.startswith(".") or entry.name in _IGNORED_FOLDERS:
                skipped.append(rel + "/")
                continue
            raise FolderError(
                f"the class folder {prefix.rstrip('/')!r} of {root} holds a folder {rel!r}: "
                "tlkit reads one level of class folders (ROOT/<class>/<image>); move its "
                "images up or make it a class folder of its own")
        if entry.name.startswith(".") or not _is_image(entry.name) or not entry.is_file():
            skipped.append(rel)
            continue
        st = entry.stat()
        stats.append((rel, st.st_size, st.st_mtime_ns))
        found.append(rel)
    if not found:
        raise FolderError(f"the class folder {prefix.rstrip('/')!r} of {root} holds no images "
                          f"(files ending in {', '.join(IMAGE_EXTENSIONS)})")
    return tuple(found)


def listing(path: str | Path) -> Listing:
    """The class folders and image files of the folder ``path``, and their stats, without
    opening any image.

    Raises :class:`FolderError` for a path that is not there or is a file, no class folders,
    one class folder only, a class folder (or a test class folder) without images, a folder
    inside a class folder, and a ``test/`` folder whose class folders differ from the
    training ones. Hidden files and folders and the ``__MACOSX`` folder are skipped.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise FolderError(f"the image folder {root} is not there")
    if not root.is_dir():
        raise FolderError(f"{root} is a file, not a folder of class folders "
                          "(ROOT/<class>/<image>)")
    root = root.resolve()
    skipped: list[str] = []
    outside: list[str] = []
    stats: list[tuple[str, int, int]] = []
    folders = _class_folders(root, "", skipped, outside, top=True)
    classes = tuple(folders)
    if not classes:
        held = f" (it holds {len(outside)} images directly)" if outside else ""
        raise FolderError(f"the image folder {root} has no class folders{held}: put the images "
                          "of each class in a subfolder named after it (ROOT/<class>/<image>)")
    if len(classes) == 1:
        raise FolderError(f"the image folder {root} has one class folder ({classes[0]!r}): "
                          "transfer needs at least two classes")
    train = tuple(_images(root, folders[c], f"{c}/", skipped, stats) for c in classes)
    test: tuple[tuple[str, ...], ...] = ()
    has_test = (root / TEST_FOLDER).is_dir()
    if has_test:
        inner = _class_folders(root / TEST_FOLDER, f"{TEST_FOLDER}/", skipped, outside, top=False)
        missing = [c for c in classes if c not in inner]
        extra = [c for c in inner if c not in folders]
        if missing or extra:
            said = "; ".join(f"{word} {', '.join(map(repr, names))}" for word, names in
                             (("missing", missing), ("extra", extra)) if names)
            raise FolderError(f"the test folder {root / TEST_FOLDER} has other classes than "
                              f"the training folders ({said}): it needs one subfolder for each "
                              "class of the training folders")
        test = tuple(_images(root, inner[c], f"{TEST_FOLDER}/{c}/", skipped, stats)
                     for c in classes)
    return Listing(root, classes, train, test, has_test, tuple(sorted(skipped)),
                   tuple(sorted(outside)), tuple(sorted(stats)))


# --- decoding, cached ---------------------------------------------------------------------

_FileInfo = tuple[str, tuple[int, int], str, int]  # sha256, (width, height), mode, frames
_lock = threading.Lock()
_file_info: dict[tuple[str, int, int], _FileInfo] = {}
_FILE_INFO_MAX = 500_000
_scans: OrderedDict[tuple, FolderScan] = OrderedDict()
_SCANS_MAX = 8


def reason(exc: BaseException) -> str:
    """Pillow's reason for failing to read a file, in a few words."""
    if isinstance(exc, UnidentifiedImageError):
        return "Pillow does not recognise it as an image"
    text = (str(exc).splitlines() or [type(exc).__name__])[0].strip() or type(exc).__name__
    return text if len(text) <= 90 else text[:87] + "..."


def _decode(root: Path, rel: str, size: int, mtime_ns: int) -> _FileInfo:
    """The SHA-256 of a file's bytes, its size, mode and number of frames, decoding it fully
    (cached by path, size and mtime)."""
    key = (str(root / rel), size, mtime_ns)
    with _lock:
        known = _file_info.get(key)
    if known is not None:
        return known
    try:
        data = (root / rel).read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            info = (hashlib.sha256(data).hexdigest(), (int(im.width), int(im.height)), im.mode,
                    int(getattr(im, "n_frames", 1)))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise FolderError(f"cannot read the image {rel!r} in {root}: {reason(exc)}") from None
    if info[2] not in SUPPORTED_MODES:
        raise FolderError(f"the image {rel!r} in {root} has the Pillow mode {info[2]}, which "
                          "tlkit does not convert (save it as 8-bit RGB or grey)")
    with _lock:
        if len(_file_info) >= _FILE_INFO_MAX:
            _file_info.clear()
        _file_info[key] = info
    return info


def _mode_note(modes: Counter[str]) -> str | None:
    if set(modes) <= {"RGB"}:
        return None
    counted = modes.most_common()
    word = _MODE_WORDS.get
    first, n = counted[0]
    said = f"{n} image{'s are' if n != 1 else ' is'} {word(first, first)}"
    said += "".join(f", {k} {word(m, m)}" for m, k in counted[1:])
    if set(modes) == {"L"}:
        return f"all {n} images are grey (L): a three-channel run repeats them to three channels"
    present = set(modes)
    sixteen = "I" in present or any(m.startswith("I;16") for m in present)
    how = []
    if present & {"L", "1", "LA", "La"} or sixteen:
        how.append("grey images are repeated to three channels (and RGB ones made grey for a "
                   "one-channel run)")
    if present & {"RGBA", "LA", "La", "RGBa", "PA"}:
        how.append("transparent pixels are composited on white")
    if present & {"P", "PA", "CMYK", "YCbCr", "RGBX"}:
        how.append("palette, CMYK and YCbCr images are converted to RGB")
    if sixteen:
        how.append("16-bit values are scaled to 8 bits")
    return f"{said}: {'; '.join(how) or 'each is converted to RGB'}"


def _notes(found: Listing, sizes: list[tuple[int, int]], modes: Counter[str],
           frames: int) -> tuple[str, ...]:
    def names(paths: tuple[str, ...]) -> str:
        return ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")

    notes = []
    mode = _mode_note(modes)
    if mode:
        notes.append(mode)
    kinds = set(sizes)
    if len(kinds) > 1:
        small = min(kinds, key=lambda s: (s[0] * s[1], s))
        large = max(kinds, key=lambda s: (s[0] * s[1], s))
        notes.append(f"sizes range from {small[0]} x {small[1]} to {large[0]} x {large[1]}: "
                     "every image is resized to a square of the run's side (stretched, not "
                     "cropped)")
    elif kinds and (w_h := next(iter(kinds)))[0] != w_h[1]:
        notes.append(f"every image is {w_h[0]} x {w_h[1]}: it is resized to a square of the "
                     "run's side (stretched, not cropped)")
    if frames:
        notes.append(f"{frames} images have several frames (animated GIF or multi-page TIFF): "
                     "only the first is read")
    if found.skipped:
        n = len(found.skipped)
        notes.append(f"skipped {n} file{'s that are' if n != 1 else ' that is'} not "
                     f"{'images' if n != 1 else 'an image'}: {names(found.skipped)}")
    if found.outside:
        n = len(found.outside)
        notes.append(f"skipped {n} image{'s' * (n != 1)} outside the class folders: "
                     f"{names(found.outside)}")
    return tuple(notes)


def _digest(entries: list[tuple[str, str, str]]) -> str:
    text = json.dumps(sorted(entries), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _decode_all(found: Listing, progress: bool | None) -> FolderScan:
    stat = {rel: (size, mtime) for rel, size, mtime in found.stats}
    meter = Progress(f"scanning {found.root}", len(found.stats), progress)
    parts: dict[str, list[tuple[str, int]]] = {"train": [], "test": []}
    sizes: list[tuple[int, int]] = []
    modes: Counter[str] = Counter()
    entries: list[tuple[str, str, str]] = []
    frames = 0
    for split, groups in (("train", found.train), ("test", found.test)):
        for label, files in enumerate(groups):
            infos = []
            for rel in files:
                infos.append((_decode(found.root, rel, *stat[rel]), rel))
                meter.step()
            for info, rel in sorted(infos, key=lambda pair: (pair[0][0], pair[1])):
                parts[split].append((rel, label))
                sizes.append(info[1])
                modes[info[2]] += 1
                frames += info[3] > 1
                entries.append((split, found.classes[label], info[0]))
    return FolderScan(
        root=found.root, classes=found.classes, train=tuple(parts["train"]),
        test=tuple(parts["test"]), has_test_folder=found.has_test_folder,
        digest=_digest(entries), notes=_notes(found, sizes, modes, frames), sizes=tuple(sizes),
        modes=MappingProxyType(dict(modes.most_common())))


def scan(path: str | Path, *, min_per_class: int = 2, progress: bool | None = None) -> FolderScan:
    """Read the image folder ``path`` once: list it, decode every image fully, and describe it.

    Each image is opened with Pillow and loaded completely (``Image.open(...).load()``), so a
    truncated or corrupt file fails here, before any training. Raises :class:`FolderError`
    (one line naming the file or folder) for everything :func:`listing` rejects, a training
    class with fewer than ``min_per_class`` images, an unreadable image and an image in a mode
    outside :data:`SUPPORTED_MODES`. Mixed sizes and modes, skipped files and multi-frame images
    are described in :attr:`FolderScan.notes`.

    ``progress``: print a line to stderr about every 10% of the images (``None``: only for
    folders of more than :data:`PROGRESS_ABOVE` images). Scans are cached in this process by
    the resolved path and the ``(path, size, mtime)`` of every file: scanning an unchanged
    folder again decodes nothing, and after a change only the changed files are decoded.
    """
    if not is_int(min_per_class) or min_per_class < 1:
        raise ValueError(f"min_per_class must be a positive integer, got {min_per_class!r}")
    found = listing(path)
    for name, files in zip(found.classes, found.train, strict=True):
        if len(files) < min_per_class:
            need = ("the test folder holds the test images, and min_per_class asks for "
                    f"{min_per_class}" if found.has_test_folder else
                    "the split puts at least one image of each class in train and one in test")
            raise FolderError(f"the class {name!r} of {found.root} has {len(files)} "
                              f"image{'s' * (len(files) != 1)}, fewer than {min_per_class}: "
                              f"{need}")
    key = (str(found.root), found.stats, found.skipped, found.outside)
    with _lock:
        known = _scans.get(key)
        if known is not None:
            _scans.move_to_end(key)
            return known
    result = _decode_all(found, progress)
    with _lock:
        _scans[key] = result
        while len(_scans) > _SCANS_MAX:
            _scans.popitem(last=False)
    return result


def clear_scans() -> None:
    """Forget every cached scan and decoded file."""
    with _lock:
        _scans.clear()
        _file_info.clear()
