"""Content fingerprints of input data, so pipeline caching follows content, not paths.

A pipeline that reads a path runs a never-cached ``fingerprint_data`` step
first and passes its output to the step that reads the data. The reading
step's cache key then changes exactly when the content does: a CSV overwritten
at the same path reruns from ingestion, and unchanged data still hits the cache.

Fingerprints:

- a local file (or a ``/gcs/`` FUSE path): ``sha256:<hex>`` of its bytes;
- a folder: ``tree-sha256:<hex>`` over its members' relative names, sizes and hashes;
- a ``gs://`` object: ``gs:<generation>:<md5 or crc32c>``; a ``gs://`` prefix:
  ``gs-tree-sha256:<hex>`` over its objects' names and generations;
- a BigQuery table (``bq://``) or query: :func:`kfp_mlops.components.core.bigquery.fingerprint`;
- empty (the bundled demo data): the bundled file's ``sha256:``.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from kfp_mlops.components.core.data_contract import CHUNK_BYTES, open_binary
from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)


def _sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open_binary(path) as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tree(root: Path) -> str:
    digest = hashlib.sha256()
    try:
        members = sorted(p for p in root.rglob("*") if p.is_file())
    except PermissionError:
        raise InputError(f"cannot read {root}: permission denied") from None
    for member in members:
        digest.update(f"{member.relative_to(root).as_posix()}\0{member.stat().st_size}\0{_sha256(member)}\n".encode())
    return f"tree-sha256:{digest.hexdigest()}"


def _gcs(uri: str) -> str:
    """Fingerprints a ``gs://`` object (or prefix) from its generations, without downloading it."""
    bucket_name, _, name = uri[len("gs://"):].partition("/")
    try:
        from google.cloud import (
            storage,  # the gcp extra (google-cloud-aiplatform) brings it
        )
    except ImportError:
        fuse = Path("/gcs") / bucket_name / name  # Vertex AI mounts buckets under /gcs
        if fuse.exists():
            return _tree(fuse) if fuse.is_dir() else f"sha256:{_sha256(fuse)}"
        raise InputError(f"cannot fingerprint {uri}: install google-cloud-storage, or pass its /gcs/ path") from None
    bucket = storage.Client().bucket(bucket_name)
    blob = bucket.get_blob(name) if name and not name.endswith("/") else None
    if blob is not None:
        return f"gs:{blob.generation}:{blob.md5_hash or blob.crc32c}"
    digest, found = hashlib.sha256(), False
    for item in bucket.list_blobs(prefix=name.rstrip("/") + "/" if name else ""):
        found = True
        digest.update(f"{item.name}\0{item.generation}\0{item.md5_hash or item.crc32c}\n".encode())
    if not found:
        raise InputError(f"data file not found: {uri}")
    return f"gs-tree-sha256:{digest.hexdigest()}"


def _remote(uri: str) -> str:
    """Fingerprints an object (or prefix) on other object storage (``s3://``) from its ETags, via fsspec."""
    from kfp_mlops.components.core.sources import filesystem

    fs, path = filesystem(uri)
    try:
        if not fs.isdir(path):
            info = fs.info(path)
            return f"etag:{info.get('ETag') or info.get('etag') or info.get('md5Hash')}:{info.get('size')}"
        members = fs.find(path, detail=True)
    except FileNotFoundError:
        raise InputError(f"data file not found: {uri}") from None
    digest = hashlib.sha256()
    for name in sorted(members):
        info = members[name]
        digest.update(f"{name}\0{info.get('ETag') or info.get('etag')}\0{info.get('size')}\n".encode())
    return f"tree-etag-sha256:{digest.hexdigest()}"


def fingerprint(path: str) -> str:
    """Returns a fingerprint of the data at ``path`` that changes exactly when its content does.

    Args:
        path: A local file or folder, a ``/gcs/`` FUSE path, a ``gs://`` URI,
            or empty for the bundled palmerpenguins data.

    Returns:
        A string such as ``sha256:<hex>`` (see the module docstring).

    Raises:
        InputError: If nothing is at ``path`` or it cannot be read.
    """
    if not path:
        from kfp_mlops.components.core.tables import bundled_dataset_path

        path = bundled_dataset_path()
    from kfp_mlops.components.core.bigquery import fingerprint as bigquery_fingerprint
    from kfp_mlops.components.core.bigquery import is_bigquery
    from kfp_mlops.components.core.sources import is_remote

    if is_bigquery(path):
        value = bigquery_fingerprint(path)
    elif path.startswith("gs://"):
        value = _gcs(path)
    elif is_remote(path):
        value = _remote(path)
    else:
        local = Path(path)
        if not local.exists():
            raise InputError(f"data file not found: {path}")
        value = _tree(local) if local.is_dir() else f"sha256:{_sha256(local)}"
    logger.info("fingerprint of %s: %s", path, value)
    logger.info(f"{path}: {value}")
    return value
