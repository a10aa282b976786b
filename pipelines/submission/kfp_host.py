"""Submits a compiled pipeline to an open-source Kubeflow Pipelines host through ``kfp.Client``,
and uploads templates to Artifact Registry through ``kfp.registry.RegistryClient``.

KFP v2 runs carry no labels of their own, so the labels go (1) into the run's
description (``labels: git-commit=... pipeline-version=...``), (2) onto every
task's pod as Kubernetes labels (the platform spec's ``podMetadata``, so
``kubectl get pods -l git-commit=abc1234`` finds them), and the run's display
name carries the commit.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from kfp_mlops.pipelines.submission.credentials import assert_no_credentials
from kfp_mlops.pipelines.submission.labels import run_labels
from kfp_mlops.pipelines.submission.result import SubmissionResult
from kfp_mlops.pipelines.submission.retry import with_retries
from kfp_mlops.pipelines.submission.spec import load_package, validate_parameters


def kfp_cron(cron: str) -> str:
    """KFP's cron has a seconds field: a 5-field Unix cron gets ``0`` seconds prepended."""
    fields = cron.split()
    if len(fields) == 5:
        return "0 " + " ".join(fields)
    if len(fields) == 6:
        return " ".join(fields)
    raise ValueError(f"schedule {cron!r}: expected a cron expression with 5 fields (or 6 with seconds)")


def labels_description(labels: dict[str, str]) -> str:
    """Renders labels as the ``key=value`` description of a KFP run."""
    return "labels: " + " ".join(f"{key}={value}" for key, value in sorted(labels.items()))


def with_pod_labels(package_path: str | os.PathLike, labels: dict[str, str],
                    out_dir: str | os.PathLike | None = None) -> Path:
    """Writes a copy of a compiled package whose every container task carries ``labels`` on its pod.

    The labels go into the Kubernetes platform spec
    (``platforms.kubernetes.deploymentSpec.executors.<executor>.podMetadata.labels``),
    added to a platform spec the package already has.

    Args:
        package_path: The compiled file.
        labels: Label keys and values (valid Kubernetes label syntax).
        out_dir: Folder of the copy; default: a new temporary folder.

    Returns:
        The copy's path (same file name).
    """
    source = Path(package_path)
    docs = [doc for doc in yaml.safe_load_all(source.read_text()) if doc is not None]
    spec, platform = docs[0], (docs[1] if len(docs) > 1 else {})
    executors = (platform.setdefault("platforms", {}).setdefault("kubernetes", {})
                 .setdefault("deploymentSpec", {}).setdefault("executors", {}))
    for name, executor in spec.get("deploymentSpec", {}).get("executors", {}).items():
        if "container" in executor:
            metadata = executors.setdefault(name, {}).setdefault("podMetadata", {})
            metadata["labels"] = {**metadata.get("labels", {}), **labels}
    folder = Path(out_dir or tempfile.mkdtemp(prefix="kfp-mlops-labels-"))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    target.write_text(yaml.safe_dump_all([spec, platform], sort_keys=True))
    return target


def submit_kfp(
    package_path: str | os.PathLike,
    host: str,
    parameters: dict[str, Any] | None = None,
    namespace: str | None = None,
    experiment: str | None = None,
    schedule: str | None = None,
    enable_caching: bool = True,
    wait: bool = False,
    pipeline_root: str | None = None,
    service_account: str | None = None,
    labels: dict[str, str] | None = None,
    wait_timeout: int = 24 * 3600,
    retry_attempts: int = 5,
) -> SubmissionResult:
    """Submits a run, or creates a recurring run, on a Kubeflow Pipelines host.

    Args:
        package_path: A file compiled for the ``kfp`` target.
        host: The KFP API endpoint, e.g. ``http://ml-pipeline-ui.kubeflow:80``.
        parameters: Pipeline parameter values.
        namespace: Kubernetes namespace (multi-user deployments).
        experiment: Experiment name; default: the pipeline's name.
        schedule: A cron expression (5 fields, or 6 with seconds): create a
            recurring run instead of a single run.
        enable_caching: False turns caching off for every task.
        wait: Block until the run ends (not with ``schedule``).
        pipeline_root: Override of the pipeline root.
        service_account: Kubernetes service account for the run.
        labels: Labels added to ``git-commit``, ``pipeline-version`` and ``pipeline``.
        wait_timeout: Seconds to wait for the run.
        retry_attempts: Tries for transient errors.

    Returns:
        The run id (or recurring run id), its UI URL and what was sent.

    Raises:
        ValueError: Bad parameters or schedule, credentials in the spec.
        RuntimeError: When waited for and the run did not succeed.
    """
    if wait and schedule:
        raise ValueError("--wait cannot be combined with --schedule")
    package = load_package(package_path)
    values = validate_parameters(package, parameters or {})
    assert_no_credentials(package.path)
    cron = kfp_cron(schedule) if schedule else None
    run_label_values = run_labels(package, labels)
    description = labels_description(run_label_values)
    name = f"{package.name} {run_label_values['git-commit']} {time.strftime('%Y-%m-%d %H-%M-%S', time.gmtime())}"

    client = with_retries(lambda: _client_class()(host=host, namespace=namespace), f"connect to KFP at {host}",
                          attempts=retry_attempts)
    experiment_id = with_retries(
        lambda: client.create_experiment(name=experiment or package.name, namespace=namespace).experiment_id,
        "get KFP experiment", attempts=retry_attempts,
    )
    result = SubmissionResult(target="kfp", pipeline=package.name, labels=run_label_values, parameters=values)
    labelled = with_pod_labels(package.path, run_label_values)
    common = {"pipeline_package_path": str(labelled), "params": values,
              "pipeline_root": pipeline_root, "enable_caching": enable_caching}
    if cron:
        created = with_retries(lambda: client.create_recurring_run(
            experiment_id=experiment_id, job_name=f"{package.name} schedule", description=description,
            cron_expression=cron, service_account=service_account, **common,
        ), "create KFP recurring run", attempts=retry_attempts)
        result.schedule_name = created.recurring_run_id
        result.url = f"{host.rstrip('/')}/#/recurringrun/details/{created.recurring_run_id}"
        print(f"created recurring run {result.schedule_name} ({cron})", flush=True)
        return result
    run = with_retries(lambda: _create_run(client, experiment_id, name, description, service_account, common),
                       "submit KFP run", attempts=retry_attempts)
    result.run_name = run.run_id
    result.url = f"{host.rstrip('/')}/#/runs/details/{run.run_id}"
    print(f"submitted run {result.run_name}\n  {result.url}", flush=True)
    if wait:
        finished = client.wait_for_run_completion(run.run_id, timeout=wait_timeout)
        result.state = str(finished.state)
        if result.state != "SUCCEEDED":
            raise RuntimeError(f"run {result.run_name} ended in {result.state}")
    return result


def _client_class() -> type:
    """``kfp.Client`` whose health check tries once: ours retries transient errors, never a 401/403.

    kfp 2.17's ``get_kfp_healthz`` retries every ``ApiException`` (401 included) five
    times, 5 s apart, then raises a ``TimeoutError`` that hides the status.
    """
    import kfp

    class OneTryHealthClient(kfp.Client):
        def get_kfp_healthz(self, sleep_duration: int = 5) -> Any:
            return self._healthz_api.healthz_service_get_healthz()

    return OneTryHealthClient


def _create_run(client: Any, experiment_id: str, name: str, description: str,
                service_account: str | None, common: dict[str, Any]) -> Any:
    """Creates one run, as ``Client.run_pipeline`` does, plus the description that carries the labels.

    ``run_pipeline`` (kfp 2.17.0) has no ``description`` argument; this builds
    the same ``V2beta1Run`` body with it.
    """
    import kfp_server_api

    config = client._create_job_config(cache_key=None, pipeline_id=None, version_id=None, **common)
    body = kfp_server_api.V2beta1Run(
        experiment_id=experiment_id, display_name=name, description=description,
        pipeline_spec=config.pipeline_spec, pipeline_version_reference=config.pipeline_version_reference,
        runtime_config=config.runtime_config, service_account=service_account,
    )
    return client._run_api.run_service_create_run(run=body)


def upload_template(
    package_path: str | os.PathLike,
    host: str,
    tags: list[str] | None = None,
    auth: Any = None,
    retry_attempts: int = 5,
) -> tuple[str, str]:
    """Uploads a compiled template to an Artifact Registry KFP repository.

    Args:
        package_path: The compiled file.
        host: ``https://<region>-kfp.pkg.dev/<project>/<repository>``.
        tags: Tags, e.g. the commit and ``latest``.
        auth: ``requests`` auth or ``google.auth`` credentials; default:
            application default credentials.
        retry_attempts: Tries for transient errors.

    Returns:
        ``(package name, version name)`` as the registry answers.

    Raises:
        ValueError: If the spec carries credentials or is not a pipeline.
    """
    package = load_package(package_path)
    assert_no_credentials(package.path)
    from kfp.registry import RegistryClient

    client = RegistryClient(host=host, auth=auth)
    name, version = with_retries(lambda: client.upload_pipeline(file_name=str(package.path), tags=list(tags or [])),
                                 f"upload {package.path.name}", attempts=retry_attempts)
    print(f"uploaded {package.path.name} to {host}: {name} {version} tags={','.join(tags or [])}", flush=True)
    return name, version
