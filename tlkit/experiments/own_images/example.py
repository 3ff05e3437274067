"""The example folder the chapter reports on when the reader gives none.

It is written from one of the book's embedded datasets (the profile's ``example``: a dataset,
its options and images per class), one PNG file per image in one subfolder per class, the
layout a reader's folder has. Writing it again gives the same files, so its runs are found in
the run cache; it lives in the results folder, under ``examples/``.

The chapter's coursework ships a folder of its own beside the student's notebook
(:func:`coursework_folder`): written the same way from the profile's ``coursework`` dataset,
whose classes and fonts are not the example's, so that the report a student reads is not the
book's page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["COURSEWORK_FOLDER", "example_folder", "write_folder", "coursework_folder"]

#: The folder the coursework ships, beside the student's notebook.
COURSEWORK_FOLDER = "images"


def write_folder(folder: Path, dataset: str, options: Mapping[str, Any], per_class: int,
                 side: int) -> Path:
    """Write ``per_class`` training images of each class of ``dataset`` (with ``options``) to
    ``folder/<class>/<i>.png`` at ``side`` pixels; an existing complete folder is kept."""
    import numpy as np
    from PIL import Image

    from ... import data

    done = folder.parent / f"{folder.name}.complete"  # beside it: the folder holds images only
    if done.exists():
        return folder
    loaded = data.load(dataset, "train", size=side, **dict(options))
    labels = loaded.labels.numpy()
    for k, name in enumerate(loaded.classes):
        where = np.flatnonzero(labels == k)[:per_class]
        if len(where) < per_class:
            raise ValueError(f"the example's class {name!r} has {len(where)} images, "
                             f"{per_class} asked for")
        sub = folder / str(name)
        sub.mkdir(parents=True, exist_ok=True)
        for i, at in enumerate(where):
            pixels = loaded.images[at].clamp(0, 1).mul(255).round().byte()
            array = pixels.permute(1, 2, 0).numpy()
            mode = "L" if array.shape[2] == 1 else "RGB"
            Image.fromarray(array[:, :, 0] if mode == "L" else array, mode).save(
                sub / f"{i:03d}.png")
    done.write_text("")
    return folder


def example_folder(s: Mapping[str, Any], root: Path | None = None) -> Path:
    """The example folder of settings ``s`` (written on first use) under the results folder's
    ``examples/``, named by what it holds."""
    from ...store import Store

    spec = dict(s["example"])
    name = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    base = Path(root) if root is not None else Store().root
    return write_folder(base / "examples" / f"{spec['dataset']}-{name}", spec["dataset"],
                        spec.get("options") or {}, int(spec["per_class"]), int(spec["side"]))


def coursework_folder(folder: Path, s: Mapping[str, Any]) -> dict[str, str]:
    """Write the coursework's image folder, ``folder/images``, from the ``coursework`` dataset of
    settings ``s`` (as :func:`write_folder` writes the example), and return the parameter that
    points the notebook at it, relative to ``folder``: ``{"data_dir": "images"}``."""
    spec = dict(s["coursework"])
    write_folder(folder / COURSEWORK_FOLDER, spec["dataset"], spec.get("options") or {},
                 int(spec["per_class"]), int(spec["side"]))
    (folder / f"{COURSEWORK_FOLDER}.complete").unlink(missing_ok=True)  # images only ship
    return {"data_dir": COURSEWORK_FOLDER}
