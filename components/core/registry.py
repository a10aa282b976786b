"""The backend-neutral registry API: :class:`ModelVersion`, :class:`Registry`, the errors and :func:`open_registry`.

The backends live in :mod:`kfp_mlops.components.registry`; capabilities that consult a registry
(evaluation, deployment, prediction, monitoring) depend on this API only.
"""
from __future__ import annotations

import abc
import builtins
from dataclasses import asdict, dataclass, field
from typing import Any

from kfp_mlops.components.core.audit import APPROVE, AuditEvent
from kfp_mlops.components.core.errors import ChecksumError, InputError

__all__ = ["AuditEvent", "CHALLENGER", "CHAMPION", "ChecksumError", "ModelVersion", "PromotionError", "Registry",
           "RegistryDamaged", "open_registry"]

CHAMPION = "champion"
CHALLENGER = "challenger"


class PromotionError(RuntimeError):
    """A promotion refused because it would be wrong: the champion moved since this run compared
    with it, or the challenger's inputs differ from the champion's (a breaking change)."""


class RegistryDamaged(InputError):
    """The registry's own records (the local ``index.json``) cannot be read or have the wrong shape."""


@dataclass
class ModelVersion:
    """One registered version of a model.

    Attributes:
        name: The model's name in the registry.
        version: ``v1``, ``v2``... (local) or the Vertex version id as ``v<ID>``.
        path: Where the model directory lives (a local folder or a ``gs://`` URI).
        sha256: :func:`kfp_mlops.components.core.artifacts.sha256_tree` of the directory.
        metrics: The metrics it was registered with.
        lineage: ``dataset_sha256``, ``schema_sha256``, ``git_commit``,
            ``pipeline_run_id``, and anything else the caller recorded.
        aliases: Aliases pointing at this version (``champion``, ``challenger``...).
        created_at: ISO-8601 UTC time of registration.
        resource_name: The backend's own id (the Vertex model resource), if any.
    """

    name: str
    version: str
    path: str
    sha256: str
    metrics: dict[str, float] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    created_at: str = ""
    resource_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


class Registry(abc.ABC):
    """A model registry. Open one with :func:`kfp_mlops.components.registry.open_registry`."""

    uri: str

    @abc.abstractmethod
    def register(self, model_dir: str, name: str, metrics: dict[str, float] | None = None,
                 lineage: dict[str, Any] | None = None, aliases: tuple[str, ...] | list[str] = (CHALLENGER,)
                 ) -> ModelVersion:
        """Stores a model directory as a new version, or returns the version with the same sha256.

        Registration is idempotent on the directory's sha256: registering the
        same files again returns the existing version (and adds ``aliases`` to it).

        Raises:
            InputError: If ``model_dir`` is not a model directory, or ``name`` is not usable.
        """

    @abc.abstractmethod
    def get(self, name: str, version_or_alias: str = CHAMPION) -> ModelVersion:
        """Returns one version, by version (``v3``, or ``3``) or alias (``champion``).

        Raises:
            InputError: If the model, version or alias does not exist.
        """

    @abc.abstractmethod
    def list(self, name: str | None = None) -> list[ModelVersion]:
        """Every version of ``name`` (or of every model), oldest first."""

    @abc.abstractmethod
    def promote(self, name: str, version: str, alias: str = CHAMPION, expected: str | None = None,
                reason: str = "", actor: str = "") -> ModelVersion:
        """Points ``alias`` at ``version`` (moving it off any other version) and returns the version.

        Promoting to ``champion`` records the previous champion, for :meth:`rollback`.
        Every move is recorded in the audit trail (:meth:`history`).

        Args:
            name: The model.
            version: The version to promote.
            alias: The alias to move.
            expected: Compare-and-swap: the :meth:`pin` the alias must still hold
                (``""``: no version holds it); None promotes unconditionally.
            reason: Why, for the audit trail (the gate report's verdict).
            actor: Who, for the audit trail; default :func:`~.audit.current_actor`.

        Raises:
            InputError: If the model or version does not exist.
            PromotionError: If ``alias`` no longer holds ``expected``.
        """

    @staticmethod
    def _check_expected(name: str, version: str, alias: str, expected: str | None, current: str) -> None:
        if expected is None or current == expected:
            return
        raise PromotionError(
            f"{name}: {alias} is now {current.split('@')[0] or 'none'}, not {expected.split('@')[0] or 'none'} "
            f"that this run compared with (another run promoted in between); {version} was not promoted. "
            f"Run training again to compare with the new {alias}, or promote by hand with "
            f"'kfp-mlops models promote {name} {version}'")

    @abc.abstractmethod
    def rollback(self, name: str, reason: str = "", actor: str = "") -> ModelVersion:
        """Moves ``champion`` back to the previous champion and returns it (recorded in the audit trail).

        Raises:
            InputError: If there is no previous champion.
        """

    @abc.abstractmethod
    def record(self, event: AuditEvent) -> None:
        """Appends one event to the model's audit trail."""

    @abc.abstractmethod
    def history(self, name: str) -> builtins.list[AuditEvent]:
        """The model's audit trail, oldest first (empty for a model with no transitions)."""

    def approve(self, name: str, version: str, approved_by: str, reason: str = "", alias: str = CHAMPION,
                **details) -> AuditEvent:
        """Records that ``approved_by`` approved ``version`` for ``alias`` (nothing moves).

        Raises:
            InputError: If the version does not exist, or no approver is named.
        """
        if not approved_by:
            raise InputError(f"{name} {version}: an approval needs the approver's name")
        target = self.get(name, version)
        current = self.pin(name, alias).split("@")[0]
        event = AuditEvent(name, APPROVE, alias, current, target.version, actor=approved_by, reason=reason,
                           details=details)
        self.record(event)
        return event

    @abc.abstractmethod
    def local_dir(self, version: ModelVersion) -> str:
        """A local path to the version's files (a Cloud Storage FUSE path for ``gs://``)."""

    def has(self, name: str, version_or_alias: str = CHAMPION) -> bool:
        """True when :meth:`get` would find the version or alias."""
        try:
            self.get(name, version_or_alias)
        except RegistryDamaged:
            raise
        except InputError:
            return False
        return True

    def pin(self, name: str, version_or_alias: str = CHAMPION) -> str:
        """Returns ``"<version>@<sha256>"`` for a version or alias, or ``""`` when there is none.

        A pin names exact bytes; :meth:`get_pinned` resolves it. Passing the pin of
        the champion into a step makes its cache key change whenever the champion does.
        """
        if not self.has(name, version_or_alias):
            return ""
        version = self.get(name, version_or_alias)
        return f"{version.version}@{version.sha256}"

    def get_pinned(self, name: str, pin: str) -> ModelVersion:
        """Resolves a :meth:`pin`, refusing it when the version's recorded sha256 changed.

        Raises:
            ChecksumError: If the version now records other bytes than the pin.
            InputError: If the version does not exist.
        """
        version_name, _, digest = pin.partition("@")
        version = self.get(name, version_name)
        if digest and version.sha256 != digest:
            raise ChecksumError(f"{name} {version_name}: registered sha256 {version.sha256[:12]} "
                                f"is not the pinned {digest[:12]}")
        return version

    def integrity(self, name: str, version_or_alias: str = CHAMPION) -> tuple[ModelVersion, Any]:
        """Checks a version's files against the recorded sha256 and the model manifest (and its signature).

        Returns:
            ``(version, verification)``; ``verification.describe()`` says what was checked.

        Raises:
            ChecksumError: On any mismatch (the files, the manifest or its signature were changed or damaged).
        """
        from kfp_mlops.components.core.model_io import verify_model_dir

        version = self.get(name, version_or_alias)
        try:
            verification = verify_model_dir(self.local_dir(version), version.sha256)
        except ChecksumError as error:
            raise ChecksumError(f"{name} {version.version}: {error}") from error
        return version, verification

    def verify(self, name: str, version_or_alias: str = CHAMPION) -> ModelVersion:
        """Checks the stored files against the recorded sha256 and the manifest, and returns the version.

        Raises:
            ChecksumError: On a mismatch (the files were changed or damaged).
        """
        return self.integrity(name, version_or_alias)[0]

    def load(self, name: str, version_or_alias: str = CHAMPION) -> Any:
        """Loads a version as a :class:`~kfp_mlops.components.core.model_io.Predictor`, verified first.

        Raises:
            ChecksumError: If the files do not match the recorded sha256 or the manifest.
            InputError: If the model, version or alias does not exist.
        """
        from kfp_mlops.components.core.model_io import load_model

        version = self.get(name, version_or_alias)
        try:
            return load_model(self.local_dir(version), expected_sha256=version.sha256)
        except ChecksumError as error:
            raise ChecksumError(f"{name} {version.version}: {error}") from error


VERTEX_SCHEME = "vertex://"
MLFLOW_SCHEMES = ("mlflow://", "mlflow+http://", "mlflow+https://")
# The backends, by module: core defines the API and the registry capability implements it, so core
# never imports a backend module at import time (the backends import core, not the other way round).
BACKENDS = {
    "local": "kfp_mlops.components.registry.local:LocalRegistry",
    "vertex": "kfp_mlops.components.registry.vertex:VertexRegistry",
    "mlflow": "kfp_mlops.components.registry.mlflow_backend:MlflowRegistry",
}


def _backend(name: str) -> Any:
    import importlib

    module, _, attribute = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


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
    if not uri:
        raise InputError("registry_uri is empty: give a local folder, vertex://PROJECT/LOCATION or "
                         "mlflow+http://HOST:PORT")
    if uri.startswith(MLFLOW_SCHEMES):
        return _backend("mlflow")(uri, **options)
    if uri.startswith(VERTEX_SCHEME):
        parts = uri[len(VERTEX_SCHEME):].strip("/").split("/")
        if len(parts) != 2 or not all(parts):
            raise InputError(f"registry_uri {uri!r} must be vertex://PROJECT/LOCATION")
        return _backend("vertex")(parts[0], parts[1], **options)
    if uri.startswith("gs://"):  # a folder in Cloud Storage, through its FUSE mount in Vertex tasks
        uri = "/gcs/" + uri[len("gs://"):]
    return _backend("local")(uri, **options)

