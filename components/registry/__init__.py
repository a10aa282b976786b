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

from kfp_mlops.components.registry.audit import AuditEvent
from kfp_mlops.components.registry.base import (
    CHALLENGER,
    CHAMPION,
    ChecksumError,
    ModelVersion,
    PromotionError,
    Registry,
    RegistryDamaged,
)
from kfp_mlops.components.registry.lineage import build_lineage

VERTEX_SCHEME = "vertex://"
MLFLOW_SCHEMES = ("mlflow://", "mlflow+http://", "mlflow+https://")

__all__ = ["AuditEvent", "CHALLENGER", "CHAMPION", "ChecksumError", "ModelVersion", "PromotionError", "Registry",
           "RegistryDamaged", "build_lineage", "open_registry"]


def open_registry(uri: str, **options) -> Registry:
    """Opens the registry at ``uri``.

    Args:
        uri: A local folder (created on first registration), or
            ``vertex://PROJECT/LOCATION`` for Vertex AI Model Registry. A
            ``gs://BUCKET/DIR`` folder is the local backend on its Cloud
            Storage FUSE path ``/gcs/BUCKET/DIR`` (inside Vertex tasks; file
            locks on FUSE do not span machines, so prefer Vertex there).
            ``mlflow+http://HOST:PORT`` (or ``mlflow+https://``, ``mlflow://``)
            for an MLflow tracking server's Model Registry.
        **options: Backend options (Vertex: ``serving_image``, ``api_endpoint``...;
            MLflow: ``cache_dir``).

    Raises:
        InputError: For an empty URI or a malformed ``vertex://`` URI.
    """
    from kfp_mlops.components.errors import InputError

    if not uri:
        raise InputError("registry_uri is empty: give a local folder, vertex://PROJECT/LOCATION or "
                         "mlflow+http://HOST:PORT")
    if uri.startswith(MLFLOW_SCHEMES):
        from kfp_mlops.components.registry.mlflow_backend import MlflowRegistry

        return MlflowRegistry(uri, **options)
    if uri.startswith(VERTEX_SCHEME):
        parts = uri[len(VERTEX_SCHEME):].strip("/").split("/")
        if len(parts) != 2 or not all(parts):
            raise InputError(f"registry_uri {uri!r} must be vertex://PROJECT/LOCATION")
        from kfp_mlops.components.registry.vertex import VertexRegistry

        return VertexRegistry(parts[0], parts[1], **options)
    from kfp_mlops.components.registry.local import LocalRegistry

    if uri.startswith("gs://"):  # a folder in Cloud Storage, through its FUSE mount in Vertex tasks
        uri = "/gcs/" + uri[len("gs://"):]
    return LocalRegistry(uri, **options)
