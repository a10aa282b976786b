"""The local target: which registry version the local endpoint serves.

"Deploying" locally records the version in ``<registry>/deployments.json``::

    {"penguins": {"version": "v3", "path": "...", "sha256": "...", "deployed_at": "2026-..."}}

``kfp-mlops serve`` then serves, in this order: the ``--model`` version or
alias asked for, else the deployed version, else the ``champion`` alias.
Models are read through the registry (``open_registry(uri).load``), which
verifies each model's sha256 and signed manifest before loading it; a
deployed version must also match the sha256 in its ``deployments.json`` record.
"""
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.errors import ChecksumError, InputError

logger = logging.getLogger(__name__)

DEPLOYMENTS_FILE = "deployments.json"
DEFAULT_ALIAS = "champion"


@dataclass
class ServedModel:
    """The model an endpoint serves: its registry name, version and directory."""

    name: str
    version: str
    path: str
    predictor: Any


def deployments_path(registry_uri: str | os.PathLike) -> Path:
    """Returns ``<registry>/deployments.json``."""
    return Path(registry_uri) / DEPLOYMENTS_FILE


def read_deployments(registry_uri: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Returns the recorded local deployments by model name ({} when none).

    Raises:
        InputError: If the file exists but is not a JSON object.
    """
    path = deployments_path(registry_uri)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold a JSON object of deployments by model name")
    return data


def record_deployment(registry_uri: str | os.PathLike, name: str, version: str, path: str = "",
                      sha256: str = "") -> dict[str, Any]:
    """Records that the local endpoint serves ``name`` at ``version`` (atomic write); returns the record."""
    deployments = read_deployments(registry_uri)
    record = {"version": version, "path": str(path), "sha256": sha256,
              "deployed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    deployments[name] = record
    target = deployments_path(registry_uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(deployments, indent=2, sort_keys=True))
    os.replace(temporary, target)
    return record


def _open(registry_uri: str | os.PathLike) -> Any:
    try:
        from kfp_mlops.components.core.registry import open_registry
    except ImportError as error:
        raise InputError(f"no model registry available ({error}); serve a model directory with --model-dir") from error
    return open_registry(str(registry_uri))


def deploy_local(registry_uri: str | os.PathLike, name: str, version_or_alias: str = DEFAULT_ALIAS) -> dict[str, Any]:
    """Checks the registry version's files against their sha256 and records it as deployed.

    The pipeline's infra validation already served these exact bytes, so the
    sha256 check is enough here; the model is not unpickled again.

    Args:
        registry_uri: The local registry folder.
        name: The registered model name.
        version_or_alias: A version (``v3``) or an alias (``champion``).

    Returns:
        The record written to ``deployments.json``, with the resolved version.

    Raises:
        InputError: If the model or version is not in the registry, or its files fail the sha256 check.
    """
    registry = _open(registry_uri)
    model_version = registry.get(name, version_or_alias)
    registry.verify(name, model_version.version)
    record = record_deployment(registry_uri, name, model_version.version, model_version.path,
                               getattr(model_version, "sha256", ""))
    logger.info(f"Deployed {name} {model_version.version} to the local endpoint (recorded in "
          f"{deployments_path(registry_uri)}); start it with: kfp-mlops serve --name {name}")
    return record


def resolve_served_model(registry_uri: str | os.PathLike, name: str = "", version_or_alias: str = "") -> ServedModel:
    """Finds and loads the model to serve from the registry.

    Args:
        registry_uri: The local registry folder.
        name: Registered model name; may be left empty when exactly one model is
            deployed, or, with none deployed, exactly one is registered.
        version_or_alias: Version or alias; empty means the deployed version, else ``champion``.

    Raises:
        ChecksumError: If the deployed version's files, manifest or signature fail
            verification, or no longer match the sha256 recorded in ``deployments.json``.
        InputError: If the name cannot be inferred, or the version is not in the registry.
    """
    deployments = read_deployments(registry_uri)
    registry = None
    if not name:
        names = sorted(deployments)
        if not names:
            registry = _open(registry_uri)
            names = sorted({version.name for version in registry.list()})
        if len(names) != 1:
            raise InputError(f"give the model's name with --name (models: {', '.join(names) or 'none registered'})")
        name = names[0]
    version_or_alias = version_or_alias or deployments.get(name, {}).get("version") or DEFAULT_ALIAS
    registry = registry or _open(registry_uri)
    model_version = registry.get(name, version_or_alias)
    deployed = deployments.get(name, {})
    if deployed.get("version") == model_version.version and deployed.get("sha256", "") != model_version.sha256:
        raise ChecksumError(f"{deployments_path(registry_uri)}: {name} {model_version.version} was deployed with "
                            f"sha256 {str(deployed.get('sha256', ''))[:12] or '(none)'}, the registry now records "
                            f"{model_version.sha256[:12]}; refusing to serve (redeploy it to accept the change)")
    predictor = registry.load(name, model_version.version)
    return ServedModel(name, model_version.version, str(model_version.path), predictor)
