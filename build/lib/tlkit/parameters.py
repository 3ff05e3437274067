"""Notebook parameters: reading a ``parameters`` cell, converting values typed on the command
line, and checking them before anything runs.

A notebook's parameters are read with :func:`papermill.inspect_notebook`; values given as
strings are converted to the type of the default (:func:`convert_value`);
:func:`resolve_parameters` rejects an unknown name (papermill itself only warns) and
:func:`check_parameters` applies :func:`tlkit.experiments.check_params`.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import experiments

__all__ = ["Parameter", "read_parameters", "convert_value", "resolve_parameters",
           "check_parameters"]

_NONE_WORDS = {"none", "null", "~"}
_TRUE_WORDS = {"true", "1", "yes", "on"}
_FALSE_WORDS = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a notebook's ``parameters`` cell.

    Attributes:
        name: The variable name.
        default: The default value (a Python literal evaluated), ``None`` when it is ``None`` or
            not a literal.
        source: The default as written in the cell.
        type_name: The type values given as strings are converted to: ``bool``, ``int``,
            ``float``, ``str``, ``list``, ``dict`` or ``None`` (any YAML / Python literal).
        help: The comment after the assignment, if any.
    """

    name: str
    default: Any
    source: str
    type_name: str
    help: str = ""


def _literal(source: str) -> tuple[Any, bool]:
    """``(value, True)`` when ``source`` is a Python literal, else ``(None, False)``."""
    try:
        return ast.literal_eval(source), True
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None, False


def _type_name(value: Any, annotation: str) -> str:
    for kind in (bool, int, float, str, list, dict):
        if isinstance(value, kind):
            return kind.__name__
    if isinstance(value, tuple):
        return "list"
    base = annotation.split("[")[0].strip()
    return base if base in {"bool", "int", "float", "str", "list", "dict"} else "None"


def read_parameters(path: str | os.PathLike[str]) -> dict[str, Parameter]:
    """The parameters of the notebook at ``path``, in the order of its ``parameters`` cell.

    An empty dict when the notebook has no cell tagged ``parameters``.
    """
    import papermill

    found = papermill.inspect_notebook(str(path))
    out: dict[str, Parameter] = {}
    for name, about in found.items():
        source = str(about.get("default", "")).strip()
        value, _ = _literal(source)
        annotation = str(about.get("inferred_type_name") or "")
        out[name] = Parameter(name=name, default=value, source=source,
                              type_name=_type_name(value, annotation),
                              help=str(about.get("help") or "").strip())
    return out


def _yaml_or_literal(text: str) -> Any:
    value, ok = _literal(text)
    if ok:
        return value
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def convert_value(parameter: Parameter, value: Any) -> Any:
    """``value`` converted to the type of ``parameter``'s default when it is a string.

    ``bool`` takes ``true``/``false``/``1``/``0`` (also ``yes``/``no``); ``int`` and ``float``
    take numbers; ``list`` and ``dict`` take YAML or JSON (``[1, 2]``, ``{a: 1}``); a parameter
    whose default is ``None`` takes any YAML or Python literal, else the string itself;
    ``none``/``null`` give ``None`` for every type. Values that are not strings pass unchanged.

    Raises:
        ValueError: the string does not convert, with the parameter's name in the message.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    kind = parameter.type_name
    if kind == "str":
        return value
    if text.lower() in _NONE_WORDS:
        return None
    expected = {"bool": "true or false", "int": "an integer", "float": "a number",
                "list": "a list such as [1, 2]", "dict": "a mapping such as {a: 1}"}
    problem = (f"parameter {parameter.name} expects {expected.get(kind, 'a value')} "
               f"(default {parameter.source}), got {value!r}")
    if kind == "bool":
        if text.lower() in _TRUE_WORDS:
            return True
        if text.lower() in _FALSE_WORDS:
            return False
        raise ValueError(problem)
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            raise ValueError(problem) from None
    converted = _yaml_or_literal(text)
    if kind == "list":
        if isinstance(converted, tuple):
            converted = list(converted)
        if not isinstance(converted, list):
            raise ValueError(problem)
    elif kind == "dict" and not isinstance(converted, dict):
        raise ValueError(problem)
    return converted


def resolve_parameters(path: str | os.PathLike[str], given: Mapping[str, Any]
                       ) -> dict[str, Any]:
    """The notebook's defaults overridden by ``given`` (strings converted by type).

    Raises:
        ValueError: a name in ``given`` is not a parameter of the notebook (the message lists
            the valid names), or a value does not convert.
    """
    declared = read_parameters(path)
    stem = Path(path).stem
    unknown = [name for name in given if name not in declared]
    if unknown:
        listed = ", ".join(unknown)
        if not declared:
            raise ValueError(f"notebook {stem} has no cell tagged 'parameters', "
                             f"so it takes no parameters (given: {listed})")
        noun = "parameter" if len(unknown) == 1 else "parameters"
        raise ValueError(f"unknown {noun} {listed} for notebook {stem}; "
                         f"valid: {', '.join(declared)}")
    out = {name: p.default for name, p in declared.items()}
    for name, value in given.items():
        out[name] = convert_value(declared[name], value)
    return out


def check_parameters(stem: str, params: Mapping[str, Any]) -> None:
    """Check a notebook's parameters before it runs.

    A notebook in :data:`tlkit.experiments.NOTEBOOKS` gets :func:`tlkit.experiments.check_params`
    (the common checks, then its own); any other notebook gets only the common checks
    (``profile``, ``seeds``, ``device``).

    Raises:
        ValueError: a value is out of range, with a message naming it.
    """
    if stem in experiments.NOTEBOOKS:
        experiments.check_params(stem, params)
    else:
        experiments.check_common(params)
