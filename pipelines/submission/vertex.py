"""Submits a compiled pipeline to Vertex AI Pipelines through ``aiplatform.PipelineJob``."""
from __future__ import annotations

import os
import re
import time
from typing import Any

from kfp_mlops.pipelines.submission.credentials import assert_no_credentials
from kfp_mlops.pipelines.submission.labels import run_labels
from kfp_mlops.pipelines.submission.result import SubmissionResult
from kfp_mlops.pipelines.submission.retry import with_retries
from kfp_mlops.pipelines.submission.spec import load_package, validate_parameters

_JOB_ID = re.compile(r"[^a-z0-9-]+")


def job_id_for(pipeline: str, commit: str, now: float | None = None) -> str:
    """A Vertex job id: ``<pipeline>-<commit>-<UTC timestamp>``, ``[a-z0-9-]``, 128 characters at most."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
    return _JOB_ID.sub("-", f"{pipeline}-{commit}-{stamp}".lower()).strip("-")[:128]


def submit_vertex(
    package_path: str | os.PathLike,
    project: str,
    region: str,
    pipeline_root: str,
    parameters: dict[str, Any] | None = None,
    service_account: str | None = None,
    enable_caching: bool = True,
    wait: bool = False,
    api_endpoint: str | None = None,
    schedule: str | None = None,
    labels: dict[str, str] | None = None,
    credentials: Any = None,
    retry_attempts: int = 5,
    job_name: str | None = None,
) -> SubmissionResult:
    """Submits a run, or creates a schedule, on Vertex AI Pipelines.

    Parameters are checked against the compiled spec and the spec is scanned
    for credentials before any request is made. The create call is retried on
    transient errors with the same job id, so a retry never starts two runs.

    Args:
        package_path: A file compiled for the ``vertex`` target.
        project: Google Cloud project id.
        region: Vertex AI region, e.g. ``us-central1``.
        pipeline_root: ``gs://`` folder for the run's artifacts.
        parameters: Pipeline parameter values.
        service_account: Service account the run executes as.
        enable_caching: False turns caching off for every task.
        wait: Block until the run ends (not with ``schedule``).
        api_endpoint: Override of the Vertex endpoint (``http://`` uses REST).
        schedule: A cron expression (``TZ=...`` prefix allowed): create a
            schedule instead of a single run.
        labels: Labels added to ``git-commit``, ``pipeline-version`` and ``pipeline``.
        credentials: ``google.auth`` credentials; default: application default.
        retry_attempts: Tries for transient errors.
        job_name: The job id's first part (default: the pipeline's name); give each of
            several runs submitted in one second its own (``training-penguins-dev``).

    Returns:
        The run (or schedule) name, its console URL and what was sent.

    Raises:
        ValueError: Bad parameters, credentials in the spec, ``wait`` with ``schedule``.
        RuntimeError: When waited for and the run did not succeed.
    """
    if wait and schedule:
        raise ValueError("--wait cannot be combined with --schedule")
    package = load_package(package_path)
    if package.documents > 1:
        raise ValueError(f"{package_path}: compiled for the kfp target (platform spec); compile with --target vertex")
    values = validate_parameters(package, parameters or {})
    assert_no_credentials(package.path)
    run_label_values = run_labels(package, labels)

    from google.cloud import aiplatform

    init: dict[str, Any] = {"project": project, "location": region}
    if credentials is not None:
        init["credentials"] = credentials
    if api_endpoint:
        init["api_endpoint"] = api_endpoint
        if api_endpoint.startswith("http://"):
            init["api_transport"] = "rest"
    aiplatform.init(**init)
    job_id = job_id_for(job_name or package.name, run_label_values["git-commit"])
    job = aiplatform.PipelineJob(
        display_name=job_id, template_path=str(package.path), job_id=job_id,
        pipeline_root=pipeline_root, parameter_values=values, enable_caching=enable_caching,
        labels=run_label_values, project=project, location=region, credentials=credentials,
    )
    result = SubmissionResult(target="vertex", pipeline=package.name, labels=run_label_values, parameters=values)
    if schedule:
        created = with_retries(
            lambda: job.create_schedule(cron=schedule, display_name=f"{package.name}-schedule",
                                        service_account=service_account),
            "create Vertex schedule", attempts=retry_attempts,
        )
        result.schedule_name = created.resource_name
        result.url = (f"https://console.cloud.google.com/vertex-ai/locations/{region}/pipelines/schedules/"
                      f"{created.resource_name.rsplit('/', 1)[-1]}?project={project}")
        print(f"created schedule {result.schedule_name} ({schedule})", flush=True)
        return result
    with_retries(lambda: _submit_once(job, service_account), "submit Vertex run", attempts=retry_attempts)
    result.run_name = job.resource_name
    result.url = (f"https://console.cloud.google.com/vertex-ai/locations/{region}/pipelines/runs/{job_id}"
                  f"?project={project}")
    print(f"submitted {result.run_name}\n  {result.url}", flush=True)
    if wait:
        try:
            job.wait()  # aiplatform raises RuntimeError itself when the run fails
        except RuntimeError as error:
            state = job.state.name if job.state is not None else "an unknown state"
            raise RuntimeError(f"run {result.run_name} ended in {state}: {str(error).strip()}") from error
        result.state = job.state.name if job.state is not None else None
        if result.state != "PIPELINE_STATE_SUCCEEDED":
            raise RuntimeError(f"run {result.run_name} ended in {result.state}")
    return result


def _submit_once(job: Any, service_account: str | None) -> None:
    """Sends the create request. A 409 on this job id means an earlier try went through
    (its reply was lost): the existing job is fetched and taken as the result."""
    from google.api_core import exceptions

    try:
        job.submit(service_account=service_account)
    except exceptions.Conflict as conflict:
        name = f"{job._parent}/pipelineJobs/{job.job_id}"
        try:
            job._gca_resource = job.api_client.get_pipeline_job(name=name)
        except exceptions.NotFound:
            raise conflict from None
        print(f"job {job.job_id} already exists (an earlier try went through); using it", flush=True)
