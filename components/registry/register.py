"""The registry components' library functions: register with lineage, promote."""
from __future__ import annotations

import os
from typing import Any

from kfp_mlops.components.registry import open_registry
from kfp_mlops.components.registry.lineage import build_lineage


def register_artifact(registry_uri: str, model_name: str, model_dir: str | os.PathLike,
                      metrics: dict[str, Any], dataset_path: str | None = None, dataset_sha256: str = "",
                      schema_path: str | None = None, pipeline_run_id: str = "", alias: str = "challenger",
                      source_sha256: str = "") -> str:
    """Registers ``model_dir`` with its numeric metrics and lineage; returns the version id.

    Non-numeric metric values (metadata such as display names) are dropped.
    ``source_sha256`` (the ingested source file's hash) joins the lineage when given.

    Raises:
        InputError: For an empty registry URI, a bad model name, or a folder that is not a model.
    """
    numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    extra = {"source_sha256": source_sha256} if source_sha256 else {}
    lineage = build_lineage(dataset_path, schema_path, pipeline_run_id, dataset_sha256, **extra)
    aliases = [alias] if alias else []
    return open_registry(registry_uri).register(str(model_dir), model_name, numeric, lineage, aliases).version


def promote(registry_uri: str, model_name: str, version: str, alias: str = "champion") -> str:
    """Points ``alias`` at ``version``; returns the version id."""
    return open_registry(registry_uri).promote(model_name, version, alias).version
