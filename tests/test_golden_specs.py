"""Golden spec lists: every notebook's runs, per profile, pinned by the hash of their keys.

A run's key is the SHA-256 of its canonical spec, so it is the same on every machine. A change
to the code that changes what a notebook runs (another seed, size, recipe or tag) changes a
hash here; update the table in the same commit and bump ``tlkit.spec.CACHE_VERSION`` if
existing records no longer describe the code that would compute them.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tlkit.experiments import NOTEBOOKS, module_for

#: notebook/profile -> (runs listed, distinct runs, hash of keys and tags in order)
GOLDEN = {
    "00_quickstart/smoke": (6, 6, "9b2fdea96a193c10"),
    "00_quickstart/quick": (30, 30, "9bb5272da7facb92"),
    "00_quickstart/full": (45, 45, "3f6a3544c1b18acc"),
    "01_layer_transfer/smoke": (132, 82, "cd20f23c38b78a36"),
    "01_layer_transfer/quick": (576, 417, "c0f3ae12f68f75ce"),
    "01_layer_transfer/full": (1300, 1150, "9ded45ac063156e3"),
    "02_small_targets/smoke": (60, 60, "7faec0726acdfdb1"),
    "02_small_targets/quick": (382, 382, "a49e9fe4a67c5611"),
    "02_small_targets/full": (1150, 1150, "3f6b109079ab314f"),
}


def listing(notebook: str, profile: str) -> tuple[int, int, str]:
    module = module_for(notebook)
    specs = module.specs({"profile": profile})
    if hasattr(module, "layer_transfer_specs"):
        specs = specs + module.layer_transfer_specs({"profile": profile})
    text = "\n".join(s.key() + " " + json.dumps(s.tag_dict, sort_keys=True) for s in specs)
    return len(specs), len({s.key() for s in specs}), hashlib.sha256(text.encode()).hexdigest()[:16]


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_notebook_runs_match_the_golden_listing(case):
    notebook, profile = case.split("/")
    assert notebook in NOTEBOOKS
    assert listing(notebook, profile) == GOLDEN[case]
