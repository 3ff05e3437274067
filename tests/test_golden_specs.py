"""Golden spec lists: every notebook's runs, per profile, pinned by the hash of their keys.

A run's design key is the SHA-256 of its canonical spec (not of the code that computes it), so it
is the same on every machine and every version of the code. A change that alters what a notebook
runs (another seed, size, recipe or tag) changes a hash here; update the table in the same
commit.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tlkit.experiments import NOTEBOOKS, module_for

#: notebook/profile -> (runs listed, distinct runs, hash of keys and tags in order)
GOLDEN = {
    "00_quickstart/smoke": (6, 6, "187a7edd94d32db6"),
    "00_quickstart/quick": (48, 48, "e2beda78e46cce70"),
    "00_quickstart/full": (45, 45, "5584a4467fc303a0"),
    "01_layer_transfer/smoke": (84, 80, "7f760f44f04a5fed"),
    "01_layer_transfer/quick": (299, 285, "1f6c9e3744261d95"),
    "01_layer_transfer/full": (1020, 870, "77151203871ea934"),
    "02_small_targets/smoke": (64, 64, "f9c33c878594faaa"),
    "02_small_targets/quick": (460, 460, "2e7042f70cc70fc2"),
    "02_small_targets/full": (1318, 1318, "54d8c94a505d246c"),
    "03_pretrained/smoke": (68, 68, "603321620eec895f"),
    "03_pretrained/quick": (234, 234, "fd332c5eb0b6c8b0"),
    "03_pretrained/full": (1080, 1080, "f4608a329463d42c"),
    "04_hyperparameters/smoke": (56, 56, "95ebdd6733961f68"),
    "04_hyperparameters/quick": (156, 156, "6c0eaff9c3431196"),
    "04_hyperparameters/full": (360, 360, "17904578fdd607f7"),
    "90_recipes/smoke": (46, 46, "a0de12d483decbed"),
    "90_recipes/quick": (198, 198, "fb58540d74d0d275"),
    "90_recipes/full": (148, 148, "013230ebb0c206d0"),
}


def listing(notebook: str, profile: str) -> tuple[int, int, str]:
    module = module_for(notebook)
    specs = module.specs({"profile": profile})
    if hasattr(module, "layer_transfer_specs"):
        specs = specs + module.layer_transfer_specs({"profile": profile})
    text = "\n".join(s.design_key() + " " + json.dumps(s.tag_dict, sort_keys=True)
                     for s in specs)
    return (len(specs), len({s.design_key() for s in specs}),
            hashlib.sha256(text.encode()).hexdigest()[:16])


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_notebook_runs_match_the_golden_listing(case):
    notebook, profile = case.split("/")
    assert notebook in NOTEBOOKS
    assert listing(notebook, profile) == GOLDEN[case]
