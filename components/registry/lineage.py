"""Lineage recorded on every version: dataset and schema hashes, git commit, pipeline run id."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.artifacts import sha256_tree

GIT_COMMIT_ENV = "KFP_MLOPS_GIT_COMMIT"
UNKNOWN = "unknown"


def _rev_parse(cwd: str | os.PathLike | None) -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def git_commit(cwd: str | os.PathLike | None = None) -> str:
    """The commit of the code that made the model.

    ``$KFP_MLOPS_GIT_COMMIT`` when set (images set it at build time); else
    ``git rev-parse HEAD`` in the checkout this package runs from (an editable
    install), then in ``cwd``; else ``unknown``.
    """
    if os.environ.get(GIT_COMMIT_ENV):
        return os.environ[GIT_COMMIT_ENV]
    package_dir = Path(__file__).resolve().parent
    return _rev_parse(package_dir) or _rev_parse(cwd) or UNKNOWN


def file_hash(path: str | os.PathLike | None, recorded: str = "") -> str:
    """The sha256 of a file or folder; ``recorded`` (e.g. artifact metadata) wins; ``""`` when absent."""
    if recorded:
        return recorded
    if not path or not Path(path).exists():
        return ""
    return sha256_tree(path)


def build_lineage(dataset_path: str | os.PathLike | None = None, schema_path: str | os.PathLike | None = None,
                  pipeline_run_id: str = "", dataset_sha256: str = "", **extra: Any) -> dict[str, Any]:
    """Builds the lineage dict stored with a version.

    Args:
        dataset_path: The training data (its sha256 is recorded).
        schema_path: The schema.pbtxt the model was trained against.
        pipeline_run_id: The pipeline run that produced the model.
        dataset_sha256: A known hash of the data (e.g. the Dataset artifact's
            ``sha256`` metadata), used instead of hashing ``dataset_path``.
        **extra: Anything else to record.
    """
    return {
        "dataset_sha256": file_hash(dataset_path, dataset_sha256),
        "schema_sha256": file_hash(schema_path),
        "git_commit": git_commit(),
        "pipeline_run_id": pipeline_run_id,
        **extra,
    }
