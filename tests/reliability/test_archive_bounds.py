"""Archives that cannot cost more than their manifest declares, records and checkpoints that
must vouch for themselves inside them, and archives signed by the maintainer's key."""

import hashlib
import io
import json
import tarfile
import tracemalloc

import pytest

from tests.core.test_sweep import tiny, transfer
from tests.reliability.test_archive import _rewrite
from tlkit import sweep
from tlkit.archive import ArchiveError, export_results, import_results, verify_archive
from tlkit.seal import seal_record
from tlkit.store import DAMAGED, Store


@pytest.fixture
def exported(tmp_path):
    here = Store(tmp_path / "here")
    sweep.run([transfer(2), tiny(5)], store=here)
    return export_results(tmp_path / "results.tar.gz", here).path


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, read in chunks: a huge member that takes no memory to write."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _crafted(path, manifest_files, members):
    """A gzipped tar: a manifest listing ``manifest_files``, then ``members`` as
    ``(name, size, fileobj)``."""
    manifest = json.dumps({"format": "tlkit-results", "version": 2, "code": "0" * 16,
                           "files": manifest_files}).encode()
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        for name, size, fileobj in members:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, fileobj)


def test_a_huge_member_declared_small_is_refused_without_reading_it(tmp_path):
    name = "runs/ab/" + "ab" * 8 + ".json"
    path = tmp_path / "bomb.tar.gz"
    gib = 2**30
    _crafted(path, {name: {"sha256": "0" * 64, "bytes": 10}}, [(name, gib, _Zeros(gib))])
    assert path.stat().st_size < 8 * 2**20  # a small file that expands to a gibibyte
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError, match="1,073,741,824 bytes, its manifest says 10"):
            import_results(path, Store(tmp_path / "there"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB held while refusing the archive"
    assert not (tmp_path / "there" / "runs").exists()


def test_a_manifest_that_declares_an_oversized_member_is_refused(tmp_path):
    name = "checkpoints/ab/" + "ab" * 8 + ".pt"
    path = tmp_path / "big.tar.gz"
    _crafted(path, {name: {"sha256": "0" * 64, "bytes": 2**40}}, [])
    with pytest.raises(ArchiveError, match="out of bounds"):
        import_results(path, Store(tmp_path / "there"))


def test_a_member_listed_twice_is_refused(tmp_path, exported):
    first = []

    def twice(name, data):
        if name.startswith("runs/") and not first:
            first.append((name, data))
        return name, data

    _rewrite(exported, twice)
    with tarfile.open(exported) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(exported, "w:gz") as tar:
        for name, data in [*members, first[0]]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ArchiveError, match="a second copy"):
        import_results(exported, Store(tmp_path / "there"))


@pytest.mark.parametrize("content, message", [
    (b"not a gzip nor a tar, just words", "not a tlkit results archive"),
    (b"\x1f\x8b\x08\x00garbage after a gzip magic", "not a tlkit results archive"),
])
def test_what_is_not_an_archive_is_called_so(tmp_path, content, message):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match=message):
        import_results(path, Store(tmp_path / "there"))


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_a_truncated_archive_is_called_truncated(tmp_path, exported, fraction):
    data = exported.read_bytes()
    exported.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ArchiveError, match="truncated"):
        import_results(exported, Store(tmp_path / "there"))


def _reseal_manifest(path, change):
    """Change members with ``change(name, data)`` and rewrite the manifest's checksums to
    match, as someone altering an archive on purpose would."""
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    manifest = json.loads(members.pop("manifest.json"))
    members.pop("manifest.sig", None)
    for name in list(members):
        members[name] = change(name, members[name])
        manifest["files"][name] = {"sha256": hashlib.sha256(members[name]).hexdigest(),
                                   "bytes": len(members[name])}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), *members.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _edit_acc(reseal):
    def change(name, data):
        if not name.startswith("runs/"):
            return data
        record = json.loads(data)
        record["metrics"]["test_acc"] = 0.99
        return json.dumps(seal_record(record) if reseal else record).encode()
    return change


def test_an_edited_record_is_refused_even_with_the_manifest_rewritten(tmp_path, exported):
    _reseal_manifest(exported, _edit_acc(reseal=False))
    with pytest.raises(ArchiveError, match="does not match its digest"):
        import_results(exported, Store(tmp_path / "there"))


def test_a_garbage_checkpoint_is_refused(tmp_path, exported):
    _reseal_manifest(exported, lambda n, d: b"garbage" * 9 if n.endswith(".pt") else d)
    with pytest.raises(ArchiveError, match="not a checkpoint that vouches for itself"):
        import_results(exported, Store(tmp_path / "there"))
    assert not (tmp_path / "there" / "runs").exists()


def test_a_respecified_record_is_called_edited(tmp_path, exported):
    def change(name, data):
        if not name.startswith("runs/"):
            return data
        record = json.loads(data)
        record["spec"]["seed"] += 1000
        return json.dumps(seal_record(record)).encode()

    _reseal_manifest(exported, change)
    with pytest.raises(ArchiveError, match="edited after it was computed"):
        import_results(exported, Store(tmp_path / "there"))


def test_export_refuses_a_cache_with_a_record_that_fails_its_digest(tmp_path, capsys):
    here = Store(tmp_path / "here")
    sweep.run([tiny(0), tiny(1)], store=here)
    path = here.record_path(tiny(0).key())
    record = json.loads(path.read_text())
    record["metrics"]["test_acc"] = 0.99
    path.write_text(json.dumps(record))
    with pytest.raises(ArchiveError, match="failed their digests"):
        export_results(tmp_path / "out.tar.gz", here)
    assert not (tmp_path / "out.tar.gz").exists()
    assert list((here.root / DAMAGED).rglob("*.json.*"))


def test_import_replaces_a_damaged_local_record_with_the_archives(tmp_path, exported):
    there = Store(tmp_path / "there")
    import_results(exported, there)
    path = there.record_path(tiny(5).key())
    good = path.read_bytes()
    path.write_text(path.read_text().replace('"test_acc": ', '"test_acc": 0.5, "x": '))
    got = import_results(exported, there)
    assert got.replaced == 1 and path.read_bytes() == good


signing = pytest.importorskip("tlkit.signing")


@pytest.fixture
def keys(tmp_path):
    pytest.importorskip("cryptography", reason="signing needs the cryptography package")
    private, public, fingerprint = signing.generate_key(tmp_path / "keys" / "maintainer")
    other = signing.generate_key(tmp_path / "keys" / "other")[1]
    return private, public, fingerprint, other


def test_a_signed_archive_is_imported_with_its_key_and_refused_with_another(tmp_path, keys):
    private, public, fingerprint, other = keys
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    here = Store(tmp_path / "here")
    sweep.run([tiny(0)], store=here)
    done = export_results(tmp_path / "signed.tar.gz", here, sign_with=private)
    assert done.signed_by == fingerprint
    got = import_results(done.path, Store(tmp_path / "there"), trust=public)
    assert got.signed_by == fingerprint and got.records == 1
    with pytest.raises(ArchiveError, match=f"not by the trusted key .*{other.name}"):
        verify_archive(done.path, trust=other)
    unsigned = export_results(tmp_path / "unsigned.tar.gz", here).path
    with pytest.raises(ArchiveError, match="not signed"):
        import_results(unsigned, Store(tmp_path / "x"), trust=public)
    with pytest.raises(signing.SignatureError, match="never overwritten"):
        signing.generate_key(private)


def test_an_archive_altered_after_signing_is_refused(tmp_path, keys):
    private, public, _, _ = keys
    here = Store(tmp_path / "here")
    sweep.run([tiny(0)], store=here)
    path = export_results(tmp_path / "signed.tar.gz", here, sign_with=private).path
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    name = next(n for n in members if n.startswith("runs/"))
    record = json.loads(members[name])
    record["metrics"]["test_acc"] = 0.99
    members[name] = json.dumps(seal_record(record)).encode()
    manifest = json.loads(members["manifest.json"])
    manifest["files"][name] = {"sha256": hashlib.sha256(members[name]).hexdigest(),
                               "bytes": len(members[name])}
    members["manifest.json"] = json.dumps(manifest, indent=1).encode()
    with tarfile.open(path, "w:gz") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    verify_archive(path)  # the digests alone cannot tell: every one was recomputed
    with pytest.raises(ArchiveError, match="altered after it was signed"):
        import_results(path, Store(tmp_path / "there"), trust=public)


def test_the_command_signs_verifies_and_imports_with_a_trusted_key(tmp_path, capsys):
    pytest.importorskip("cryptography", reason="signing needs the cryptography package")
    from tlkit.cli import main

    here = tmp_path / "here"
    sweep.run([tiny(0)], store=Store(here))
    key = tmp_path / "maintainer.key"
    assert main(["results", "keygen", str(key)]) == 0
    archive = str(tmp_path / "signed.tar.gz")
    assert main(["results", "export", archive, "--results", str(here), "--sign",
                 str(key)]) == 0
    assert main(["results", "verify", archive, "--trust", f"{key}.pub"]) == 0
    assert main(["results", "import", archive, "--results", str(tmp_path / "there"),
                 "--trust", f"{key}.pub"]) == 0
    out = capsys.readouterr().out
    assert out.count("signed by") == 3 and "fingerprint" in out
    assert main(["results", "import", archive, "--sign", str(key)]) == 2
    assert main(["results", "verify", archive, "--trust", str(key)]) == 2  # the private key
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("tlkit: error: ") for line in err), err
    assert "--sign does not apply" in err[0] and "cannot read a public key" in err[1]
