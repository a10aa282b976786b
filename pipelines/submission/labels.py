"""Run labels: the git commit and the pipeline version, in Vertex AI label syntax.

Vertex label keys and values are lowercase letters, digits, ``_`` and ``-``,
at most 63 characters, and keys start with a letter.
"""
from __future__ import annotations

import os
import re
import subprocess
from importlib import metadata

from kfp_mlops.pipelines.submission.spec import PipelinePackage

_INVALID = re.compile(r"[^a-z0-9_-]+")
MAX_LABEL = 63


def sanitize_label(value: str) -> str:
    """Maps ``value`` to a valid label value: lowercase, ``[a-z0-9_-]``, 63 characters at most.

    It also begins and ends with a letter or digit, so it is a valid Kubernetes
    label value too (the KFP target puts the labels on the pods).
    """
    return _INVALID.sub("-", value.lower()).strip("-_")[:MAX_LABEL].strip("-_") or "unknown"


def git_commit(cwd: str | None = None) -> str:
    """Returns the commit being built: ``SHORT_SHA``/``COMMIT_SHA`` (Cloud Build), else git, else ``unknown``."""
    for var in ("SHORT_SHA", "COMMIT_SHA"):
        if os.environ.get(var):
            return os.environ[var][:12]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_version() -> str:
    """Returns the installed kfp-mlops version, or ``0.0.0`` when not installed."""
    try:
        return metadata.version("kfp-mlops")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def pipeline_version(package: PipelinePackage) -> str:
    """Returns ``<package version>-<first 12 hex of the template's sha256>`` as a label value."""
    return sanitize_label(f"{package_version()}-{package.sha256[:12]}")


def run_labels(package: PipelinePackage, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The labels put on every run and schedule.

    Args:
        package: The compiled package being submitted.
        extra: More labels; keys and values are sanitized.

    Returns:
        ``git-commit``, ``pipeline-version``, ``pipeline`` and the extra labels.

    Raises:
        ValueError: If an extra key cannot be made a valid label key.
    """
    labels = {
        "git-commit": sanitize_label(git_commit()),
        "pipeline-version": pipeline_version(package),
        "pipeline": sanitize_label(package.name),
    }
    for key, value in (extra or {}).items():
        clean = sanitize_label(key)
        if not re.match(r"^[a-z]", clean):
            raise ValueError(f"label key {key!r} must start with a letter")
        labels[clean] = sanitize_label(str(value))
    return labels
