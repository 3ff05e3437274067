"""Faults a run cache and its archives survive: each kind tried on a fresh cache of real runs.

For every kind of fault below, a small sweep (a source, two runs that copy it, three runs
alone) is stored in a fresh results folder, the fault is made, and the sweep or the command is
run again. A fault is survived when

* what is said about it is one line (one ``tlkit: warning:`` for a damaged file, one error for a
  refused archive or a full disk), naming the file or folder;
* no stored run is lost: every run stored before the fault, but the one damaged, is stored
  after it, bit for bit;
* only what the fault damaged is recomputed, and a refused archive writes nothing.

Prints one line per kind and the totals; ``--json PATH`` writes them. Needs no network; the
cases of a real full disk mount a 1 MiB tmpfs, and are skipped (and counted as not tried)
where this user cannot mount one.

    .venv/bin/python benchmarks/probe_faults.py [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig, TransferSpec, sweep
from tlkit.archive import ArchiveError, export_results, import_results, verify_archive
from tlkit.preflight import PreflightError
from tlkit.seal import seal_record
from tlkit.space import DiskFullError
from tlkit.store import Store

MODEL = ModelSpec("cnn8", width=4, size=8)
TRAIN = TrainConfig(epochs=2, batch_size=16)


def _spec(seed: int, classes=("0", "1", "2"), n=10, transfer=None) -> RunSpec:
    return RunSpec(DataSpec("digits", classes=classes, n_per_class=n, subsample_seed=seed),
                   MODEL, TRAIN, transfer or TransferSpec(), seed=seed)


SOURCE = _spec(0, classes=("5", "6", "7", "8", "9"), n=20)
SPECS = [_spec(0, transfer=TransferSpec(source=SOURCE, layers=2, freeze=True)),
         _spec(0, transfer=TransferSpec(source=SOURCE, layers=3, freeze=True)),
         _spec(1), _spec(2), _spec(3)]


def _files(store: Store) -> dict[str, bytes]:
    return {p.relative_to(store.root).as_posix(): p.read_bytes()
            for sub in ("runs", "checkpoints") for p in (store.root / sub).rglob("*")
            if p.is_file() and not p.name.startswith(".")}


class _Trained:
    """Counts the runs a sweep trains (records stored by it)."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> _Trained:
        self._real = Store.put

        def put(store, record):
            self.count += 1
            return self._real(store, record)

        Store.put = put
        return self

    def __exit__(self, *exc: object) -> None:
        Store.put = self._real


def _said(run: Callable[[], object]) -> tuple[list[str], BaseException | None]:
    """The lines ``run`` wrote to standard error (progress bars aside) and what it raised."""
    err = io.StringIO()
    raised = None
    with contextlib.redirect_stderr(err):
        try:
            run()
        except (ArchiveError, PreflightError, DiskFullError) as exc:
            raised = exc
    lines = [line for line in err.getvalue().splitlines()
             if line.strip() and not line.startswith("runs")]
    return lines, raised


# --- damaged files in the cache: moved aside, named once, recomputed alone -----------------

def _record_of(store: Store) -> Path:
    return store.record_path(SPECS[2].key())


def _ckpt_of(store: Store) -> Path:
    return store.checkpoint_path(SOURCE.key())


def _edit_json(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data, indent=1))
    return edit


def _torch_edit(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        import torch

        obj = torch.load(path, weights_only=True)
        torch.save(change(obj), path)
    return edit


def _bump(obj: dict) -> dict:
    name = next(iter(obj["state"]))
    obj["state"][name] = obj["state"][name] + 1
    return obj


def _to_folder(path: Path) -> None:
    path.unlink()
    (path / "inside").mkdir(parents=True)


RECORD_FAULTS: dict[str, Callable[[Path], None]] = {
    "record truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "record empty": lambda p: p.write_bytes(b""),
    "record not JSON": lambda p: p.write_text("not JSON {"),
    "record invalid UTF-8": lambda p: p.write_bytes(b"\xff\xfe\x00garbage"),
    "record of another run": lambda p: p.write_bytes(
        Store(p.parents[2]).record_path(SPECS[3].key()).read_bytes()),
    "record test_acc edited": _edit_json(lambda d: d["metrics"].update(test_acc=0.99)),
    "record metrics not an object": _edit_json(lambda d: d.update(metrics="oops")),
    "record metrics empty": _edit_json(lambda d: d.update(metrics={})),
    "record spec edited": _edit_json(lambda d: d["spec"].update(seed=d["spec"]["seed"] + 7)),
    "record without digest": _edit_json(lambda d: d.pop("sha256")),
    "record is a folder": _to_folder,
}
CHECKPOINT_FAULTS: dict[str, Callable[[Path], None]] = {
    "checkpoint truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "checkpoint garbage": lambda p: p.write_bytes(b"garbage" * 100),
    "checkpoint weights edited": _torch_edit(_bump),
    "checkpoint without digest": _torch_edit(lambda obj: obj["state"]),
    "checkpoint is a folder": _to_folder,
}


def _damage_case(root: Path, damage: Callable[[Path], None], checkpoint: bool) -> dict:
    store = Store(root / "results")
    sweep.run(SPECS, store=store, progress=False)
    before = _files(store)
    target = _ckpt_of(store) if checkpoint else _record_of(store)
    damage(target)
    with _Trained() as trained:
        lines, raised = _said(lambda: sweep.run(SPECS, store=store, progress=False))
    after = _files(store)
    damaged = SOURCE.key() if checkpoint else SPECS[2].key()
    lost = [name for name, data in before.items()
            if damaged not in name and after.get(name) != data]
    # a checkpoint retrains its source: the same bits again (a CPU run is deterministic)
    expected = 1
    warnings = [line for line in lines if "damaged" in line]
    ok = (raised is None and len(lines) == 1 and len(warnings) == 1
          and str(target) in warnings[0] and trained.count == expected and not lost)
    return {"ok": ok, "said": lines, "recomputed": trained.count, "lost": len(lost)}


# --- a full disk -----------------------------------------------------------------------------

def _tmpfs(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.which("mount") is not None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
        capture_output=True, check=False).returncode == 0


def _fill(folder: Path, leave: int = 0) -> None:
    with open(folder / "filler", "wb") as fh:
        with contextlib.suppress(OSError):
            while shutil.disk_usage(folder).free > leave:
                fh.write(bytes(4096))
                fh.flush()


def _disk_before(root: Path) -> dict | None:
    disk = root / "disk"
    if not _tmpfs(disk):
        return None
    try:
        _fill(disk, leave=48 * 1024)  # room for a few records, not for the sweep
        store = Store(disk / "results")
        with _Trained() as trained:
            started = time.perf_counter()
            lines, raised = _said(lambda: sweep.run(SPECS, store=store, progress=False))
            seconds = time.perf_counter() - started
        ok = (isinstance(raised, PreflightError) and "\n" not in str(raised)
              and str(store.root) in str(raised) and trained.count == 0)
        return {"ok": ok, "said": [str(raised)], "seconds": round(seconds, 2), "lost": 0}
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _disk_during(root: Path) -> dict | None:
    disk = root / "disk2"
    if not _tmpfs(disk):
        return None
    try:
        store = Store(disk / "results")
        real, stored = Store.put, []

        def put(self, record):
            if len(stored) == 3:
                _fill(disk)
            path = real(self, record)
            stored.append(record.key)
            return path

        Store.put = put
        try:
            lines, raised = _said(lambda: sweep.run(SPECS, store=store, progress=False))
        finally:
            Store.put = real
        kept = {r.key for r in store.records()}
        intact = kept == set(stored)
        (disk / "filler").unlink()
        with _Trained() as trained:
            sweep.run(SPECS, store=store, progress=False)
        ok = (isinstance(raised, DiskFullError) and "\n" not in str(raised) and intact
              and trained.count == len(SPECS) + 1 - len(stored))
        return {"ok": ok, "said": [str(raised)], "stored_before": len(stored),
                "recomputed_after": trained.count, "lost": 0 if intact else 1}
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


# --- archives: refused whole, in one message, nothing written ------------------------------

def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def _write(path: Path, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _resealed(path: Path, change: Callable[[str, bytes], bytes]) -> None:
    members = _members(path)
    manifest = json.loads(members.pop("manifest.json"))
    members.pop("manifest.sig", None)
    for name in list(members):
        members[name] = change(name, members[name])
        manifest["files"][name] = {"sha256": hashlib.sha256(members[name]).hexdigest(),
                                   "bytes": len(members[name])}
    _write(path, [("manifest.json", json.dumps(manifest).encode()), *members.items()])


def _acc_099(name: str, data: bytes, reseal: bool) -> bytes:
    if not name.startswith("runs/"):
        return data
    record = json.loads(data)
    record["metrics"]["test_acc"] = 0.99
    return json.dumps(seal_record(record) if reseal else record).encode()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _bomb(path: Path) -> None:
    name = "runs/ab/" + "ab" * 8 + ".json"
    manifest = json.dumps({"format": "tlkit-results", "version": 2, "code": "0" * 16,
                           "files": {name: {"sha256": "0" * 64, "bytes": 10}}}).encode()
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        info = tarfile.TarInfo(name)
        info.size = 2**30
        tar.addfile(info, _Zeros(2**30))


def _archive_cases(root: Path) -> dict[str, dict]:
    from tlkit.signing import generate_key

    here = Store(root / "here")
    sweep.run(SPECS, store=here, progress=False)
    key, pub, _ = generate_key(root / "keys" / "maintainer")
    other = generate_key(root / "keys" / "other")[1]
    out: dict[str, dict] = {}

    def case(name: str, make: Callable[[Path], None], trust: Path | None = None,
             must_say: str = "") -> None:
        path = root / f"{len(out)}.tar.gz"
        export_results(path, here, sign_with=key)
        make(path)
        there = Store(root / f"there{len(out)}")
        tracemalloc.start()
        lines, raised = _said(lambda: import_results(path, there, trust=trust))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        written = list(there.root.rglob("*.json")) + list(there.root.rglob("*.pt"))
        ok = (isinstance(raised, ArchiveError) and "\n" not in str(raised) and not written
              and must_say in str(raised))
        out[name] = {"ok": ok, "said": [str(raised)], "written": len(written),
                     "peak_traced_mb": round(peak / 2**20, 1), "lost": 0}

    def cut(fraction: float) -> Callable[[Path], None]:
        return lambda p: p.write_bytes(p.read_bytes()[: int(len(p.read_bytes()) * fraction)])

    case("archive truncated at 30%", cut(0.3), must_say="truncated")
    case("archive truncated at 95%", cut(0.95), must_say="truncated")
    case("archive not an archive", lambda p: p.write_bytes(b"plain words"),
         must_say="not a tlkit results archive")
    case("archive with a 1 GiB member declared as 10 bytes", _bomb, must_say="its manifest says")
    case("archive member listed twice",
         lambda p: _write(p, [*(m := _members(p)).items(),
                              next((n, d) for n, d in m.items() if n.startswith("runs/"))]),
         must_say="second copy")
    case("archive member not in the manifest",
         lambda p: _write(p, [*_members(p).items(), ("runs/00/" + "0" * 16 + ".json", b"{}")]),
         must_say="not a record or checkpoint its manifest lists")
    case("archive record edited, checksums rewritten",
         lambda p: _resealed(p, lambda n, d: _acc_099(n, d, reseal=False)),
         must_say="does not match its digest")
    case("archive garbage checkpoint, checksums rewritten",
         lambda p: _resealed(p, lambda n, d: b"garbage" * 9 if n.endswith(".pt") else d),
         must_say="not a checkpoint")
    case("archive manifest of another format version",
         lambda p: _write(p, [(n, json.dumps(dict(json.loads(d), version=99)).encode()
                               if n == "manifest.json" else d) for n, d in _members(p).items()]),
         must_say="format version 99")
    case("archive unsigned, a key trusted",
         lambda p: _write(p, [(n, d) for n, d in _members(p).items() if n != "manifest.sig"]),
         trust=pub, must_say="not signed")
    case("archive signed by another key", lambda p: None, trust=other,
         must_say="not by the trusted key")
    case("archive forged: record and digest and checksums rewritten",
         lambda p: _write(p, _forged(p)), trust=pub, must_say="altered after it was signed")
    # a damaged record in the cache is replaced by the archive's verified one
    path = root / "good.tar.gz"
    export_results(path, here)
    there = Store(root / "replace")
    import_results(path, there)
    target = there.record_path(SPECS[2].key())
    good = target.read_bytes()
    target.write_text(target.read_text().replace('"test_acc": ', '"test_acc": 0.5, "x": '))
    lines, _ = _said(lambda: import_results(path, there))
    out["import over a damaged local record"] = {
        "ok": target.read_bytes() == good and len(lines) == 1, "said": lines, "lost": 0}
    # the digests alone cannot see a forgery; the signature does (above)
    forged = root / "forged.tar.gz"
    export_results(forged, here, sign_with=key)
    _write(forged, _forged(forged))
    out["forgery without a trusted key: accepted (what digests cannot do)"] = {
        "ok": verify_archive(forged)["signed_by"] is None, "said": [], "lost": 0,
        "counted": False}
    return out


def _forged(path: Path) -> list[tuple[str, bytes]]:
    """The archive's members with a record's test_acc changed and every digest and checksum
    recomputed, the signature kept: what a forger without the key can make."""
    members = _members(path)
    manifest = json.loads(members["manifest.json"])
    name = next(n for n in members if n.startswith("runs/"))
    members[name] = _acc_099(name, members[name], reseal=True)
    manifest["files"][name] = {"sha256": hashlib.sha256(members[name]).hexdigest(),
                               "bytes": len(members[name])}
    members["manifest.json"] = json.dumps(manifest, indent=1).encode()
    return list(members.items())


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--json", metavar="PATH")
    opts = args.parse_args(argv)
    results: dict[str, dict | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, (name, damage) in enumerate(RECORD_FAULTS.items()):
            results[name] = _damage_case(root / f"r{i}", damage, checkpoint=False)
        for i, (name, damage) in enumerate(CHECKPOINT_FAULTS.items()):
            results[name] = _damage_case(root / f"c{i}", damage, checkpoint=True)
        results["disk without room, before the sweep (1 MiB tmpfs)"] = _disk_before(root)
        results["disk filling during the sweep (1 MiB tmpfs)"] = _disk_during(root)
        results.update(_archive_cases(root / "archives"))
    counted = {k: v for k, v in results.items() if v is None or v.get("counted", True)}
    tried = [k for k, v in counted.items() if v is not None]
    survived = [k for k in tried if counted[k]["ok"]]
    lost = sum(v.get("lost", 0) for v in results.values() if v is not None)
    for name, value in results.items():
        mark = "skipped" if value is None else ("ok" if value["ok"] else "FAILED")
        said = "" if value is None or not value["said"] else f"  | {value['said'][0][:110]}"
        print(f"{mark:8s} {name}{said}")
    print(f"faults survived: {len(survived)} of {len(tried)} kinds tried "
          f"({len(counted) - len(tried)} skipped); stored runs lost: {lost}")
    if opts.json:
        Path(opts.json).write_text(json.dumps({"results": results, "tried": len(tried),
                                               "survived": len(survived), "lost": lost},
                                              indent=1, default=str))
    return 0 if len(survived) == len(tried) else 1


if __name__ == "__main__":
    sys.exit(main())
