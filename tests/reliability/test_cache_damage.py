"""A run cache that heals: a damaged record or checkpoint is moved aside, named in one warning
line and recomputed, and nothing else is recomputed."""

import json

import pytest

from tests.core.test_sweep import source, tiny, transfer
from tlkit import sweep
from tlkit.store import DAMAGED, Store


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _not_json(path):
    path.write_text("this is not JSON {")


def _empty(path):
    path.write_bytes(b"")


def _wrong_shape(path):
    path.write_text(json.dumps({"spec": 3}))


def _a_list(path):
    path.write_text("[1, 2, 3]")


def _binary(path):
    path.write_bytes(b"\xff\xfe\x00garbage")


def _edited(field, value):
    """Valid JSON of the right shape, one field edited by hand (the digest left as it was)."""
    def edit(path):
        data = json.loads(path.read_text())
        data["metrics"][field] = value
        path.write_text(json.dumps(data, indent=1))
    edit.__name__ = f"_edited_{field}"
    return edit


def _metrics_not_an_object(path):
    data = json.loads(path.read_text())
    data["metrics"] = "oops"
    path.write_text(json.dumps(data))


def _metrics_empty(path):
    data = json.loads(path.read_text())
    data["metrics"] = {}
    path.write_text(json.dumps(data))


def _no_digest(path):
    data = json.loads(path.read_text())
    del data["sha256"]
    path.write_text(json.dumps(data))


def _a_folder(path):
    path.unlink()
    (path / "inside").mkdir(parents=True)


def _another_runs_record(path):
    other = tiny(7)
    sweep.run([other])
    path.write_text(Store().record_path(other.key()).read_text())


@pytest.mark.parametrize("damage", [_truncate, _not_json, _empty, _wrong_shape, _a_list,
                                    _binary, _another_runs_record, _edited("test_acc", 0.99),
                                    _edited("n_train", 10**6), _metrics_not_an_object,
                                    _metrics_empty, _no_digest, _a_folder],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_damaged_record_is_moved_aside_named_and_recomputed_alone(damage, count_fits,
                                                                     capsys):
    specs = [tiny(s) for s in range(3)]
    first = sweep.run(specs)
    store = Store()
    path = store.record_path(specs[1].key())
    damage(path)
    before = len(count_fits)
    capsys.readouterr()
    again = sweep.run(specs)
    assert len(count_fits) == before + 1, "only the damaged run is recomputed"
    assert [r.metrics for r in again] == [r.metrics for r in first]
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "damaged" in line]
    assert len(warnings) == 1 and str(path) in warnings[0]
    kept = list((store.root / DAMAGED).rglob(f"{path.name}.*"))
    assert len(kept) == 1, "the damaged file is kept for inspection"


def test_records_skips_and_moves_a_damaged_record(capsys):
    specs = [tiny(s) for s in range(2)]
    sweep.run(specs)
    store = Store()
    _truncate(store.record_path(specs[0].key()))
    keys = [r.key for r in store.records()]
    assert keys == [specs[1].key()]
    assert "damaged" in capsys.readouterr().err
    assert not store.has(specs[0]) and store.get(specs[0]) is None


def _other_weights(path):
    """A loadable checkpoint whose weights were changed after it was written."""
    import torch

    obj = torch.load(path, weights_only=True)
    name = next(iter(obj["state"]))
    obj["state"][name] = obj["state"][name] + 1
    torch.save(obj, path)


def _plain_state(path):
    """A bare state dict, without the digest a checkpoint carries."""
    import torch

    torch.save(torch.load(path, weights_only=True)["state"], path)


@pytest.mark.parametrize("damage", [_truncate, _empty, _not_json, _other_weights, _plain_state,
                                    _a_folder], ids=lambda f: f.__name__.strip("_"))
def test_a_damaged_checkpoint_is_retrained_bit_identically(damage, count_fits, capsys):
    specs = [transfer(2), transfer(3)]
    first = sweep.run(specs)
    store = Store()
    good = store.load_checkpoint(source())
    path = store.checkpoint_path(source().key())
    damage(path)
    before = len(count_fits)
    capsys.readouterr()
    again = sweep.run(specs + [transfer(4)])
    # the source retrains (its checkpoint is gone), then only the new run
    assert len(count_fits) == before + 2
    assert [r.metrics for r in again[:2]] == [r.metrics for r in first]
    healed = store.load_checkpoint(source())
    assert healed.keys() == good.keys()
    assert all((healed[k] == good[k]).all() for k in good)
    err = capsys.readouterr().err
    assert sum("damaged" in line for line in err.splitlines()) == 1 and str(path) in err
    assert list((store.root / DAMAGED).rglob(f"{path.name}.*"))


def test_a_results_folder_that_cannot_be_written_fails_before_any_training(tmp_path,
                                                                          count_fits):
    from tlkit.preflight import PreflightError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the results folder should be")
    with pytest.raises(PreflightError, match="not-a-folder"):
        sweep.run([tiny(0), tiny(1)], store=Store(blocker / "results"))
    assert count_fits == []
