"""Distances and scores cached like runs: computed once, keyed by inputs and code, healed."""

import math

import pytest

import tlkit.computed
import tlkit.measures
from tlkit import DataSpec, ModelSpec
from tlkit.computed import cached, computed_path
from tlkit.measures import pixel_features
from tlkit.measures.pairs import DistancePair, FeatureSpace
from tlkit.measures.pairs import pair_distances as distance_table
from tlkit.store import Store


def counter():
    calls = []

    def compute():
        calls.append(1)
        return {"otdd": 0.5, "nan": math.nan}

    return calls, compute


def test_a_value_is_computed_once_per_inputs():
    calls, compute = counter()
    first = cached("distances", {"a": 1}, compute)
    again = cached("distances", {"a": 1}, compute)
    assert len(calls) == 1 and first["otdd"] == again["otdd"] == 0.5
    assert math.isnan(again["nan"])
    cached("distances", {"a": 2}, compute)
    cached("scores", {"a": 1}, compute)
    assert len(calls) == 3


def test_other_code_computes_again(monkeypatch):
    calls, compute = counter()
    cached("scores", {"a": 1}, compute, modules=["measures"])
    monkeypatch.setattr(tlkit.computed, "code_fingerprint", lambda: "0" * 16)
    cached("scores", {"a": 1}, compute, modules=["measures"])
    assert len(calls) == 2
    with pytest.raises(ValueError, match="no module"):
        cached("scores", {"a": 1}, compute, modules=["no_such_module.py"])


@pytest.mark.parametrize("damage", [b"", b"{not json", b"[1, 2]", b'{"key": "other",'
                                    b' "value": 1}', b"\xff\xfe"])
def test_a_damaged_value_is_moved_aside_and_computed_again(damage, capsys):
    calls, compute = counter()
    cached("scores", {"a": 1}, compute)
    store = Store()
    (path,) = (store.root / "computed" / "scores").rglob("*.json")
    path.write_bytes(damage)
    assert cached("scores", {"a": 1}, compute)["otdd"] == 0.5
    assert len(calls) == 2 and path.exists()
    assert list((store.root / "damaged").rglob("*.json.*")), "the damaged file is kept"
    assert "damaged" in capsys.readouterr().err
    assert computed_path(store, "scores", path.stem) == path


def test_a_distance_table_is_measured_once(monkeypatch):
    real, calls = tlkit.measures.otdd, []

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tlkit.measures, "otdd", counting)
    letters = DataSpec("glyphs", {"fonts": ["sans"], "n_train": 6, "n_test": 1,
                                  "resolution": 16}, classes=tuple("ABC"))
    shifted = DataSpec("glyphs", {"fonts": ["sans"], "n_train": 6, "n_test": 1,
                                  "resolution": 16, "shift": 1.0}, classes=tuple("ABC"))
    space = FeatureSpace("pixels", lambda im: pixel_features(im, size=4), 1.0, "pixels:4")
    pairs = [DistancePair(letters, shifted, (space,), {"target": "shifted"})]
    model = ModelSpec(width=2, size=16)
    first = distance_table(pairs, model, max_samples=100)
    second = distance_table(pairs, model, max_samples=100)
    assert len(calls) == 1
    assert first.equals(second) and first["otdd_pixels"].iloc[0] > 0
    distance_table(pairs, model, max_samples=50)  # another subsample: measured again
    assert len(calls) == 2
    anonymous = FeatureSpace("pixels", lambda im: pixel_features(im, size=4), 1.0)
    distance_table([DistancePair(letters, shifted, (anonymous,))], model, max_samples=100)
    assert len(calls) == 3, "a space without an identity is never cached"
