"""``tlkit results``: export the run cache to an archive, import or verify one, make a key.

``export ARCHIVE [--sign KEY]``, ``import ARCHIVE [--trust KEY.pub]``, ``verify ARCHIVE
[--trust KEY.pub]`` (:mod:`tlkit.archive`) and ``keygen KEY`` (:mod:`tlkit.signing`); each
problem is one ``tlkit: error:`` line and exit status 2, with nothing written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["results"]


def _echo(line: str) -> None:
    print(line, flush=True)


def _error(message: str) -> int:
    """Say ``message`` as the ``tlkit`` command's one error line: exit status 2."""
    print(f"tlkit: error: {message}", file=sys.stderr)
    return 2


def results(args: argparse.Namespace) -> int:
    """Run ``tlkit results ACTION ARCHIVE``: the exit status."""
    from .archive import ArchiveError, export_results, import_results, verify_archive
    from .signing import SignatureError
    from .store import CacheNotWritableError, Store

    store = Store(args.results) if args.results else Store()
    misplaced = [flag for flag, value, allowed in (("--sign", args.sign, ("export",)),
                                                   ("--trust", args.trust, ("import", "verify")))
                 if value is not None and args.action not in allowed]
    if misplaced:
        return _error(f"{misplaced[0]} does not apply to `tlkit results {args.action}`")
    try:
        if args.action == "keygen":
            private, public, fingerprint = _keygen(args.archive)
            _echo(f"wrote the private key {private} (keep it secret) and the public key "
                  f"{public} (publish it), fingerprint {fingerprint}")
        elif args.action == "export":
            done = export_results(args.archive, store, sign_with=args.sign)
            _echo(f"exported {done.records} records and {done.checkpoints} checkpoints from "
                  f"{store.root} to {done.path} ({done.bytes / 1e6:.1f} MB)"
                  + (f"; left out {done.skipped} records of other code" if done.skipped else "")
                  + (f"; signed by key {done.signed_by}" if done.signed_by else ""))
        elif args.action == "verify":
            manifest = verify_archive(args.archive, trust=args.trust)
            signed = (f"signed by the trusted key {manifest['signed_by']}"
                      if manifest["signed_by"] else "its signature not checked (no --trust)")
            _echo(f"{args.archive}: {len(manifest['files'])} files, each intact and vouching "
                  f"for itself, of code {manifest['code']}; {signed}")
        else:
            got = import_results(args.archive, store, trust=args.trust)
            _echo(f"imported {got.records} records and {got.checkpoints} checkpoints into "
                  f"{store.root}" + (f"; kept {got.kept} already there" if got.kept else "")
                  + (f"; replaced {got.replaced} damaged" if got.replaced else "")
                  + (f"; signed by the trusted key {got.signed_by}" if got.signed_by else ""))
            if got.computes and got.computes != ("cpu-fp32",):
                _echo(f"they computed as {', '.join(got.computes)}: on a machine without a "
                      f"GPU, build from them with TLKIT_COMPUTE={got.computes[-1]}")
    except (ArchiveError, CacheNotWritableError, SignatureError) as exc:
        return _error(str(exc))
    return 0


def _keygen(path: str) -> tuple[Path, Path, str]:
    from .signing import generate_key

    return generate_key(path)
