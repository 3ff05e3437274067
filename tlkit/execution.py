"""The book's page of execution statistics, written by each build from the build itself.

For every notebook of the book, :func:`notebook_rows` reads what its executed copy recorded
under ``metadata.tlkit`` (:func:`tlkit.notebooks.execute`): the profile, the wall time, how many
distinct runs its sweeps trained and how many they took from the run cache, where the runs
computed, and the library versions. :func:`write_page` turns those rows into the Markdown page
``book/execution_statistics.md`` of the staged sources, replacing the placeholder of the
repository, so the page always describes the pages it is published with.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["PAGE", "notebook_rows", "page", "write_page", "wall_time"]

#: The page, relative to the book's source folder.
PAGE = Path("book") / "execution_statistics.md"

_COMPUTE_NAMES = {"cpu-fp32": "CPU, float32", "cpu-bf16": "CPU, bfloat16",
                  "cuda-bf16": "CUDA, bfloat16"}


_NBSP = "\u00a0"


def wall_time(seconds: float | None) -> str:
    """``"48.2 s"``, ``"3 min 05 s"`` or ``"1 h 02 min"`` (non-breaking spaces, so a table
    cell never splits a number from its unit); ``"–"`` for ``None``."""
    if seconds is None:
        return "–"
    if seconds < 60:
        text = f"{seconds:.1f} s"
    else:
        minutes, secs = divmod(int(round(seconds)), 60)
        hours, minutes = divmod(minutes, 60)
        text = f"{minutes} min {secs:02d} s" if not hours else f"{hours} h {minutes:02d} min"
    return text.replace(" ", _NBSP)


def notebook_rows(notebooks: Sequence[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """One row per executed notebook: what its ``metadata.tlkit`` says (``None`` where it
    says nothing, e.g. a copy executed before these statistics were kept)."""
    import nbformat

    rows = []
    for path in map(Path, notebooks):
        meta = nbformat.read(str(path), as_version=4).metadata.get("tlkit", {})
        sweeps = meta.get("sweeps") or {}
        machine = meta.get("machine") or {}
        rows.append({
            "notebook": path.stem,
            "profile": meta.get("profile"),
            "seconds": meta.get("seconds"),
            "sweeps": sweeps.get("sweeps"),
            "trained": sweeps.get("runs_trained"),
            "cached": sweeps.get("runs_cached"),
            "busy": sweeps.get("busy"),
            "computes": [_COMPUTE_NAMES.get(c, c) for c in sweeps.get("computes", [])],
            "gpu": machine.get("gpu"),
            "versions": meta.get("versions") or {},
            "machine": machine,
            "executed_at": meta.get("executed_at"),
        })
    return rows


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _device(row: Mapping[str, Any]) -> str:
    if not row["computes"]:
        return "no runs" if row["sweeps"] == 0 else "–"
    names = ", ".join(c.replace(" ", _NBSP) for c in row["computes"])
    return f"{names} ({row['gpu']})" if row["gpu"] and "CUDA" in row["computes"][0] else names


def page(rows: Sequence[Mapping[str, Any]]) -> str:
    """The Markdown of the page for ``rows`` (:func:`notebook_rows`)."""
    lines = [
        "# Execution statistics",
        "",
        "Every page of this book was executed by `tlkit book`, and this page was written by "
        "the same build from what each executed notebook recorded. A run *from the cache* was "
        "trained earlier, by a previous build or by an earlier notebook of this one, and "
        "reused: its key hashes its specification, the code that computes it and where it "
        "ran, so a reused record is the record this code would compute "
        "({doc}`evidence`).",
        "",
    ]
    environments = {_environment(r) for r in rows if r["versions"]}
    per_row = len(environments) > 1  # say each notebook's environment only where they differ
    header = "| notebook | profile | wall time | runs trained | runs from the cache | computed on |"
    lines += [header + (" environment |" if per_row else ""),
              "| --- | --- | ---: | ---: | ---: | --- |" + (" --- |" if per_row else "")]
    for row in rows:
        cells = [f"{{doc}}`{row['notebook']} <../notebooks/{row['notebook']}>`",
                 row["profile"] or "–", wall_time(row["seconds"]), _count(row["trained"]),
                 _count(row["cached"]), _device(row)]
        if per_row:
            cells.append(_environment(row) if row["versions"] else "–")
        lines.append("| " + " | ".join(cells) + " |")
    known = [r for r in rows if r["seconds"] is not None]
    total = sum(r["seconds"] for r in known) if known else None
    lines.append(
        f"| **all notebooks** | | **{wall_time(total)}** "
        f"| **{_count(sum(r['trained'] or 0 for r in rows))}** "
        f"| **{_count(sum(r['cached'] or 0 for r in rows))}** | |" + (" |" if per_row else ""))
    lines.append("")
    busy = [r for r in rows if r.get("busy") is not None]
    if busy:
        each = ", ".join(f"{r['notebook']} {r['busy']:.0%}" for r in busy)
        lines += ["While a notebook trained runs, its workers spent this share of their time "
                  f"training (the rest went to starting up and waiting for work): {each}.", ""]
    if len(environments) == 1:
        lines.append(f"Every notebook ran with {environments.pop()}.")
    lines.append("")
    return "\n".join(lines)


def _environment(row: Mapping[str, Any]) -> str:
    v, m = row["versions"], row["machine"]
    libraries = ", ".join(f"{name} {v[name]}" for name in
                          ("tlkit", "torch", "torchvision", "numpy", "python") if name in v)
    where = f"{m.get('system', '?')}, {m.get('cpus', '?')} CPUs"
    if m.get("gpu"):
        where += f", {m['gpu']}"
    return f"{libraries}, on {where}"


def write_page(src: str | os.PathLike[str], notebooks: Sequence[str | os.PathLike[str]]
               ) -> Path:
    """Write the page into the staged sources ``src`` from the executed ``notebooks``."""
    path = Path(src) / PAGE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(notebook_rows(notebooks)), encoding="utf-8")
    return path
