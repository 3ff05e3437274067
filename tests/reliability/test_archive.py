"""Results that travel: export the run cache, import it elsewhere, and refuse archives that
are not this code's results or not whole."""

import io
import json
import tarfile

import pytest

from tests.core.test_sweep import tiny, transfer
from tlkit import sweep
from tlkit.archive import ArchiveError, export_results, import_results, read_manifest
from tlkit.store import Store


@pytest.fixture
def exported(tmp_path):
    """A cache of a source, two runs that copy it and one more, exported."""
    here = Store(tmp_path / "here")
    records = sweep.run([transfer(2), transfer(3), tiny(5)], store=here)
    done = export_results(tmp_path / "results.tar.gz", here)
    return done, records


def test_an_imported_cache_needs_no_training(tmp_path, exported, count_fits):
    done, records = exported
    assert (done.records, done.checkpoints, done.skipped) == (4, 1, 0)
    manifest = read_manifest(done.path)
    assert manifest["code"] and manifest["versions"]["torch"] and manifest["machine"]["cpus"]
    there = Store(tmp_path / "there")
    got = import_results(done.path, there)
    assert (got.records, got.checkpoints, got.kept) == (4, 1, 0)
    fits = len(count_fits)
    again = sweep.run([transfer(2), transfer(3), tiny(5)], store=there)
    assert len(count_fits) == fits  # nothing trained
    assert [r.metrics for r in again] == [r.metrics for r in records]
    assert import_results(done.path, there).kept == 5  # a second import changes nothing


def _rewrite(path, change):
    """The archive at ``path`` with its members passed through ``change(name, data)``."""
    with tarfile.open(path) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members:
            out = change(name, data)
            if out is None:
                continue
            name, data = out
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())


def _record(name):
    return name.startswith("runs/")


@pytest.mark.parametrize("damage, message", [
    (lambda n, d: (n, d[:-10]) if _record(n) else (n, d), "its manifest says"),
    (lambda n, d: (n, d.replace(b"test_acc", b"test_acd")) if _record(n) else (n, d),
     "does not match its checksum"),
    (lambda n, d: None if _record(n) else (n, d), "lacks"),
    (lambda n, d: ("../evil.json", d) if _record(n) else (n, d), "not a record or checkpoint"),
    (lambda n, d: (n, json.dumps(dict(json.loads(d), version=99)).encode())
     if n == "manifest.json" else (n, d), "format version 99"),
    (lambda n, d: None if n == "manifest.json" else (n, d), "not a tlkit results archive"),
])
def test_a_damaged_or_foreign_archive_is_refused_whole(tmp_path, exported, damage, message):
    done, _ = exported
    _rewrite(done.path, damage)
    there = Store(tmp_path / "there")
    with pytest.raises(ArchiveError, match=message):
        import_results(done.path, there)
    assert not list(there.root.rglob("*.json"))  # nothing written


def test_a_truncated_archive_is_refused(tmp_path, exported):
    done, _ = exported
    data = done.path.read_bytes()
    done.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="truncated|cannot be read|corrupted"):
        import_results(done.path, Store(tmp_path / "there"))


def test_records_of_other_code_are_refused(tmp_path, exported, monkeypatch):
    import tlkit.fingerprint

    done, _ = exported
    monkeypatch.setattr(tlkit.fingerprint, "run_fingerprint", lambda spec: "f" * 16)
    monkeypatch.setattr(tlkit.fingerprint, "code_fingerprint", lambda: "e" * 16)
    with pytest.raises(ArchiveError, match="made by a different computation") as caught:
        import_results(done.path, Store(tmp_path / "there"))
    manifest = read_manifest(done.path)
    assert f"code {manifest['code']}" in str(caught.value)  # which against which
    assert f"computes code {'e' * 16}" in str(caught.value)


def test_export_leaves_out_records_of_other_code(tmp_path, exported, monkeypatch):
    import tlkit.fingerprint

    monkeypatch.setattr(tlkit.fingerprint, "run_fingerprint", lambda spec: "f" * 16)
    with pytest.raises(ArchiveError, match="no record of this code"):
        export_results(tmp_path / "other.tar.gz", Store(tmp_path / "here"))


def test_the_command_exports_and_imports(tmp_path, exported, capsys):
    from tlkit.cli import main

    archive = tmp_path / "again.tar.gz"
    assert main(["results", "export", str(archive), "--results", str(tmp_path / "here")]) == 0
    assert main(["results", "import", str(archive), "--results", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert "exported 4 records and 1 checkpoints" in out
    assert "imported 4 records and 1 checkpoints" in out
    assert main(["results", "import", str(tmp_path / "missing.tar.gz")]) == 2
    assert "no archive at" in capsys.readouterr().err


def test_results_of_another_device_are_used_without_training(tmp_path, monkeypatch,
                                                             count_fits):
    """A CPU machine builds from records computed on a GPU (TLKIT_COMPUTE), and a run those
    results lack is an error before any training, not a run computed on the CPU."""
    here = Store(tmp_path / "gpu")
    specs = sweep.on_compute([tiny(0), tiny(1)], "cuda-bf16")
    import tlkit.runner

    for spec in specs:  # records as a GPU machine stores them (numbers from a CPU run here)
        record = tlkit.runner.train(spec.on("cpu-fp32")).record
        here.put(type(record)(spec, spec.key(), record.metrics, record.history,
                              record.provenance))
    archive = export_results(tmp_path / "gpu.tar.gz", here).path
    there = Store(tmp_path / "reader")
    import_results(archive, there)
    fits = len(count_fits)
    monkeypatch.setenv("TLKIT_COMPUTE", "cuda-bf16")
    got = sweep.run([tiny(0), tiny(1)], store=there, device="cpu")
    assert [r.key for r in got] == [s.key() for s in specs] and len(count_fits) == fits
    from tlkit.preflight import PreflightError

    with pytest.raises(PreflightError, match="computed as cuda-bf16"):
        sweep.run([tiny(0), tiny(2)], store=there, device="cpu")
    assert len(count_fits) == fits


def test_a_file_changed_during_export_leaves_no_archive(tmp_path, exported, monkeypatch):
    """A record rewritten between the manifest and its copy (a sweep on the same folder) is
    caught: the export fails and the archive that was there before is left as it was."""
    import tlkit.archive as archive

    done, _ = exported
    before = done.path.read_bytes()
    real = archive._add

    def meddling(tar, name, data):
        real(tar, name, data)
        if name == archive.MANIFEST:  # after the checksums are taken, before the copies
            first = sorted((tmp_path / "here" / "runs").glob("*/*.json"))[0]
            first.write_bytes(first.read_bytes() + b" ")

    monkeypatch.setattr(archive, "_add", meddling)
    with pytest.raises(ArchiveError, match="changed while the archive was written"):
        export_results(done.path, Store(tmp_path / "here"))
    assert done.path.read_bytes() == before
    assert not list(tmp_path.glob(".results.tar.gz.*.tmp"))
