"""Reads a compiled pipeline package and checks run parameters against it, offline.

A compiled package is the YAML that ``kfp-mlops compile`` writes: one
``PipelineSpec`` document, plus a Kubernetes ``PlatformSpec`` document for the
``kfp`` target. Parameters are checked by name and type here, before anything
is sent, so a typo fails with a message that lists the valid names.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Compiled parameter types (pipeline_spec ParameterType) and their Python types.
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "STRING": (str,),
    "NUMBER_INTEGER": (int,),
    "NUMBER_DOUBLE": (int, float),
    "BOOLEAN": (bool,),
    "STRUCT": (dict,),
    "LIST": (list,),
}
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


@dataclass(frozen=True)
class Parameter:
    """One input parameter of a compiled pipeline.

    Attributes:
        name: Parameter name.
        type: Compiled type: ``STRING``, ``NUMBER_INTEGER``, ``NUMBER_DOUBLE``,
            ``BOOLEAN``, ``STRUCT`` or ``LIST``.
        required: True when the pipeline declares no default for it.
        default: The compiled default, or None.
    """

    name: str
    type: str
    required: bool
    default: Any = None


@dataclass(frozen=True)
class PipelinePackage:
    """A compiled pipeline file.

    Attributes:
        path: The file.
        name: ``pipelineInfo.name``.
        parameters: Input parameters by name.
        sha256: Hex digest of the file's bytes.
        documents: Number of YAML documents (2 with a platform spec).
    """

    path: Path
    name: str
    parameters: dict[str, Parameter]
    sha256: str
    documents: int


def load_package(path: str | os.PathLike) -> PipelinePackage:
    """Loads a compiled pipeline YAML (or JSON) file.

    Args:
        path: The compiled file.

    Returns:
        The package's name, parameters and digest.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a compiled pipeline.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"compiled pipeline not found: {file}")
    data = file.read_bytes()
    try:
        docs = [doc for doc in yaml.safe_load_all(data) if doc is not None]
    except yaml.YAMLError as error:
        raise ValueError(f"{file}: not valid YAML: {error}") from error
    if not docs or not isinstance(docs[0], dict) or "pipelineInfo" not in docs[0] or "root" not in docs[0]:
        raise ValueError(f"{file}: not a compiled pipeline (no pipelineInfo/root); compile it with `kfp-mlops compile`")
    spec = docs[0]
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {}) or {}
    parameters = {
        name: Parameter(
            name=name,
            type=info.get("parameterType", "STRING"),
            required=not info.get("isOptional", False) and "defaultValue" not in info,
            default=info.get("defaultValue"),
        )
        for name, info in declared.items()
    }
    return PipelinePackage(
        path=file, name=spec["pipelineInfo"]["name"], parameters=parameters,
        sha256=hashlib.sha256(data).hexdigest(), documents=len(docs),
    )


def coerce_value(parameter: Parameter, text: str) -> Any:
    """Converts a command-line string to the parameter's compiled type.

    Args:
        parameter: The declared parameter.
        text: The value as typed after ``k=``.

    Returns:
        str, int, float, bool, dict or list.

    Raises:
        ValueError: Naming the parameter, its type and the bad value.
    """
    kind = parameter.type
    try:
        if kind == "STRING":
            return text
        if kind == "NUMBER_INTEGER":
            return int(text)
        if kind == "NUMBER_DOUBLE":
            return float(text)
        if kind == "BOOLEAN":
            lowered = text.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError("expected true or false")
        if kind in ("STRUCT", "LIST"):
            value = json.loads(text)
            expected = dict if kind == "STRUCT" else list
            if not isinstance(value, expected):
                raise ValueError(f"expected a JSON {'object' if kind == 'STRUCT' else 'array'}")
            return value
    except (ValueError, json.JSONDecodeError) as error:
        raise ValueError(f"parameter {parameter.name!r} is {kind}; cannot use {text!r}: {error}") from error
    raise ValueError(f"parameter {parameter.name!r} has an unsupported type {kind}")


def parse_param_args(package: PipelinePackage, items: list[str]) -> dict[str, Any]:
    """Parses ``k=v`` strings (``--param``) into typed values for ``package``.

    Raises:
        ValueError: For an item without ``=``, an unknown name (the message
            lists the valid ones), a repeated name or a value of the wrong type.
    """
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--param {item!r}: expected NAME=VALUE")
        if name in values:
            raise ValueError(f"--param {name!r} given twice")
        values[name] = coerce_value(_lookup(package, name), text)
    return values


def validate_parameters(package: PipelinePackage, values: dict[str, Any]) -> dict[str, Any]:
    """Checks run parameters against the compiled spec: names, types, required ones.

    Args:
        package: The loaded package.
        values: Parameter values (Python objects; strings are coerced).

    Returns:
        The values, with strings coerced to the declared types.

    Raises:
        ValueError: For an unknown name, a wrong type or a missing required parameter.
    """
    checked: dict[str, Any] = {}
    for name, value in values.items():
        parameter = _lookup(package, name)
        if isinstance(value, str) and parameter.type != "STRING":
            value = coerce_value(parameter, value)
        allowed = _PYTHON_TYPES.get(parameter.type, (object,))
        if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
            raise ValueError(
                f"parameter {name!r} is {parameter.type}; got {type(value).__name__} {value!r}"
            )
        checked[name] = value
    missing = sorted(p.name for p in package.parameters.values() if p.required and p.name not in checked)
    if missing:
        raise ValueError(f"pipeline {package.name!r} needs parameter(s): {', '.join(missing)}")
    return checked


def _lookup(package: PipelinePackage, name: str) -> Parameter:
    """Returns the declared parameter ``name`` or raises with the valid names."""
    if name not in package.parameters:
        valid = ", ".join(sorted(package.parameters)) or "(none)"
        raise ValueError(f"pipeline {package.name!r} has no parameter {name!r}; valid parameters: {valid}")
    return package.parameters[name]
