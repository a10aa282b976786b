"""Fetches a registered model version (champion by default) into a model artifact."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)


def local_path(uri: str) -> str:
    """Maps ``gs://bucket/x`` to its Cloud Storage FUSE path ``/gcs/bucket/x``; other paths stay."""
    return "/gcs/" + uri[len("gs://"):] if uri.startswith("gs://") else uri


def fetch_registered_model(registry_uri: str, model_name: str, version_or_alias: str,
                           destination: str | os.PathLike) -> str:
    """Copies a registered model's directory to ``destination`` after checking its sha256.

    Args:
        registry_uri: The registry (a local folder, or ``vertex://PROJECT/LOCATION``).
        model_name: The registered model's name.
        version_or_alias: A version such as ``v3``, or an alias such as ``champion``.
        destination: The folder to create.

    Returns:
        The resolved version.

    Raises:
        InputError: If the model, version or alias does not exist, or the
            stored files do not match their sha256.
    """
    from kfp_mlops.components.core.registry import open_registry

    registry = open_registry(registry_uri)
    version = registry.get(model_name, version_or_alias)
    registry.verify(model_name, version.version)  # refuses a sha256 mismatch
    source = Path(local_path(str(version.path)))
    if not source.is_dir():
        raise InputError(f"{model_name} {version.version}: model files not found at {version.path}")
    shutil.copytree(source, destination, dirs_exist_ok=True)
    logger.info(f"using {model_name} {version.version} ({version_or_alias})")
    return version.version
