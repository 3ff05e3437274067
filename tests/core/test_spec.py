import re
import subprocess
import sys

import pytest

from tlkit import DataSpec, ModelSpec, RunSpec, TrainConfig, TransferSpec
from tlkit.spec import CACHE_VERSION


def _source():
    return RunSpec(DataSpec("glyphs", {"fonts": ["sans"]}, classes=("A", "B")), seed=1)


def _target(**kw):
    t = TransferSpec(source=_source(), layers=3, freeze=False)
    return RunSpec(DataSpec("digits", n_per_class=5), transfer=t, **kw)


def test_design_key_is_pinned():
    # If this fails, a change altered what a spec means: bump CACHE_VERSION on purpose and
    # update the literal, so stale records are not reused. (The key itself also hashes the
    # code fingerprint, so it changes with the computing code, as it should.)
    assert CACHE_VERSION == 3
    assert RunSpec(DataSpec("digits")).design_key() == "95c5a18f766a5b15"


def test_the_key_hashes_the_code_fingerprint(monkeypatch):
    import tlkit.fingerprint

    spec = RunSpec(DataSpec("digits"))
    before = spec.key()
    monkeypatch.setattr(tlkit.fingerprint, "run_fingerprint", lambda spec: "0" * 16)
    assert spec.key() != before and spec.design_key() == RunSpec(DataSpec("digits")).design_key()


def test_key_is_stable_across_processes():
    code = ("from tlkit import *; print(RunSpec(DataSpec('digits', n_per_class=5), "
            "transfer=TransferSpec(source=RunSpec(DataSpec('glyphs', {'fonts': ['sans']}, "
            "classes=('A', 'B')), seed=1), layers=3, freeze=False)).key())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == _target().key()


def test_json_round_trip_keeps_identity_and_tags():
    spec = _target(seed=4).with_tags(condition="AnB+", split="near")
    back = RunSpec.from_json(spec.to_json())
    assert back == spec and back.key() == spec.key() and back.tag_dict == spec.tag_dict
    assert back.transfer.source == _source()


def test_tags_do_not_change_the_key_but_everything_else_does():
    base = _target()
    assert base.with_tags(x=1).key() == base.key()
    variants = [
        _target(seed=1),
        RunSpec(base.data, model=ModelSpec(width=8),
                transfer=TransferSpec(source=RunSpec(_source().data, ModelSpec(width=8), seed=1),
                                      layers=3, freeze=False)),
        _target(train=TrainConfig(epochs=3)),
        RunSpec(DataSpec("digits", n_per_class=6), transfer=base.transfer),
        RunSpec(DataSpec("digits", n_per_class=5, subsample_seed=1), transfer=base.transfer),
        RunSpec(base.data, transfer=TransferSpec(source=_source(), layers=3, freeze=True)),
        RunSpec(base.data, transfer=TransferSpec(source=RunSpec(_source().data, seed=2),
                                                 layers=3, freeze=False)),
    ]
    keys = {v.key() for v in variants}
    assert base.key() not in keys and len(keys) == len(variants)


def test_options_are_order_independent():
    a = DataSpec("glyphs", {"shift": 0.5, "fonts": ["serif", "sans"]})
    b = DataSpec("glyphs", (("fonts", ("serif", "sans")), ("shift", 0.5)))
    assert RunSpec(a).key() == RunSpec(b).key()


def test_impossible_specs_are_rejected():
    with pytest.raises(ValueError, match="cannot transfer 8 layers"):
        RunSpec(DataSpec("digits"), transfer=TransferSpec(source=_source(), layers=8))
    with pytest.raises(ValueError, match="unknown architecture"):
        ModelSpec(arch="vgg16")
    with pytest.raises(ValueError, match="regularizer"):
        TransferSpec(regularizer="l1")
    with pytest.raises(ValueError, match="only be frozen"):
        RunSpec(DataSpec("digits"), transfer=TransferSpec(layers=2, freeze=False))
    with pytest.raises(ValueError, match="needs a source run or pretrained weights"):
        RunSpec(DataSpec("digits"), transfer=TransferSpec(regularizer="l2sp"))
    # pretrained torchvision weights stand in for a source run
    RunSpec(DataSpec("digits"), ModelSpec(arch="resnet18", channels=3, weights="IMAGENET1K_V1"),
            transfer=TransferSpec(layers=5, freeze=False, regularizer="l2sp"))
    with pytest.raises(ValueError, match="share input size"):
        RunSpec(DataSpec("digits"), model=ModelSpec(size=16),
                transfer=TransferSpec(source=_source(), layers=2))
    with pytest.raises(ValueError, match="n_per_class"):
        DataSpec("digits", n_per_class=0)


@pytest.mark.parametrize("make, message", [
    (lambda: TransferSpec(layers="3"), "TransferSpec.layers must be an integer, got str '3'"),
    (lambda: TransferSpec(layers=True), "TransferSpec.layers must be an integer, got bool"),
    (lambda: TransferSpec(lr_mult="0.1"), "TransferSpec.lr_mult must be a number"),
    (lambda: TransferSpec(alpha=None), "TransferSpec.alpha must be a number"),
    (lambda: TransferSpec(source="baseA", layers=2), "TransferSpec.source must be a RunSpec"),
    (lambda: DataSpec("digits", n_per_class="5"), "DataSpec.n_per_class must be an integer"),
    (lambda: DataSpec(5), "DataSpec.name must be a dataset name"),
    (lambda: DataSpec("digits", classes="012"), "not a string"),
    (lambda: ModelSpec(width="16"), "ModelSpec.width must be an integer"),
    (lambda: RunSpec(DataSpec("digits"), seed="1"), "RunSpec.seed must be an integer"),
    (lambda: RunSpec("digits"), "RunSpec.data must be a DataSpec"),
    (lambda: TrainConfig(lr="0.1"), "TrainConfig.lr must be a number, got str"),
    (lambda: TrainConfig(epochs=2.0), "TrainConfig.epochs must be an integer, got float"),
])
def test_constructors_reject_wrong_types_naming_the_field(make, message):
    with pytest.raises(TypeError) as err:
        make()
    assert message in str(err.value)


def test_an_integer_and_the_equal_float_are_one_run():
    """``alpha=0`` and ``alpha=0.0`` (or ``lr=1`` and ``1.0``) name the same run: one key, one
    record, the same random streams."""
    def run(**kw):
        train = {k: kw.pop(k) for k in ("lr", "weight_decay") if k in kw}
        return RunSpec(DataSpec("digits"), train=TrainConfig(**train),
                       transfer=TransferSpec(source=_source(), layers=2, freeze=False,
                                             regularizer="l2sp", **kw))
    a = run(alpha=0, beta=1, lr_mult=1, lr=1, weight_decay=0)
    b = run(alpha=0.0, beta=1.0, lr_mult=1.0, lr=1.0, weight_decay=0.0)
    assert a.key() == b.key() and a.design_key() == b.design_key()
    assert a.seed_for("init") == b.seed_for("init")
    assert RunSpec.from_dict(a.to_dict()).key() == a.key()
    assert run(alpha=0).key() != run(alpha=0.01).key()


@pytest.mark.parametrize("make, message", [
    (lambda: TransferSpec(layers=-1), "TransferSpec.layers must be >= 0"),
    (lambda: TransferSpec(beta=float("nan")), "TransferSpec.beta must be >= 0"),
    (lambda: DataSpec("digits", n_per_class=0), "DataSpec.n_per_class must be >= 1"),
    (lambda: RunSpec(DataSpec("digits"), seed=-1), "RunSpec.seed must be >= 0"),
])
def test_constructors_reject_out_of_range_values(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_a_key_is_computed_once_per_spec_and_code(monkeypatch):
    import tlkit.fingerprint

    spec = _target()
    first = spec.key()
    with monkeypatch.context() as m:
        m.setattr(RunSpec, "identity", lambda self: pytest.fail("hashed again"))
        assert spec.key() == first  # kept on the frozen spec
    monkeypatch.setattr(tlkit.fingerprint, "run_fingerprint", lambda spec: "1" * 16)
    assert spec.key() != first  # other code: computed again
