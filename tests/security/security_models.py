"""Helpers for the security tests (a module name unique in the repo): small signed model directories, attacks."""
from __future__ import annotations

import json
import os
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
from registry_models import iris_frame, make_model  # noqa: E402,F401 - the tiny iris model every test uses


def iris_rows(path: Path, rows: int = 10) -> Path:
    """Writes iris rows with the helper's column names to ``path``."""
    iris_frame().head(rows).to_csv(path, index=False)
    return path


class Payload:
    """A pickle that, when unpickled, creates the folder ``marker``: proof that the attacker's code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def poison(model_dir: Path, marker: Path) -> None:
    """Replaces the model with a pickle that runs code when loaded (what an attacker with write access does)."""
    (model_dir / "model.skops").unlink(missing_ok=True)
    (model_dir / "model.joblib").write_bytes(pickle.dumps(Payload(marker)))


def rewrite_manifest(model_dir: Path) -> None:
    """Recomputes the manifest's sha256 list, keeping its old signature (the attacker has no key)."""
    from kfp_mlops.components.core.manifest import MANIFEST_FILE, hash_files

    path = model_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    manifest["files"] = hash_files(model_dir)
    path.write_text(json.dumps(manifest))


def rewrite_index_sha256(registry_root: Path, name: str, version: str) -> None:
    """Rewrites a version's sha256 in the registry's index.json to match its files now."""
    from kfp_mlops.components.core.artifacts import sha256_tree

    index_path = registry_root / "index.json"
    index = json.loads(index_path.read_text())
    for record in index["models"][name]["versions"]:
        if record["version"] == version:
            record["sha256"] = sha256_tree(registry_root / record["path"])
    index_path.write_text(json.dumps(index))
