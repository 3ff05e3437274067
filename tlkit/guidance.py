"""What the book can recommend: advice made only where the claims it rests on held.

``book/guidance.yml`` lists each recommendation the practical guidelines could make, with the
claims of the experiment pages it rests on (``page:claim``, the ids of each page's result at a
glance). :func:`guidance_markdown` turns it into one table at the top of the guidelines: a
recommendation is *made* only when every claim it rests on *held* in this build; otherwise the
row says which verdicts stop it, and a recommendation that rests on no claim is labelled as a
rule of the book's method, not a finding. :func:`write_guidance` writes the table into the
staged guidelines page between :data:`START` and :data:`END`, from the same glued values as
each page's own verdicts (:func:`tlkit.findings.findings_rows`), so the advice changes with the
evidence of the profile that built the book, never against it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["GUIDANCE_FILE", "PAGE", "START", "END", "read_guidance", "guidance_markdown",
           "write_guidance"]

#: The recommendations, relative to the book's source folder.
GUIDANCE_FILE = Path("book") / "guidance.yml"
#: The page that shows them.
PAGE = Path("book") / "guidelines.md"
START, END = "<!-- guidance: start -->", "<!-- guidance: end -->"


def read_guidance(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The recommendations of ``path``: each a mapping with ``guideline`` (its number),
    ``advice`` (a sentence) and ``rests_on`` (``page:claim`` ids, possibly none). Raises
    :class:`ValueError` naming the entry that lacks one of them."""
    import yaml

    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(loaded, list):
        raise ValueError(f"{path}: expected a list of recommendations")
    for i, entry in enumerate(loaded):
        ok = (isinstance(entry, dict) and isinstance(entry.get("guideline"), int)
              and isinstance(entry.get("advice"), str)
              and isinstance(entry.get("rests_on", []), list)
              and all(isinstance(c, str) and c.count(":") == 1
                      for c in entry.get("rests_on", [])))
        if not ok:
            raise ValueError(f"{path}: entry {i + 1} needs guideline (a number), advice (a "
                             "sentence) and rests_on (a list of page:claim ids)")
    return loaded


def _claim_cell(claim: str, row: dict[str, Any] | None, folder: str) -> str:
    page, ident = claim.split(":")
    if row is None:
        return f"{ident} ({page.replace('_', ' ')} not executed in this build)"
    return (f"{row['claim']}: *{row['verdict']}* "
            f"({{doc}}`{page[:2]} <{folder}/{page}>`)").replace("|", "\\|")


def guidance_markdown(recommendations: Sequence[dict[str, Any]],
                      rows: Sequence[dict[str, Any]], folder: str = "../notebooks") -> str:
    """The table (MyST Markdown) of ``recommendations`` judged by the claims ``rows`` of
    :func:`tlkit.findings.findings_rows`: guideline, what the book recommends, and the claims it
    rests on with their verdicts; a count sentence first. Each guideline's number links to its
    section, labelled ``guideline-<number>`` on the page. Raises :class:`ValueError` naming a
    claim that an executed page does not state (a page not executed leaves its claims open)."""
    verdicts = {f"{r['notebook']}:{r['id']}": r for r in rows}
    executed = {r["notebook"] for r in rows}
    for rec in recommendations:
        for claim in rec.get("rests_on", []):
            if claim.split(":")[0] in executed and claim not in verdicts:
                raise ValueError(f"guideline {rec['guideline']} rests on {claim!r}, which "
                                 "its page does not state")
    made = 0
    lines = []
    for rec in recommendations:
        claims = rec.get("rests_on", [])
        found = [verdicts.get(c) for c in claims]
        if not claims:
            advice = f"{rec['advice']} *(a rule of this book's method, not a finding)*"
        elif all(r is not None and r["verdict_key"] == "held" for r in found):
            advice, made = f"**{rec['advice']}**", made + 1
        elif any(r is not None and "the other way" in r["verdict"] for r in found):
            advice = f"*Not made: the effect went the other way.* The survey: {rec['advice']}"
        else:
            advice = f"*Not made: not every claim held.* The survey: {rec['advice']}"
        rests = "; ".join(_claim_cell(c, r, folder)
                          for c, r in zip(claims, found, strict=True)) or "–"
        number = f"{{ref}}`{rec['guideline']} <guideline-{rec['guideline']}>`"
        lines.append(f"| {number} | {advice.replace('|', chr(92) + '|')} | {rests} |")
    measured = sum(bool(rec.get("rests_on")) for rec in recommendations)
    head = [f"Of the {measured} recommendations the guidelines could make from a measured "
            f"claim, this build makes **{made}**: those whose every claim *held*. The others "
            "are not made; each row gives the survey's advice and the verdicts that stop it. "
            "The verdicts are those of the pages linked, in the profile that built this copy "
            "of the book.", "",
            "```{table} What the book recommends, and the verdicts each recommendation rests on",
            "| # | recommendation | rests on (claim: verdict) |",
            "| --- | --- | --- |"]
    return "\n".join([*head, *lines, "```"]) + "\n"


def write_guidance(src: str | os.PathLike[str], rows: Sequence[dict[str, Any]]) -> Path | None:
    """Fill the guidelines page of the staged sources ``src`` (between :data:`START` and
    :data:`END`) with :func:`guidance_markdown` of ``src``'s :data:`GUIDANCE_FILE`; return its
    path, or ``None`` (nothing written) where the page has no such block or there is no file."""
    path, listed = Path(src) / PAGE, Path(src) / GUIDANCE_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text) or not listed.is_file():
        return None
    block = f"{START}\n{guidance_markdown(read_guidance(listed), rows)}{END}"
    path.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
    return path
