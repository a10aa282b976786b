"""Helpers shared by the library for writing artifact files (no kfp import)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping


def write_metrics_file(path: str | os.PathLike, values: Mapping[str, Any]) -> None:
    """Writes metric values as JSON at an artifact's ``.path``.

    kfp.local keeps Metrics values only in executor_output.json; a task whose
    Metrics output has no file never hits the local cache. Writing the values to
    the file fixes that and lets a user read them without KFP.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(values), indent=2, sort_keys=True, default=float))


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Returns the hex sha256 of one file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tree(path: str | os.PathLike) -> str:
    """Returns a sha256 over a file or over every file in a directory (names and bytes)."""
    root = Path(path)
    if root.is_file():
        return sha256_file(root)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(sha256_file(file).encode())
    return digest.hexdigest()
