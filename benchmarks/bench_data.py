"""Seconds to generate the glyph datasets a run loads, with the stroke's 3 x 3 dilation and
erosion as maxima along rows and columns (``tlkit.data.glyphs._dilate``) and as
``max_pool2d``, back to back in one process, one torch thread.

    python benchmarks/bench_data.py [--repeats 3] [--json out.json]

The datasets are those the known runs of chapter 02 (quick) and their sources load, both
splits: each worker process of a sweep generates each of them once, and a cold build of the
book starts a new pool of workers per notebook. Both morphologies give the same images, which
is checked here too.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from tlkit.data import glyphs
from tlkit.experiments import known_specs


def _pooled_dilate(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, 3, stride=1, padding=1)


def datasets() -> list[tuple[str, dict]]:
    """(split, options) of every glyph dataset the known runs of chapter 02 (quick) load."""
    found: dict[str, tuple[str, dict]] = {}
    for spec in known_specs("02_small_targets", {"profile": "quick"}):
        for d in (spec.data, *(src.data for src in spec.sources())):
            if d.name == "glyphs":
                for split in ("train", "test"):
                    found[repr((split, d.options))] = (split, dict(d.options))
    return list(found.values())


def seconds(sets: list[tuple[str, dict]], repeats: int) -> tuple[float, list[torch.Tensor]]:
    best, images = float("inf"), []
    for _ in range(repeats):
        start = time.perf_counter()
        images = [glyphs.generate(split, **opts).images for split, opts in sets]
        best = min(best, time.perf_counter() - start)
    return best, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sets = datasets()
    rows, fast = seconds(sets, args.repeats)
    original = glyphs._dilate
    glyphs._dilate = _pooled_dilate
    try:
        pooled, slow = seconds(sets, args.repeats)
    finally:
        glyphs._dilate = original
    same = all(torch.equal(a, b) for a, b in zip(fast, slow, strict=True))
    n = sum(len(x) for x in fast)
    out = {"datasets": len(sets), "images": n, "rows_and_columns_s": rows,
           "max_pool2d_s": pooled, "ratio": pooled / rows, "same_images": same}
    print(f"{len(sets)} glyph splits, {n:,} images: maxima along rows and columns {rows:.2f} s, "
          f"max_pool2d {pooled:.2f} s ({pooled / rows:.1f}x); same images: {same}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
