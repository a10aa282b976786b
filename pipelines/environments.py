"""Named environments (dev, staging, prod): one file declares where each runs, and how a model moves on.

``environments.yaml``::

    promotion: [dev, staging, prod]        # the only path a model takes, one step at a time
    environments:
      dev:
        target: vertex                     # a compiled target: vertex or kfp
        project: acme-ml-dev
        region: us-central1
        pipeline_root: gs://acme-ml-dev-kfp/pipeline-root
        registry_uri: vertex://acme-ml-dev/us-central1
        endpoint: penguins-dev
        service_account: pipelines@acme-ml-dev.iam.gserviceaccount.com
      prod:
        ...
        requires_approval: true            # `kfp-mlops promote --to prod` needs --approved-by

``kfp-mlops submit --env dev`` takes the target's options from the file;
``kfp-mlops promote MODEL VERSION --to staging`` copies a registry version and its
lineage from the previous environment's registry, never retraining
(:func:`promote_between`).
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.pipelines.yaml_files import read_yaml_file

ENV_FILE_VARIABLE = "KFP_MLOPS_ENVIRONMENTS"
DEFAULT_FILE = "environments.yaml"
FIELDS = {"target", "project", "region", "pipeline_root", "registry_uri", "endpoint", "service_account", "host",
          "namespace", "requires_approval"}


@dataclass(frozen=True)
class Environment:
    """Where one environment runs.

    Attributes:
        name: ``dev``, ``staging``, ``prod``...
        target: The compiled target its pipelines are submitted to.
        registry_uri: Its model registry.
        requires_approval: Promotion into it needs a named approver.
        options: The target's submit options (``project``, ``region``, ``host``...), and
            ``pipeline_root``, ``endpoint``, ``service_account``.
    """

    name: str
    target: str
    registry_uri: str
    requires_approval: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def submit_options(self) -> dict[str, Any]:
        """The options of ``kfp-mlops submit`` that this environment sets."""
        keys = ("project", "region", "pipeline_root", "service_account", "host", "namespace")
        return {key: self.options[key] for key in keys if self.options.get(key)}

    def pipeline_parameters(self) -> dict[str, Any]:
        """The pipeline parameters this environment sets (registry, endpoint, project, region)."""
        values = {"registry_uri": self.registry_uri, "endpoint_name": self.options.get("endpoint"),
                  "project": self.options.get("project"), "location": self.options.get("region"),
                  "namespace": self.options.get("namespace")}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class Environments:
    """Every environment of a project, and the promotion path."""

    path: str
    environments: dict[str, Environment]
    promotion: tuple[str, ...]

    def get(self, name: str) -> Environment:
        """Returns an environment by name.

        Raises:
            InputError: Naming the file and the known environments.
        """
        if name not in self.environments:
            raise InputError(f"{self.path}: no environment {name!r}; declared: {', '.join(self.environments)}")
        return self.environments[name]

    def previous(self, name: str) -> str:
        """The environment a model must come from to enter ``name``.

        Raises:
            InputError: When ``name`` is first on the promotion path, or not on it.
        """
        if name not in self.promotion:
            raise InputError(f"{self.path}: {name!r} is not on the promotion path {' -> '.join(self.promotion)}")
        index = self.promotion.index(name)
        if index == 0:
            raise InputError(f"{name!r} is the first environment: models enter it by training, not promotion")
        return self.promotion[index - 1]


def environments_file(path: str = "") -> Path:
    """The environments file: ``path``, else ``$KFP_MLOPS_ENVIRONMENTS``, else ``./environments.yaml``."""
    return Path(path or os.environ.get(ENV_FILE_VARIABLE) or DEFAULT_FILE)


def load_environments(path: str = "") -> Environments:
    """Reads and checks an environments file.

    Raises:
        InputError: One line naming the file and the field at fault.
    """
    from kfp_mlops.pipelines.targets import compiled_targets

    file = environments_file(path)
    data = read_yaml_file(file, "environments file", f" (pass --environments or set ${ENV_FILE_VARIABLE})")
    if not isinstance(data, dict) or not isinstance(data.get("environments"), dict) or not data["environments"]:
        raise InputError(f"{file}: expected a mapping with 'environments: {{NAME: {{...}}}}'")
    environments = {}
    for name, spec in data["environments"].items():
        where = f"{file}: environments.{name}"
        if not isinstance(spec, dict):
            raise InputError(f"{where}: expected a mapping")
        unknown = sorted(set(spec) - FIELDS)
        if unknown:
            raise InputError(f"{where}: unknown field {unknown[0]!r}; known: {', '.join(sorted(FIELDS))}")
        if spec.get("target") not in compiled_targets():
            raise InputError(f"{where}.target: expected one of {', '.join(compiled_targets())}, "
                             f"got {spec.get('target')!r}")
        if not spec.get("registry_uri"):
            raise InputError(f"{where}.registry_uri: required (where this environment's models are registered)")
        environments[str(name)] = Environment(
            name=str(name), target=spec["target"], registry_uri=str(spec["registry_uri"]),
            requires_approval=bool(spec.get("requires_approval", False)),
            options={k: v for k, v in spec.items() if k not in ("target", "registry_uri", "requires_approval")})
    promotion = tuple(str(item) for item in data.get("promotion") or environments)
    missing = [item for item in promotion if item not in environments]
    if missing:
        raise InputError(f"{file}: promotion names {missing[0]!r}, which is not declared under environments")
    return Environments(str(file), environments, promotion)


@dataclass(frozen=True)
class Promotion:
    """A model version copied from one environment's registry into the next one's."""

    model_name: str
    source: str
    source_version: str
    target: str
    version: str
    sha256: str
    approved_by: str | None
    approved_at: str


def promote_between(environments: Environments, model_name: str, version: str, to: str,
                    approved_by: str = "", reason: str = "", alias: str = "champion") -> Promotion:
    """Copies a verified registry version and its lineage into the next environment's registry.

    The model is never retrained: the same files (the same sha256) are registered in the
    target registry, with the source's metrics and lineage, and a ``promotion`` record:
    from where, which version, who approved it and when.

    Args:
        environments: The declared environments.
        model_name: The registered model.
        version: Its version (or alias) in the previous environment's registry.
        to: The environment to promote into.
        approved_by: Who approves; required where the environment ``requires_approval``.
        reason: Why, recorded with the approval.
        alias: The alias the version takes in the target registry.

    Raises:
        InputError: For an undeclared environment, a step off the promotion path, or a
            missing approval.
    """
    from kfp_mlops.components.registry import open_registry

    target = environments.get(to)
    source = environments.get(environments.previous(to))
    if target.requires_approval and not approved_by:
        raise InputError(f"promotion to {to!r} requires an approval: pass --approved-by NAME (recorded with the time)")
    origin = open_registry(source.registry_uri)
    found = origin.verify(model_name, version)  # the files are what was registered
    now = datetime.now(UTC).isoformat(timespec="seconds")
    record = {"from_environment": source.name, "from_registry": source.registry_uri, "from_version": found.version,
              "to_environment": target.name, "promoted_at": now,
              "approved_by": approved_by or None, "approval_reason": reason or None,
              "requested_by": _who()}
    lineage = {**found.lineage, "promotions": [*found.lineage.get("promotions", []), record]}
    destination = open_registry(target.registry_uri)
    previous = destination.pin(model_name, alias).split("@")[0]
    copied = destination.register(origin.local_dir(found), model_name, metrics=found.metrics, lineage=lineage,
                                  aliases=(alias,))
    if copied.sha256 != found.sha256:
        raise InputError(f"the copy of {model_name} {found.version} in {to} has another sha256 than the source")
    _audit(destination, model_name, alias, previous, copied.version, record, reason or f"promoted from {source.name}")
    return Promotion(model_name, source.name, found.version, target.name, copied.version, copied.sha256,
                     approved_by or None, now)


def _audit(registry: Any, model_name: str, alias: str, previous: str, version: str, record: dict[str, Any],
           reason: str) -> None:
    """Records the approval (when one was given) and the move in the target registry's audit trail."""
    from kfp_mlops.components.core.audit import PROMOTE, AuditEvent

    origin = {"from_environment": record["from_environment"], "from_registry": record["from_registry"],
              "source_version": record["from_version"]}
    if record["approved_by"]:
        registry.approve(model_name, version, record["approved_by"], reason=reason, alias=alias, **origin)
    if previous != version:
        registry.record(AuditEvent(model_name, PROMOTE, alias, previous, version, actor=record["requested_by"],
                                   reason=reason, details={**origin, "approved_by": record["approved_by"]}))


CLOUD_BUILD_API = "https://cloudbuild.googleapis.com"


def cloud_build_approver(project: str, build_id: str, api_endpoint: str = CLOUD_BUILD_API,
                         credentials: Any = None) -> str:
    """Who approved a Cloud Build build (a trigger created with ``--require-approval``).

    Args:
        project: The build's project.
        build_id: ``$BUILD_ID`` inside the build.
        api_endpoint: The Cloud Build API (a loopback server in tests).
        credentials: google.auth credentials; default: Application Default Credentials.

    Raises:
        InputError: When the build was not approved, or its approval cannot be read.
    """
    import google.auth
    import google.auth.transport.requests

    if credentials is None:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    session = google.auth.transport.requests.AuthorizedSession(credentials)
    url = f"{api_endpoint.rstrip('/')}/v1/projects/{project}/builds/{build_id}"
    reply = session.get(url, timeout=30)
    if reply.status_code != 200:
        raise InputError(f"cannot read Cloud Build build {build_id} ({reply.status_code}): its approval is unknown")
    result = (reply.json().get("approval") or {}).get("result") or {}
    if result.get("decision") != "APPROVED" or not result.get("approverAccount"):
        raise InputError(f"Cloud Build build {build_id} was not approved (create the trigger with --require-approval)")
    return str(result["approverAccount"])


def _who() -> str:
    """The account that asks for a promotion (recorded beside the approver)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
