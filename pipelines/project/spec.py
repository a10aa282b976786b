"""Reads a project file: the JSON Schema first, then what a schema cannot say (cron syntax, environments).

A project expands into *deployments*: one per model and place (``local``, or a
named environment), each with the settings it runs with and their hash, which
``plan`` compares with the state of the last ``apply``.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.pipelines.yaml_files import read_yaml_file

SCHEMA_FILE = Path(__file__).with_name("schema.json")
LOCAL = "local"
DEFAULT_PARALLELISM = 2
# A model's own value replaces the default's whole (an estimator's hyperparameters make sense only together).
REPLACED = frozenset({"hyperparameters", "search_space"})


@cache
def project_schema() -> dict[str, Any]:
    """The JSON Schema of project files, shipped with the package (``pipelines/project/schema.json``)."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Deployment:
    """One model in one place.

    Attributes:
        model: The model's name (its registry name).
        place: ``local``, or the name of an environment.
        target: ``local``, ``vertex`` or ``kfp``.
        settings: The model's effective settings (defaults merged), data paths resolved.
        environment: The :class:`~kfp_mlops.pipelines.environments.Environment`, for remote places.
    """

    model: str
    place: str
    target: str
    settings: dict[str, Any]
    environment: Any = None

    @property
    def key(self) -> str:
        """``model@place``: the deployment's name in the state and in the plan."""
        return f"{self.model}@{self.place}"

    @property
    def config_hash(self) -> str:
        """sha256 of the settings (canonical JSON): a change of any setting changes it."""
        return hashlib.sha256(json.dumps(self.settings, sort_keys=True).encode()).hexdigest()

    def schedules(self) -> dict[str, str]:
        """``{"training": cron, "monitoring": cron}``, for the schedules declared."""
        found = {kind: (self.settings.get(kind) or {}).get("schedule") for kind in ("training", "monitoring")}
        return {kind: cron for kind, cron in found.items() if cron}


@dataclass
class Project:
    """A read, checked project file."""

    name: str
    path: Path
    deployments: list[Deployment]
    registry: str = ""
    state_path: Path | None = None
    parallelism: int = DEFAULT_PARALLELISM
    notes: list[str] = field(default_factory=list)

    def find(self, key: str) -> Deployment:
        """The deployment ``model@place``, or the only deployment of ``model``.

        Raises:
            InputError: When nothing, or more than one deployment, matches.
        """
        found = [d for d in self.deployments if d.key == key] or [d for d in self.deployments if d.model == key]
        if len(found) != 1:
            known = ", ".join(d.key for d in self.deployments)
            raise InputError(f"{self.path}: {'no' if not found else 'more than one'} deployment {key!r} ({known})")
        return found[0]


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key (except :data:`REPLACED`), anything else in ``override`` wins."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in REPLACED:
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _where(error: Any) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    return path or "(top level)"


def validate(data: Any, path: Path) -> None:
    """Checks a parsed project file against the shipped JSON Schema.

    Raises:
        InputError: One line naming the file, the field and what is wrong (the first error found).
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(project_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), _where(e)))
    if errors:
        error = errors[0]
        hint = (" (Vertex AI and Kubeflow deployments are environments: list them under 'environments')"
                if "targets" in _where(error) else "")
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise InputError(f"{path}: {_where(error)}: {error.message}{hint}{more}")


def check_cron(cron: str, where: str) -> None:
    """Checks a 5-field cron expression (a ``TZ=...`` prefix allowed).

    Raises:
        InputError: Naming the field.
    """
    from croniter import croniter

    expression = cron.split(" ", 1)[1] if cron.startswith(("TZ=", "CRON_TZ=")) and " " in cron else cron
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise InputError(f"{where}: {cron!r} is not a cron expression with 5 fields (minute hour day month weekday)")


def _resolve_source(source: str, folder: Path) -> str:
    """A bundled dataset's name and URIs stay; a relative path becomes absolute, from the project file's folder."""
    from kfp_mlops.pipelines.datasets import BUNDLED

    if source in BUNDLED or "://" in source or Path(source).is_absolute():
        return source
    return str((folder / source).resolve())


def load_project(path: str | Path) -> Project:
    """Reads, validates and expands a project file.

    Raises:
        InputError: One line naming the file and the field at fault.
    """
    from kfp_mlops.pipelines.datasets import BUNDLED

    path = Path(path)
    data = read_yaml_file(path, "project file")
    validate(data, path)
    folder = path.parent.resolve()
    environments = None
    if data.get("environments_file"):
        from kfp_mlops.pipelines.environments import load_environments

        environments = load_environments(str(folder / data["environments_file"]))
    deployments, seen = [], set()
    for index, entry in enumerate(data["models"]):
        where = f"{path}: models[{index}]"
        if entry["name"] in seen:
            raise InputError(f"{where}.name: {entry['name']!r} is declared twice")
        seen.add(entry["name"])
        settings = merge(data.get("defaults") or {}, entry)
        source = settings["data"]["source"]
        if not settings["data"].get("label"):
            if source not in BUNDLED:
                raise InputError(f"{where}.data.label: required (the column to predict) for {source!r}")
            settings["data"]["label"] = BUNDLED[source]
        settings["data"]["source"] = _resolve_source(source, folder)
        if settings["data"].get("schema"):
            settings["data"]["schema"] = _resolve_source(settings["data"]["schema"], folder)
        for kind in ("training", "monitoring"):
            cron = (settings.get(kind) or {}).get("schedule")
            if cron:
                check_cron(cron, f"{where}.{kind}.schedule")
        places = settings.pop("targets", None)
        names = settings.pop("environments", None) or []
        places = places if places is not None else ([] if names else [LOCAL])
        for place in places:
            deployments.append(Deployment(entry["name"], place, LOCAL, settings))
        if names:
            if environments is None:
                raise InputError(f"{where}.environments: set environments_file at the top of the project file")
            for name in names:
                environment = environments.get(name)
                deployments.append(Deployment(entry["name"], name, environment.target, settings, environment))
    registry = data.get("registry", "")
    if registry and "://" not in registry:
        registry = str((folder / registry).resolve())
    state = (folder / data["state"]).resolve() if data.get("state") else None
    return Project(data["project"], path, deployments, registry, state, data.get("parallelism", DEFAULT_PARALLELISM))
