"""Model registries behind one API: a local folder, Vertex AI Model Registry, or an MLflow Model Registry.

Open one with :func:`open_registry`::

    registry = open_registry("./.kfp-mlops/registry")        # local backend
    registry = open_registry("vertex://my-project/us-central1")  # Vertex backend
    registry = open_registry("mlflow+http://127.0.0.1:5000")     # MLflow backend

    version = registry.register("model_dir", "penguins", metrics={"accuracy": 0.97},
                                lineage=build_lineage("train.csv", "schema.pbtxt", "run-1"))
    registry.promote("penguins", version.version)       # alias "champion"
    predictor = registry.load("penguins", "champion")   # refuses a sha256 mismatch
    registry.rollback("penguins")                       # champion back to the previous one
    registry.history("penguins")                        # who promoted or rolled back what, when, why

Every version carries ``.version``, ``.path``, ``.sha256``, ``.metrics``,
``.lineage``, ``.aliases`` and ``.created_at`` (:class:`ModelVersion`).
"""
from __future__ import annotations

from kfp_mlops.components.core.registry import (
    CHALLENGER,
    CHAMPION,
    AuditEvent,
    ChecksumError,
    ModelVersion,
    PromotionError,
    Registry,
    RegistryDamaged,
    open_registry,
)
from kfp_mlops.components.registry.lineage import build_lineage

__all__ = ["AuditEvent", "CHALLENGER", "CHAMPION", "ChecksumError", "ModelVersion", "PromotionError", "Registry",
           "RegistryDamaged", "build_lineage", "open_registry"]


