"""Submission of compiled pipelines to Vertex AI and Kubeflow Pipelines, and template upload.

Public API::

    from kfp_mlops.pipelines.submission import submit, submit_vertex, submit_kfp, upload_template

Everything is checked offline first: parameters against the compiled spec
(name and type), the spec for credentials. Transient HTTP errors are retried
with backoff; authentication errors are not. Every run is labelled with the
git commit and the pipeline version. ``aiplatform`` is imported only when a
Vertex submission is made.
"""
from kfp_mlops.pipelines.submission.credentials import assert_no_credentials, scan_file
from kfp_mlops.pipelines.submission.dispatch import resolve_package, submit
from kfp_mlops.pipelines.submission.kfp_host import submit_kfp, upload_template
from kfp_mlops.pipelines.submission.labels import run_labels
from kfp_mlops.pipelines.submission.result import SubmissionResult
from kfp_mlops.pipelines.submission.spec import load_package, parse_param_args, validate_parameters
from kfp_mlops.pipelines.submission.vertex import submit_vertex

__all__ = [
    "SubmissionResult", "assert_no_credentials", "load_package", "parse_param_args", "resolve_package",
    "run_labels", "scan_file", "submit", "submit_kfp", "submit_vertex", "upload_template", "validate_parameters",
]
