"""Golden test of the table builder: a fixed record gives exactly this row."""

import pandas as pd

from tlkit import DataSpec, RunSpec, TransferSpec
from tlkit.record import Record
from tlkit.results import frame


def test_frame_golden():
    source = RunSpec(DataSpec("glyphs", classes=("A", "B")))
    spec = RunSpec(DataSpec("digits", {"x": 1}, classes=("0", "1"), n_per_class=5),
                   transfer=TransferSpec(source=source, layers=2, freeze=True), seed=3,
                   ).with_tags(condition="AnB", split="near")
    record = Record(spec=spec, key=spec.key(),
                    metrics={"test_acc": 0.75, "test_loss": 0.5, "val_acc": 0.7,
                             "val_loss": 0.6, "train_acc": 1.0, "train_loss": 0.1,
                             "n_train": 10, "n_val": 4, "n_test": 8, "num_classes": 2},
                    provenance={"tlkit": "0.1.0", "torch": "2.x", "device": "cpu",
                                "wall_seconds": 1.5})
    df = frame([record, record])
    assert len(df) == 2
    expected = {
        "condition": "AnB", "split": "near", "dataset": "digits", "data_options": '{"x": 1}',
        "classes": "0|1", "n_per_class": 5, "subsample_seed": 0, "validation": 0,
        "arch": "cnn8", "width": 16, "size": 32, "channels": 1, "weights": None, "epochs": 10,
        "batch_size": 128, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
        "schedule": "cosine", "warmup_epochs": 0.0, "source_key": source.key(),
        "source_dataset": "glyphs", "layers": 2, "freeze": True, "frozen": 2, "lr_mult": 1.0,
        "regularizer": "l2", "alpha": 0.01, "beta": 0.0, "sp_layers": None, "bn_stats": "source",
        "test_acc": 0.75, "test_loss": 0.5, "val_acc": 0.7, "val_loss": 0.6, "train_acc": 1.0,
        "train_loss": 0.1, "n_train": 10, "n_val": 4, "n_test": 8, "num_classes": 2,
        "key": spec.key(), "seed": 3, "compute": "cpu-fp32", "tlkit_version": "0.1.0",
        "torch_version": "2.x", "device": "cpu", "wall_seconds": 1.5,
    }
    assert list(df.columns) == list(expected)
    pd.testing.assert_series_equal(df.iloc[0], pd.Series(expected, name=0), check_dtype=False)
