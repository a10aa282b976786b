"""The MLflow Model Registry backend, through the MLflow client (``mlflow-skinny`` is enough).

Open it with ``open_registry("mlflow+http://HOST:PORT")`` (or ``mlflow+https://``;
``mlflow://HOST:PORT`` means plain HTTP). The server must serve artifacts
(``mlflow server``'s default ``--serve-artifacts``).

- A model name is an MLflow registered model; each registration is a new model
  version (``v1``, ``v2``... are MLflow's version numbers).
- Each registration logs to an MLflow run, one per pipeline run, in the
  experiment ``kfp-mlops/<model name>``: the metrics, the lineage as run tags,
  and the model directory's files as the run's ``model`` artifacts, which are
  the version's source.
- The sha256, metrics, lineage and registration time live on the version as
  tags: ``kfp_mlops.sha256``, ``kfp_mlops.record`` (JSON) and one
  ``kfp_mlops.lineage.<key>`` tag per lineage field, for searching in the UI.
- Aliases are MLflow registered-model aliases (``champion``, ``challenger``).
  The champion history (for :meth:`MlflowRegistry.rollback`) and the audit
  trail are registered-model tags (``kfp_mlops.champion_history``,
  ``kfp_mlops.audit.<time>.<id>``).
- Loading downloads the version's files once into a local cache and checks
  them against the recorded sha256.

MLflow has no conditional alias update: ``promote(expected=...)`` is checked
just before the alias moves, which narrows the race to that moment (as on Vertex).
"""
from __future__ import annotations

import builtins
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.artifacts import sha256_tree
from kfp_mlops.components.core.audit import PROMOTE, ROLLBACK, AuditEvent, sort_events, utc_now
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.registry import CHALLENGER, CHAMPION, ModelVersion, Registry
from kfp_mlops.components.registry.local import VERSION_PATTERN, check_name

SCHEMES = {"mlflow+http://": "http://", "mlflow+https://": "https://", "mlflow://": "http://"}
TAG = "kfp_mlops."
HISTORY_TAG, AUDIT_TAG = TAG + "champion_history", TAG + "audit."
HISTORY_LIMIT = 400  # a tag value holds 5000 characters
CACHE_ENV = "KFP_MLOPS_MLFLOW_CACHE"

logger = logging.getLogger(__name__)


def tracking_uri(uri: str) -> str:
    """``mlflow+http://h:p`` -> ``http://h:p``.

    Raises:
        InputError: For a URI without a host.
    """
    for scheme, replacement in SCHEMES.items():
        if uri.startswith(scheme) and uri[len(scheme):].strip("/"):
            return replacement + uri[len(scheme):].rstrip("/")
    raise InputError(f"registry_uri {uri!r} must be mlflow+http://HOST:PORT, mlflow+https://HOST or mlflow://HOST:PORT")


class MlflowRegistry(Registry):
    """An MLflow Model Registry (see the module docstring).

    Args:
        uri: ``mlflow+http://HOST:PORT`` and the like.
        cache_dir: Where downloaded versions go; default ``$KFP_MLOPS_MLFLOW_CACHE``
            or a folder in the system's temporary directory.
    """

    def __init__(self, uri: str, cache_dir: str | os.PathLike | None = None):
        try:
            from mlflow import MlflowClient
        except ImportError as error:
            raise InputError(f"the MLflow registry {uri} needs the MLflow client: pip install 'kfp-mlops[mlflow]' "
                             f"({error})") from None
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        self.uri = uri
        self.tracking_uri = tracking_uri(uri)
        self.client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        host = re.sub(r"[^A-Za-z0-9._-]+", "_", self.tracking_uri.split("://", 1)[1])
        self.cache = Path(cache_dir or os.environ.get(CACHE_ENV) or
                          Path(tempfile.gettempdir()) / "kfp-mlops-mlflow-cache") / host

    # -- reading -------------------------------------------------------------------------------
    def _model(self, name: str) -> Any | None:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(name)
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def _require(self, name: str) -> Any:
        model = self._model(name)
        if model is None:
            raise InputError(f"model {name!r} is not in the registry {self.uri}")
        return model

    @staticmethod
    def _aliases(model: Any) -> dict[str, str]:
        return {alias: f"v{number}" for alias, number in (model.aliases or {}).items()}

    @staticmethod
    def _version(name: str, info: Any, aliases: dict[str, str]) -> ModelVersion:
        tags = info.tags or {}
        try:
            recorded = json.loads(tags.get(TAG + "record") or "{}")
        except json.JSONDecodeError:
            recorded = {}  # a version registered by someone else: no sha256 to check
        version = f"v{info.version}"
        return ModelVersion(name=name, version=version, path=info.source, sha256=tags.get(TAG + "sha256", ""),
                            metrics=recorded.get("metrics", {}), lineage=recorded.get("lineage", {}),
                            aliases=sorted(a for a, v in aliases.items() if v == version),
                            created_at=recorded.get("created_at", ""), resource_name=info.run_id or "")

    def _versions(self, name: str) -> list[Any]:
        found = self.client.search_model_versions(f"name='{name}'")
        return sorted(found, key=lambda info: int(info.version))

    def list(self, name: str | None = None) -> list[ModelVersion]:
        """See :meth:`Registry.list`."""
        if name:
            model = self._model(name)
            if model is None:
                return []
            aliases = self._aliases(model)
            return [self._version(name, info, aliases) for info in self._versions(name)]
        names = sorted(model.name for model in self.client.search_registered_models())
        return [version for each in names for version in self.list(each)]

    def get(self, name: str, version_or_alias: str = CHAMPION) -> ModelVersion:
        """See :meth:`Registry.get`."""
        model = self._require(name)
        aliases = self._aliases(model)
        match = VERSION_PATTERN.match(str(version_or_alias))
        wanted = f"v{match.group(1)}" if match else aliases.get(str(version_or_alias))
        infos = self._versions(name)
        for info in infos:
            if f"v{info.version}" == wanted:
                return self._version(name, info, aliases)
        kind = "version" if match else "alias"
        known = ", ".join([f"v{i.version}" for i in infos] + sorted(aliases))
        raise InputError(f"model {name!r} has no {kind} {version_or_alias!r} (known: {known})")

    def local_dir(self, version: ModelVersion) -> str:
        """Downloads the version's files into the cache once (a complete copy is renamed into place)."""
        target = self.cache / version.name / f"{version.version}-{version.sha256[:16] or 'unknown'}"
        if target.is_dir():
            return str(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
        try:
            from mlflow.artifacts import download_artifacts

            downloaded = download_artifacts(artifact_uri=version.path, dst_path=str(staging),
                                            tracking_uri=self.tracking_uri)
            try:
                os.replace(downloaded, target)
            except OSError:  # another process placed it first
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return str(target)

    # -- writing -------------------------------------------------------------------------------
    def _run(self, name: str, lineage: dict[str, Any], metrics: dict[str, float], digest: str) -> Any:
        """The MLflow run of this pipeline run (created on first use), with the metrics and lineage logged."""
        experiment_name = f"kfp-mlops/{name}"
        experiment = self.client.get_experiment_by_name(experiment_name)
        if experiment is not None and experiment.lifecycle_stage == "deleted":  # deleted in the UI: bring it back
            self.client.restore_experiment(experiment.experiment_id)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(experiment_name)
        run_id = str(lineage.get("pipeline_run_id") or "")
        searchable = run_id and "'" not in run_id and "`" not in run_id
        found = self.client.search_runs([experiment_id], f"tags.`{TAG}pipeline_run_id` = '{run_id}'",
                                        max_results=1) if searchable else []
        run = found[0] if found else self.client.create_run(
            experiment_id, run_name=run_id or f"register-{digest[:12]}",
            tags={TAG + "pipeline_run_id": run_id, TAG + "model_name": name})
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        self.client.log_batch(run.info.run_id,
                              metrics=[Metric(k, float(v), now, 0) for k, v in sorted(metrics.items())],
                              tags=[RunTag(f"lineage.{k}", str(v)[:5000]) for k, v in sorted(lineage.items())
                                    if isinstance(v, (str, int, float, bool))])
        return run

    def register(self, model_dir: str, name: str, metrics: dict[str, float] | None = None,
                 lineage: dict[str, Any] | None = None, aliases: tuple[str, ...] | builtins.list[str] = (CHALLENGER,)
                 ) -> ModelVersion:
        """See :meth:`Registry.register`."""
        from kfp_mlops.components.core.model_io import load_contract, verify_model_dir

        check_name(name)
        load_contract(model_dir)
        verify_model_dir(model_dir)  # manifest and signature, before anything is stored
        digest = sha256_tree(model_dir)
        existing = next((v for v in self.list(name) if v.sha256 == digest), None)
        if existing is not None:
            for alias in aliases:
                if alias not in existing.aliases:
                    self._point(name, alias, existing.version)
            logger.info(f"{name} {existing.version} already holds these files (sha256 {digest[:12]})")
            return self.get(name, existing.version)
        numeric = {k: float(v) for k, v in (metrics or {}).items()}
        lineage = {**(lineage or {}), "model_sha256": digest}
        run = self._run(name, lineage, numeric, digest)
        artifact_path = f"model-{digest[:12]}"
        self.client.log_artifacts(run.info.run_id, str(model_dir), artifact_path)
        if self._model(name) is None:
            self.client.create_registered_model(name, tags={TAG + "managed": "true"})
        record = {"metrics": numeric, "lineage": lineage, "created_at": utc_now()[:19] + "+00:00"}
        tags = {TAG + "sha256": digest, TAG + "record": json.dumps(record, sort_keys=True)}
        tags.update({f"{TAG}lineage.{k}": str(v)[:5000] for k, v in lineage.items()
                     if isinstance(v, (str, int, float, bool))})
        info = self.client.create_model_version(name, f"{run.info.artifact_uri}/{artifact_path}",
                                                run_id=run.info.run_id, tags=tags, await_creation_for=0)
        version = f"v{info.version}"
        for alias in aliases:
            self._point(name, alias, version)
        logger.info("%s %s registered in MLflow (%s, run %s)", name, version, self.tracking_uri, run.info.run_id)
        return self.get(name, version)

    def _history(self, name: str) -> builtins.list[str]:
        return json.loads((self._require(name).tags or {}).get(HISTORY_TAG) or "[]")

    def _point(self, name: str, alias: str, version: str) -> None:
        if VERSION_PATTERN.match(alias):
            raise InputError(f"alias {alias!r} looks like a version; pick a name such as 'champion'")
        if alias == CHAMPION and self._aliases(self._require(name)).get(CHAMPION) != version:
            history = [*self._history(name), version][-HISTORY_LIMIT:]
            self.client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
        self.client.set_registered_model_alias(name, alias, version[1:])

    def promote(self, name: str, version: str, alias: str = CHAMPION, expected: str | None = None,
                reason: str = "", actor: str = "") -> ModelVersion:
        """See :meth:`Registry.promote` (the compare-and-swap is checked just before the alias moves)."""
        target = self.get(name, version)
        current = self.pin(name, alias)
        self._check_expected(name, target.version, alias, expected, current)
        holder = current.split("@")[0]
        self._point(name, alias, target.version)
        if holder != target.version:
            self.record(AuditEvent(name, PROMOTE, alias, holder, target.version, actor=actor, reason=reason))
        logger.info(f"{name} {target.version} is now {alias}")
        return self.get(name, target.version)

    def rollback(self, name: str, reason: str = "", actor: str = "") -> ModelVersion:
        """See :meth:`Registry.rollback`."""
        history = self._history(name)
        if len(history) < 2:
            raise InputError(f"model {name!r} has no previous champion to roll back to")
        current = history.pop()
        self.client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
        self.client.set_registered_model_alias(name, CHAMPION, history[-1][1:])
        self.record(AuditEvent(name, ROLLBACK, CHAMPION, current, history[-1], actor=actor, reason=reason))
        logger.info(f"{name}: champion rolled back from {current} to {history[-1]}")
        return self.get(name, history[-1])

    # -- audit trail ---------------------------------------------------------------------------
    def record(self, event: AuditEvent) -> None:
        """See :meth:`Registry.record`: one registered-model tag per event."""
        self._require(event.model)
        key = f"{AUDIT_TAG}{re.sub(r'[^0-9]', '', event.at)}.{uuid.uuid4().hex[:8]}"
        self.client.set_registered_model_tag(event.model, key, json.dumps(event.to_dict(), sort_keys=True))

    def history(self, name: str) -> builtins.list[AuditEvent]:
        """See :meth:`Registry.history`."""
        model = self._model(name)
        tags = (model.tags or {}) if model is not None else {}
        return sort_events([AuditEvent.from_dict(json.loads(value)) for key, value in tags.items()
                            if key.startswith(AUDIT_TAG)])
