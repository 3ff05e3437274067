"""Signed results archives: a maintainer's Ed25519 signature over an archive's manifest.

A record's digest (:mod:`tlkit.seal`) catches damage and careless edits, not a deliberate one:
anyone can recompute a SHA-256. What a reader of published results needs is to know that the
archive is the one the maintainer made. The maintainer holds a private key and publishes its
public key; ``tlkit results export --sign KEY`` adds ``manifest.sig``, an Ed25519 signature
(Bernstein et al., *High-speed high-security signatures*, 2012) over the manifest's bytes; the
manifest lists the SHA-256 and size of every record and checkpoint, and each of those carries
its own digest, so the one signature vouches for every number in the archive.
``tlkit results import ARCHIVE --trust KEY.pub`` (or ``tlkit results verify``) refuses an
archive that is unsigned, signed by another key, or altered after it was signed.

Files:

* the private key: PEM (PKCS #8), readable by its owner only; never published;
* the public key: one line, ``tlkit-ed25519 <base64 of the 32-byte key>``, to publish beside
  the archive (the book's repository, its web page);
* the key's fingerprint: the first 16 hex digits of the SHA-256 of the 32-byte key.

The cryptography is the ``cryptography`` package's (``pip install tlkit[sign]``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["SignatureError", "generate_key", "load_private_key", "load_public_key",
           "fingerprint", "sign", "verify", "PUBLIC_PREFIX"]

PUBLIC_PREFIX = "tlkit-ed25519"


class SignatureError(ValueError):
    """A key that cannot be read, or a signature that is missing, of another key or wrong."""


def _backend() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise SignatureError("signing and checking signatures need the cryptography package: "
                             "pip install 'tlkit[sign]'") from None
    return ed25519


def _raw(public: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Any) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def generate_key(private_path: str | os.PathLike[str]) -> tuple[Path, Path, str]:
    """Write a new private key to ``private_path`` (owner-only) and its public key beside it,
    ``<private_path>.pub``; return both paths and the fingerprint. Refuses to overwrite."""
    from cryptography.hazmat.primitives import serialization

    ed25519 = _backend()
    private_path = Path(private_path)
    public_path = private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists():
            raise SignatureError(f"{path} exists; a key is never overwritten (choose another "
                                 "name, or remove it yourself)")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    raw = base64.b64encode(_raw(key.public_key())).decode()
    public_path.write_text(f"{PUBLIC_PREFIX} {raw}\n", encoding="ascii")
    return private_path, public_path, fingerprint(key.public_key())


def load_private_key(path: str | os.PathLike[str]) -> Any:
    """The Ed25519 private key in the PEM file ``path``."""
    from cryptography.hazmat.primitives import serialization

    ed25519 = _backend()
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SignatureError(f"cannot read a private key from {path} ({exc}); make one with "
                             "`tlkit results keygen KEYFILE`") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SignatureError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Any:
    """The public key in ``path`` (one line: ``tlkit-ed25519 <base64>``)."""
    ed25519 = _backend()
    try:
        prefix, _, text = Path(path).read_text(encoding="ascii").strip().partition(" ")
        raw = base64.b64decode(text.strip(), validate=True)
        if prefix != PUBLIC_PREFIX or len(raw) != 32:
            raise ValueError(f"not a line '{PUBLIC_PREFIX} <base64 of 32 bytes>'")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except (OSError, ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise SignatureError(f"cannot read a public key from {path} ({exc})") from None


def sign(key: Any, message: bytes) -> bytes:
    """The signature member for ``message`` (a manifest's bytes): JSON naming the algorithm,
    the key's fingerprint and the base64 signature."""
    signature = base64.b64encode(key.sign(message)).decode()
    return json.dumps({"algorithm": "ed25519", "key": fingerprint(key.public_key()),
                       "signature": signature}, indent=1).encode()


def verify(trust: str | os.PathLike[str], message: bytes, signed: bytes | None) -> str:
    """The fingerprint of the key in the file ``trust`` if ``signed`` (a signature member) is
    that key's signature of ``message``; :class:`SignatureError` saying why not otherwise."""
    from cryptography.exceptions import InvalidSignature

    public = load_public_key(trust)
    expected = fingerprint(public)
    if signed is None:
        raise SignatureError(f"the archive is not signed, and the key {expected} ({trust}) is "
                             "required")
    try:
        member = json.loads(signed)
        by, signature = member["key"], base64.b64decode(member["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise SignatureError("its signature cannot be read; the archive was altered") from None
    if by != expected:
        raise SignatureError(f"it is signed by the key {by}, not by the trusted key {expected} "
                             f"({trust})")
    try:
        public.verify(signature, message)
    except InvalidSignature:
        raise SignatureError(f"its manifest does not match the signature of the key {expected}: "
                             "the archive was altered after it was signed") from None
    return expected
