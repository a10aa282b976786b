"""Fetching a model directory from where a serving platform put it.

Vertex AI starts a custom serving container with ``AIP_STORAGE_URI`` set to a
``gs://`` folder holding the uploaded model directory. The container must
download it. :func:`fetch_model_dir` does that with google-cloud-storage.
Local folders and ``/gcs/...`` FUSE paths are used as they are.
"""
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)

STORAGE_URI_ENV = "AIP_STORAGE_URI"


def split_gcs_uri(uri: str) -> tuple[str, str]:
    """Returns ``(bucket, prefix)`` of ``gs://bucket/prefix``, the prefix without a trailing slash.

    Raises:
        InputError: If the URI is not ``gs://BUCKET/...``.
    """
    if not uri.startswith("gs://") or not uri[5:].split("/", 1)[0]:
        raise InputError(f"not a gs:// URI: {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def fetch_model_dir(uri: str, destination: str | os.PathLike | None = None, client: Any = None) -> Path:
    """Returns a local model directory for ``uri``, downloading a ``gs://`` folder first.

    Args:
        uri: A local folder, or ``gs://bucket/path`` of a model directory.
        destination: Where to download; a new temporary folder by default.
        client: A ``google.cloud.storage.Client``; the default one when None.

    Returns:
        The local folder holding the model directory's files.

    Raises:
        InputError: If a local folder does not exist, or the gs:// folder holds no file.
    """
    if not uri.startswith("gs://"):
        if not Path(uri).is_dir():
            raise InputError(f"model directory not found: {uri}")
        return Path(uri)
    bucket_name, prefix = split_gcs_uri(uri)
    if client is None:
        from google.cloud import storage

        client = storage.Client()
    target = Path(destination or tempfile.mkdtemp(prefix="kfp-mlops-model-"))
    count = 0
    for blob in client.list_blobs(bucket_name, prefix=f"{prefix}/" if prefix else None):
        relative = blob.name[len(prefix):].lstrip("/") if prefix else blob.name
        if not relative or relative.endswith("/"):
            continue  # folder placeholder objects
        local = (target / relative).resolve()
        if target.resolve() not in local.parents:
            raise InputError(f"object name {blob.name!r} escapes the model directory")
        local.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(local))
        count += 1
    if count == 0:
        raise InputError(f"no files under {uri}")
    logger.info(f"Downloaded {count} file(s) from {uri} to {target}")
    return target
