"""The grading package, made to grade on its own: tlkit inside, versions pinned, the run cached.

Otter Assign writes a zip whose environment installs only Python and Otter; the hidden tests
import tlkit, and the notebook trains networks. :func:`complete_package` rewrites that zip so that
it installs and grades anywhere, offline once installed:

``tlkit-<version>-py3-none-any.whl``
    the package itself, built from the book's source (:func:`build_wheel`);
``requirements.txt`` and ``environment.yml``
    the wheel, Otter and every direct dependency pinned to the versions the assignment was
    generated with (:func:`pinned_requirements`); ``environment.yml`` is what Gradescope's setup
    installs, with the wheel's path in its autograder folder, and torch's CPU-only builds (the
    grader has no GPU; the default build adds gigabytes of CUDA libraries);
``requirements-lock.txt``
    every distribution of the environment that generated the assignment, at its version
    (:func:`locked_requirements`): what to install to grade exactly as it was made;
``files/tlkit-assignment.json``
    the settings every submission is graded with (:mod:`tlkit.teaching.settings`);
``files/results/``
    the grading run's records, so that a submission trains nothing and hidden tests read the
    expected tables from them (:mod:`tlkit.teaching.reference`);
``files/<name>``
    the files the chapter's assignment ships beside the student's notebook, such as an image
    folder (:mod:`tlkit.teaching.shipped`), which Otter copies beside the submission it grades;
``otter_config.json``
    Otter's configuration with the plugin that enforces the settings, and ``show_hidden``: on
    Gradescope the hidden tests' results (and the reason a question was flagged) show once the
    grades are published, after the deadline.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .settings import PLUGIN, RESULTS_FOLDER, SETTINGS_FILE, AssignmentSettings

__all__ = ["GRADING_REQUIREMENTS", "GRADESCOPE_SOURCE", "CPU_TORCH_INDEX", "PackageError",
           "build_wheel", "installed_version", "pinned_requirements", "locked_requirements",
           "complete_package", "package_contents"]

#: Distributions a grading environment needs besides tlkit's own dependencies: Otter, the
#: kernel, and myst-nb (the notebooks glue their numbers for the book).
GRADING_REQUIREMENTS = ("otter-grader[grading,plugins]", "ipykernel", "nbformat", "myst-nb")
#: Where Gradescope unpacks the grading package.
GRADESCOPE_SOURCE = "/autograder/source"
#: Where pip finds torch's CPU-only builds.
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?")


class PackageError(RuntimeError):
    """The grading package could not be made (the wheel would not build, a version is unknown)."""


def installed_version(name: str) -> str:
    """The installed version of distribution ``name``, without a local label (``2.2.0+cpu``
    gives ``2.2.0``, which the package index has).

    Raises:
        PackageError: the distribution is not installed.
    """
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        raise PackageError(f"{name} is not installed, so its version cannot be pinned") from None
    return version.split("+", 1)[0]


def _runtime_requirements(wheel: str | os.PathLike[str] | None = None) -> list[str]:
    """tlkit's own dependencies (no extras), as declared in the wheel's metadata (else in the
    installed distribution's)."""
    if wheel is not None:
        from email.parser import Parser

        with zipfile.ZipFile(wheel) as zf:
            name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            declared = Parser().parsestr(zf.read(name).decode()).get_all("Requires-Dist") or []
    else:
        declared = importlib.metadata.requires("tlkit") or []
    return [r for r in declared if "extra ==" not in r and "extra==" not in r]


def pinned_requirements(extra: Iterable[str] = GRADING_REQUIREMENTS,
                        wheel: str | os.PathLike[str] | None = None) -> list[str]:
    """``name==version`` for every direct dependency of tlkit (read from ``wheel`` where given)
    and for ``extra``, at the installed versions (markers dropped, extras kept)."""
    out, seen = [], set()
    for requirement in [*_runtime_requirements(wheel), *extra]:
        match = _NAME.match(requirement)
        if not match:
            continue
        name, extras = match[1], match[2] or ""
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        out.append(f"{name}{extras}=={installed_version(name)}")
    return out


def locked_requirements() -> list[str]:
    """``name==version`` of every distribution installed here but tlkit (local version labels
    dropped), sorted: the whole environment the assignment was generated and checked in."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata.get("Name")
        if name and name.lower() != "tlkit":
            found[name.lower()] = f"{name}=={dist.version.split('+', 1)[0]}"
    return [found[k] for k in sorted(found)]


def build_wheel(root: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Build tlkit's wheel from the source tree ``root`` into ``out``; return its path.

    Uses the environment's setuptools where it has one (offline), else pip's isolated build.
    The build runs on a copy of the package's files (``pyproject.toml``, ``README.md``,
    ``tlkit/``), so setuptools' ``build/`` folder never lands in the source tree.

    Raises:
        PackageError: the build failed; the message ends with pip's last lines.
    """
    import importlib.util
    import shutil

    root, out = Path(root).resolve(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    if importlib.util.find_spec("setuptools") is not None:
        command.append("--no-build-isolation")
    with tempfile.TemporaryDirectory(prefix="tlkit-source-") as tmp:
        source = Path(tmp) / "tlkit"
        source.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (root / name).is_file():
                shutil.copy2(root / name, source / name)
        shutil.copytree(root / "tlkit", source / "tlkit",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        done = subprocess.run([*command, str(source)], capture_output=True, text=True,
                              check=False)
    wheels = sorted(out.glob("tlkit-*.whl"))
    if done.returncode != 0 or not wheels:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        raise PackageError(f"building tlkit's wheel from {root} failed:\n{tail}")
    return wheels[-1]


def _environment(wheel: str, requirements: list[str]) -> str:
    import yaml

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    environment = {
        "name": "otter-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", "jupyter_server",
                         {"pip": [f"--extra-index-url {CPU_TORCH_INDEX}", *requirements,
                                  f"{GRADESCOPE_SOURCE}/{wheel}"]}],
    }
    return yaml.safe_dump(environment, sort_keys=False)


def complete_package(package: str | os.PathLike[str], *, wheel: str | os.PathLike[str],
                     settings: AssignmentSettings, records: Mapping[str, bytes],
                     requirements: list[str] | None = None,
                     files: Mapping[str, bytes] | None = None) -> Path:
    """Rewrite Otter's grading zip ``package`` in place into one that grades on its own.

    Args:
        package: The zip written by Otter Assign.
        wheel: tlkit's wheel (:func:`build_wheel`).
        settings: What every submission is graded with.
        records: The grading run's records, ``{path under results/: file contents}``.
        requirements: The pinned requirements (default :func:`pinned_requirements`).
        files: The files the assignment ships beside the notebook, ``{relative path: file
            contents}`` (:meth:`tlkit.teaching.shipped.Shipped.files`).

    Raises:
        PackageError: a shipped file would take the place of the settings or the records.
    """
    package, wheel = Path(package), Path(wheel)
    requirements = pinned_requirements(wheel=wheel) if requirements is None else requirements
    with zipfile.ZipFile(package) as zf:
        entries = {info.filename: zf.read(info) for info in zf.infolist()
                   if not info.filename.endswith("/")}
    config = json.loads(entries.get("otter_config.json", b"{}"))
    plugins = [p for p in config.get("plugins", []) if p != PLUGIN]
    config["plugins"] = [*plugins, PLUGIN]
    config["show_hidden"] = True
    entries["otter_config.json"] = json.dumps(config, indent=2).encode()
    entries["requirements.txt"] = "".join(
        f"{r}\n" for r in [*requirements, f"./{wheel.name}"]).encode()
    entries["environment.yml"] = _environment(wheel.name, requirements).encode()
    entries["requirements-lock.txt"] = "".join(f"{r}\n" for r in locked_requirements()).encode()
    entries[wheel.name] = wheel.read_bytes()
    entries[f"files/{SETTINGS_FILE}"] = settings.to_json().encode()
    for path, data in records.items():
        entries[f"files/{RESULTS_FOLDER}/{path}"] = data
    for path, data in (files or {}).items():
        if path.split("/")[0] in (RESULTS_FOLDER, SETTINGS_FILE):
            raise PackageError(f"a shipped file cannot be named {path}: the package keeps "
                               f"its settings and records there")
        entries[f"files/{path}"] = data
    with tempfile.NamedTemporaryFile(dir=package.parent, suffix=".zip", delete=False) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as out:
            if not any(name.startswith("tests/") for name in entries):
                out.writestr("tests/", b"")  # questions all graded by hand: Otter needs the folder
            for name in sorted(entries):
                out.writestr(name, entries[name])
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, package)
    return package


def package_contents(package: str | os.PathLike[str]) -> dict[str, Any]:
    """What a grading package holds: its settings, requirements, records, the files it ships
    beside the notebook and its tests."""
    with zipfile.ZipFile(package) as zf:
        names = zf.namelist()
        settings = AssignmentSettings.from_json(zf.read(f"files/{SETTINGS_FILE}").decode())
        requirements = zf.read("requirements.txt").decode().split()
        config = json.loads(zf.read("otter_config.json"))
    return {"settings": settings, "requirements": requirements, "plugins": config["plugins"],
            "records": [n for n in names if n.startswith(f"files/{RESULTS_FOLDER}/")],
            "shipped": [n.removeprefix("files/") for n in names if n.startswith("files/")
                        and n.split("/")[1] not in (RESULTS_FOLDER, SETTINGS_FILE)],
            "tests": [n for n in names if n.startswith("tests/") and not n.endswith("/")],
            "wheel": next((n for n in names if n.endswith(".whl")), None)}
