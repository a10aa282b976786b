"""The registry components' library functions: register with lineage, promote."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.model_io import breaking_changes
from kfp_mlops.components.registry import open_registry
from kfp_mlops.components.registry.lineage import build_lineage


def register_artifact(registry_uri: str, model_name: str, model_dir: str | os.PathLike,
                      metrics: dict[str, Any], dataset_path: str | None = None, dataset_sha256: str = "",
                      schema_path: str | None = None, pipeline_run_id: str = "", alias: str = "challenger",
                      source_sha256: str = "", statistics_path: str | None = None) -> str:
    """Registers ``model_dir`` with its numeric metrics and lineage; returns the version id.

    Non-numeric metric values (metadata such as display names) are dropped.
    ``source_sha256`` (the ingested source file's hash) joins the lineage when given.
    With ``schema_path`` and ``statistics_path`` the version carries its training
    baseline (:mod:`~kfp_mlops.components.registry.baseline`).

    Raises:
        InputError: For an empty registry URI, a bad model name, or a folder that is not a model.
    """
    numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    extra = {"source_sha256": source_sha256} if source_sha256 else {}
    lineage = build_lineage(dataset_path, schema_path, pipeline_run_id, dataset_sha256, **extra)
    aliases = [alias] if alias else []
    registry = open_registry(registry_uri)
    if not (schema_path and statistics_path):
        return registry.register(str(model_dir), model_name, numeric, lineage, aliases).version
    import tempfile

    from kfp_mlops.components.registry.baseline import with_baseline

    with tempfile.TemporaryDirectory(prefix="kfp-mlops-register-") as staging:  # the version carries its baseline
        staged = with_baseline(model_dir, Path(staging) / "model", schema_path, statistics_path)
        return registry.register(str(staged), model_name, numeric, lineage, aliases).version


def promote(registry_uri: str, model_name: str, version: str, alias: str = "champion",
            expected_champion: str | None = None, reason: str = "") -> str:
    """Points ``alias`` at ``version``; returns the version id.

    With ``expected_champion`` (the :meth:`~.base.Registry.pin` this run compared
    with; ``""`` for none), promotion is a compare-and-swap, and a version whose
    inputs differ from that champion's is refused as a breaking change. ``reason`` (the
    gate's verdict) goes to the registry's audit trail, with the actor from the environment.

    Raises:
        PromotionError: If the champion moved since the comparison, or the change is breaking.
    """
    from kfp_mlops.components.core.model_io import load_contract
    from kfp_mlops.components.core.registry import PromotionError

    registry = open_registry(registry_uri)
    if expected_champion:
        champion = registry.get_pinned(model_name, expected_champion)
        target = registry.get(model_name, version)
        if champion.version != target.version:
            changes = breaking_changes(load_contract(registry.local_dir(champion)),
                                       load_contract(registry.local_dir(target)))
            if changes:
                raise PromotionError(
                    f"{model_name} {target.version} is a breaking change against champion {champion.version} "
                    f"({'; '.join(changes)}): it stays challenger and is not deployed automatically; "
                    f"promote it by hand with 'kfp-mlops models promote {model_name} {target.version}'")
    return registry.promote(model_name, version, alias, expected=expected_champion, reason=reason).version
