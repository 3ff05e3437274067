"""What reading a reader's image folder costs: the scan, a cached scan, and loading a split.

    python benchmarks/bench_folder.py [--images 10000] [--side 32 64]

Writes a temporary folder (removed afterwards) of ``--images`` PNG images, 64x64 RGB, in 10
classes (smooth colour fields with a rectangle and some noise; writing them is not timed),
then measures

* :func:`tlkit.data.folder.scan` of the folder, cold, and again (cached by the files' stats);
* ``tlkit.data.load("folder", "train", side=S)`` for each side ``S``, in a fresh process after
  a scan: its seconds, and the growth of the process's peak resident memory during the load
  (``resource.getrusage``), beside the sizes of the decoded ``uint8`` pixels of the whole
  folder and of the ``float32`` train split; then the test split of the same folder, whose
  pixels are already decoded.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = 10
SOURCE = 64


def write_folder(root: Path, images: int, seed: int = 0) -> None:
    """``images`` PNG files of SOURCE x SOURCE RGB under ``root/c<k>/``, 10 classes."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, SOURCE)
    for k in range(CLASSES):
        (root / f"c{k}").mkdir(parents=True)
    for i in range(images):
        k = i % CLASSES
        colour = np.array([(k * 37) % 256, (k * 91) % 256, (k * 53) % 256], dtype=np.float64)
        field = colour * (0.5 + 0.5 * ramp[:, None, None]) + rng.normal(0, 6, (SOURCE, SOURCE, 3))
        x, y = rng.integers(0, SOURCE - 16, 2)
        field[y:y + 16, x:x + 16] = 255 - colour
        pixels = np.clip(field, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"c{k}" / f"{i:05d}.png")


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def child(path: str, side: int) -> None:
    """In a fresh process: scan, then load train and test at ``side``; print JSON figures."""
    import tlkit.data as td
    from tlkit.data.folder import scan, spec_options

    opts = spec_options(scan(path), side=side)
    base = _peak_bytes()
    start = time.perf_counter()
    train = td.load("folder", "train", **opts)
    seconds = time.perf_counter() - start
    grown = _peak_bytes() - base
    start = time.perf_counter()
    test = td.load("folder", "test", **opts)
    print(json.dumps({"load_s": seconds, "peak_growth": grown, "n_train": len(train),
                      "n_test": len(test), "test_s": time.perf_counter() - start,
                      "float_train": train.images.nbytes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="images in the folder")
    parser.add_argument("--side", type=int, nargs="+", default=[32, 64],
                        help="sides to load at (default 32 64)")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    from tlkit.data.folder import scan

    tmp = Path(tempfile.mkdtemp(prefix="bench-folder-"))
    try:
        root = tmp / "images"
        start = time.perf_counter()
        write_folder(root, args.images)
        written = time.perf_counter() - start
        size = sum(p.stat().st_size for p in root.rglob("*.png"))
        print(f"folder: {args.images} PNG images, {SOURCE}x{SOURCE} RGB, {CLASSES} classes, "
              f"{size / 1e6:.1f} MB (written in {written:.1f} s, not counted)")
        start = time.perf_counter()
        found = scan(root)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        again = scan(root)
        warm = time.perf_counter() - start
        assert again is found
        rows = [("scan, cold (decode every image, SHA-256)", f"{cold:.2f} s",
                 f"{args.images / cold:,.0f} images/s"),
                ("scan again, unchanged (stats only)", f"{warm:.3f} s", "")]
        for side in args.side:
            out = subprocess.run([sys.executable, __file__, "--child", str(root), str(side)],
                                 check=True, capture_output=True, text=True)
            got = json.loads(out.stdout.strip().splitlines()[-1])
            pixels = args.images * 3 * side * side
            rows.append((f"load train, side {side} ({got['n_train']} images)",
                         f"{got['load_s']:.2f} s",
                         f"peak RSS +{got['peak_growth'] / 2**20:.0f} MiB (uint8 folder "
                         f"{pixels / 2**20:.0f} MiB, float32 train "
                         f"{got['float_train'] / 2**20:.0f} MiB)"))
            rows.append((f"load test after it, side {side} ({got['n_test']} images)",
                         f"{got['test_s']:.2f} s", "pixels already decoded"))
        width = max(len(r[0]) for r in rows)
        print(f"{'what'.ljust(width)}  {'time':>8}  notes")
        for what, seconds, note in rows:
            print(f"{what.ljust(width)}  {seconds:>8}  {note}".rstrip())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
