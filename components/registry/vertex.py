"""The Vertex AI Model Registry backend, through ``google-cloud-aiplatform``.

- A model name is a Vertex Model's display name; each registration is a new
  version of it (``Model.upload(parent_model=..., version_aliases=[...])``).
  Versions read as ``v<VERSION_ID>`` (``v1``, ``v2``...).
- The sha256, metrics, lineage and ``gs://`` path of a version live as JSON in
  its ``version_description``; the first 63 hex digits of the sha256 are also a
  label (``kfp-mlops-sha256``), for finding it in the console.
- Aliases are Vertex version aliases. Vertex keeps one previous champion:
  promoting to ``champion`` moves ``previous-champion`` to the old one, and
  :meth:`VertexRegistry.rollback` moves ``champion`` back to it.
- The audit trail (every promotion, rollback and approval) is JSON in the
  Vertex Model's own ``description`` (shared by its versions), under
  ``kfp_mlops_audit``.
- Model files must already be in Cloud Storage: ``model_dir`` is a ``gs://``
  URI or its Cloud Storage FUSE path ``/gcs/BUCKET/...`` (how a Vertex pipeline
  task sees its artifacts). Loading reads the FUSE path and checks the sha256.
"""
from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kfp_mlops.components.core.artifacts import sha256_tree
from kfp_mlops.components.core.audit import PROMOTE, ROLLBACK, AuditEvent, sort_events
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.registry import CHALLENGER, CHAMPION, ModelVersion, Registry

PREVIOUS_CHAMPION = "previous-champion"
SHA_LABEL = "kfp-mlops-sha256"
FUSE_PREFIX = "/gcs/"
AUDIT_KEY = "kfp_mlops_audit"

logger = logging.getLogger(__name__)


def to_gcs_uri(path: str) -> str:
    """``/gcs/bucket/x`` -> ``gs://bucket/x``; a ``gs://`` URI stays; anything else is refused.

    Raises:
        InputError: For a path that is not in Cloud Storage.
    """
    if path.startswith("gs://"):
        return path.rstrip("/")
    if path.startswith(FUSE_PREFIX):
        return "gs://" + path[len(FUSE_PREFIX):].rstrip("/")
    raise InputError(f"the Vertex registry needs the model in Cloud Storage (gs://... or /gcs/...), got {path}")


def to_fuse_path(uri: str) -> str:
    """``gs://bucket/x`` -> ``/gcs/bucket/x`` (Cloud Storage FUSE); other paths stay."""
    return FUSE_PREFIX + uri[len("gs://"):] if uri.startswith("gs://") else uri


class VertexRegistry(Registry):
    """Vertex AI Model Registry in one project and location (see the module docstring).

    Args:
        project: Google Cloud project.
        location: Region, e.g. ``us-central1``.
        serving_image: Serving container recorded on upload (our ``serve`` image by default).
        **init_options: Passed to ``aiplatform.init`` (``credentials``,
            ``api_endpoint``, ``api_transport``...).
    """

    def __init__(self, project: str, location: str, serving_image: str = "", **init_options: Any):
        from google.cloud import aiplatform

        from kfp_mlops.components.images import image_name

        self.project, self.location = project, location
        self.uri = f"vertex://{project}/{location}"
        self.serving_image = serving_image or image_name("serve")
        aiplatform.init(project=project, location=location, **init_options)
        self._aiplatform = aiplatform

    # -- reading -------------------------------------------------------------------------------
    def _parent(self, name: str) -> str | None:
        found = self._aiplatform.Model.list(filter=f'display_name="{name}"', order_by="create_time")
        return found[0].resource_name if found else None

    def _registry(self, parent: str):
        from google.cloud.aiplatform.models import ModelRegistry

        return ModelRegistry(parent)

    @staticmethod
    def _version(name: str, info: Any) -> ModelVersion:
        try:
            recorded = json.loads(info.version_description or "{}")
        except json.JSONDecodeError:
            recorded = {}  # a version uploaded by someone else: no sha256 to check
        return ModelVersion(name=name, version=f"v{info.version_id}", path=recorded.get("path", ""),
                            sha256=recorded.get("sha256", ""), metrics=recorded.get("metrics", {}),
                            lineage=recorded.get("lineage", {}),
                            aliases=sorted(a for a in info.version_aliases if a != "default"),
                            created_at=recorded.get("created_at", ""),
                            resource_name=f"{info.model_resource_name}@{info.version_id}")

    def _versions(self, name: str) -> tuple[str | None, list[ModelVersion]]:
        parent = self._parent(name)
        if parent is None:
            return None, []
        infos = sorted(self._registry(parent).list_versions(), key=lambda i: int(i.version_id))
        return parent, [self._version(name, info) for info in infos]

    def list(self, name: str | None = None) -> list[ModelVersion]:
        """See :meth:`Registry.list`."""
        if name:
            return self._versions(name)[1]
        names = sorted({m.display_name for m in self._aiplatform.Model.list()})
        return [v for n in names for v in self._versions(n)[1]]

    def get(self, name: str, version_or_alias: str = CHAMPION) -> ModelVersion:
        """See :meth:`Registry.get`."""
        parent, versions = self._versions(name)
        if parent is None:
            raise InputError(f"model {name!r} is not in the Vertex registry {self.uri}")
        wanted = str(version_or_alias)
        wanted = f"v{wanted}" if wanted.isdigit() else wanted
        for version in versions:
            if version.version == wanted or wanted in version.aliases:
                return version
        known = ", ".join([v.version for v in versions] + sorted({a for v in versions for a in v.aliases}))
        kind = "version" if wanted[1:].isdigit() and wanted[0] == "v" else "alias"
        raise InputError(f"model {name!r} has no {kind} {version_or_alias!r} (known: {known})")

    def local_dir(self, version: ModelVersion) -> str:
        """See :meth:`Registry.local_dir`."""
        return to_fuse_path(version.path)

    # -- writing -------------------------------------------------------------------------------
    def register(self, model_dir: str, name: str, metrics: dict[str, float] | None = None,
                 lineage: dict[str, Any] | None = None, aliases: Sequence[str] = (CHALLENGER,),
                 artifact_uri: str = "") -> ModelVersion:
        """See :meth:`Registry.register`.

        Args:
            artifact_uri: The ``gs://`` folder holding ``model_dir``'s files,
                when ``model_dir`` is a local copy rather than the FUSE path.
        """
        from kfp_mlops.components.core.model_io import load_contract, verify_model_dir

        load_contract(model_dir)
        verify_model_dir(model_dir)  # manifest and signature, before anything is stored
        uri = to_gcs_uri(artifact_uri or str(model_dir))
        digest = sha256_tree(model_dir)
        parent, versions = self._versions(name)
        existing = next((v for v in versions if v.sha256 == digest), None)
        if existing is not None:
            missing = [a for a in aliases if a not in existing.aliases]
            if missing and parent is not None:
                self._registry(parent).add_version_aliases(missing, existing.version[1:])
                existing.aliases = sorted(set(existing.aliases) | set(missing))
            logger.info(f"{name} {existing.version} already holds these files (sha256 {digest[:12]})")
            return existing
        record: dict[str, Any] = {"sha256": digest, "path": uri,
                                  "metrics": {k: float(v) for k, v in (metrics or {}).items()},
                                  "lineage": {**(lineage or {}), "model_sha256": digest},
                  "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        model = self._aiplatform.Model.upload(
            display_name=name, artifact_uri=uri, serving_container_image_uri=self.serving_image,
            parent_model=parent, is_default_version=parent is None, version_aliases=list(aliases),
            version_description=json.dumps(record, sort_keys=True), labels={SHA_LABEL: digest[:63]},
        )
        version = ModelVersion(name=name, version=f"v{model.version_id}", path=uri, sha256=digest,
                               metrics=record["metrics"], lineage=record["lineage"], aliases=sorted(aliases),
                               created_at=record["created_at"],
                               resource_name=f"{model.resource_name}@{model.version_id}")
        logger.info(f"{name} {version.version} uploaded to Vertex AI ({version.resource_name})")
        return version

    def promote(self, name: str, version: str, alias: str = CHAMPION, expected: str | None = None,
                reason: str = "", actor: str = "") -> ModelVersion:
        """See :meth:`Registry.promote`; promoting to champion keeps the old one as ``previous-champion``.

        Vertex AI has no conditional alias update: ``expected`` is checked just
        before the alias moves, which narrows the race to that moment.
        """
        target = self.get(name, version)
        if alias in target.aliases:
            return target
        current = self.pin(name, alias)
        self._check_expected(name, target.version, alias, expected, current)
        registry = self._registry(target.resource_name.split("@")[0])
        if alias == CHAMPION and current:
            registry.add_version_aliases([PREVIOUS_CHAMPION], current.split("@")[0][1:])
        registry.add_version_aliases([alias], target.version[1:])  # Vertex moves it off any other version
        self.record(AuditEvent(name, PROMOTE, alias, current.split("@")[0], target.version, actor=actor,
                               reason=reason))
        logger.info(f"{name} {target.version} is now {alias}")
        return self.get(name, target.version)

    def rollback(self, name: str, reason: str = "", actor: str = "") -> ModelVersion:
        """See :meth:`Registry.rollback` (one step: Vertex keeps a single previous champion)."""
        if not self.has(name, PREVIOUS_CHAMPION):
            raise InputError(f"model {name!r} has no previous champion to roll back to")
        previous = self.get(name, PREVIOUS_CHAMPION)
        current = self.pin(name, CHAMPION).split("@")[0]
        registry = self._registry(previous.resource_name.split("@")[0])
        registry.remove_version_aliases([PREVIOUS_CHAMPION], previous.version[1:])
        registry.add_version_aliases([CHAMPION], previous.version[1:])
        self.record(AuditEvent(name, ROLLBACK, CHAMPION, current, previous.version, actor=actor, reason=reason))
        logger.info(f"{name}: champion rolled back to {previous.version}")
        return self.get(name, previous.version)

    # -- audit trail ---------------------------------------------------------------------------
    def _audit(self, parent: str) -> tuple[Any, dict[str, Any]]:
        model = self._aiplatform.Model(parent)
        try:
            recorded = json.loads(model.description or "{}")
        except json.JSONDecodeError:
            recorded = {"text": model.description}  # a description someone typed: kept, under "text"
        return model, recorded if isinstance(recorded, dict) else {"text": str(recorded)}

    def record(self, event: AuditEvent) -> None:
        """See :meth:`Registry.record` (a read-modify-write of the Vertex Model's description)."""
        parent = self._parent(event.model)
        if parent is None:
            raise InputError(f"model {event.model!r} is not in the Vertex registry {self.uri}")
        model, recorded = self._audit(parent)
        recorded[AUDIT_KEY] = [*recorded.get(AUDIT_KEY, []), event.to_dict()]
        model.update(description=json.dumps(recorded, sort_keys=True))

    def history(self, name: str) -> builtins.list[AuditEvent]:
        """See :meth:`Registry.history`."""
        parent = self._parent(name)
        if parent is None:
            return []
        return sort_events([AuditEvent.from_dict(item) for item in self._audit(parent)[1].get(AUDIT_KEY, [])])
