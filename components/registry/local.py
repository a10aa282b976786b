"""The local registry: versioned model directories and one JSON index.

Layout::

    <root>/index.json            every model, version, alias, champion history and audit trail
    <root>/index.json.lock       the file lock writers take
    <root>/<name>/v1/, v2/ ...   copies of the registered model directories

Every change to the index is a read-modify-write under a
:class:`filelock.FileLock`, and the new index is written to a temporary file,
fsynced and renamed over the old one (``os.replace``), so concurrent writers
never lose an update and a writer killed at any moment leaves the previous,
valid index. Model files are copied to a hidden staging folder first and
renamed into place under the lock.
"""
from __future__ import annotations

import builtins
import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from kfp_mlops.components.core.artifacts import sha256_tree
from kfp_mlops.components.core.audit import PROMOTE, ROLLBACK, AuditEvent, sort_events
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.registry import (
    CHALLENGER,
    CHAMPION,
    ChecksumError,
    ModelVersion,
    Registry,
    RegistryDamaged,
)

INDEX_FILE = "index.json"
LOCK_TIMEOUT_S = 120
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
VERSION_PATTERN = re.compile(r"^v?(\d+)$")

logger = logging.getLogger(__name__)


def write_json_atomic(path: Path, data: Any) -> None:
    """Writes JSON to a temporary file in the same folder, fsyncs it, and renames it over ``path``."""
    text = json.dumps(data, indent=2, sort_keys=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_name(name: str) -> str:
    """Returns ``name`` if it is a usable model name (letters, digits, ``.``, ``_``, ``-``).

    Raises:
        InputError: Naming the bad model name.
    """
    if not NAME_PATTERN.match(name or ""):
        raise InputError(f"model name {name!r} must start with a letter or digit and hold only letters, "
                         "digits, '.', '_' or '-'")
    return name


def _index_problem(index: Any) -> str:
    """What is wrong with a parsed index, or ``""`` when its shape is usable."""
    if not isinstance(index, dict):
        return f"expected a JSON object, found {type(index).__name__}"
    if not isinstance(index.get("models"), dict):
        return "no 'models' object"
    for name, entry in index["models"].items():
        if not (isinstance(entry, dict) and isinstance(entry.get("versions"), list)
                and isinstance(entry.get("aliases"), dict) and isinstance(entry.get("champion_history", []), list)
                and isinstance(entry.get("audit", []), list)):
            return f"model {name!r} lacks its 'versions' list or 'aliases' object"
        for record in entry["versions"]:
            if not (isinstance(record, dict) and all(isinstance(record.get(k), str)
                                                     for k in ("version", "path", "sha256"))):
                return f"model {name!r} has a version without 'version', 'path' and 'sha256'"
    return ""


class LocalRegistry(Registry):
    """A registry in a local folder (see the module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().absolute()
        self.uri = str(self.root)
        self.index_path = self.root / INDEX_FILE
        self._lock = FileLock(str(self.index_path) + ".lock", timeout=LOCK_TIMEOUT_S)

    # -- index -------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        if not self.index_path.is_file():
            return {"format": 1, "models": {}}
        try:
            index = json.loads(self.index_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RegistryDamaged(f"registry index {self.index_path} is not valid JSON: {error}") from error
        except OSError as error:
            raise RegistryDamaged(
                f"registry index {self.index_path} cannot be read: {error.strerror or error}") from error
        problem = _index_problem(index)
        if problem:
            raise RegistryDamaged(f"registry index {self.index_path} is damaged: {problem}; restore it from a backup "
                             "or move it away to start an empty registry")
        return index

    def _write(self, index: dict[str, Any]) -> None:
        write_json_atomic(self.index_path, index)

    def _entry(self, index: dict[str, Any], name: str) -> dict[str, Any]:
        if name not in index["models"]:
            known = ", ".join(sorted(index["models"])) or "none"
            raise InputError(f"model {name!r} is not in the registry {self.root} (models: {known})")
        return index["models"][name]

    def _version(self, name: str, entry: dict[str, Any], record: dict[str, Any]) -> ModelVersion:
        aliases = sorted(alias for alias, version in entry["aliases"].items() if version == record["version"])
        return ModelVersion(name=name, version=record["version"], path=str(self.root / record["path"]),
                            sha256=record["sha256"], metrics=record.get("metrics", {}),
                            lineage=record.get("lineage", {}), aliases=aliases,
                            created_at=record.get("created_at", ""))

    @staticmethod
    def _resolve(entry: dict[str, Any], name: str, version_or_alias: str) -> dict[str, Any]:
        match = VERSION_PATTERN.match(str(version_or_alias))
        wanted = f"v{match.group(1)}" if match else entry["aliases"].get(version_or_alias)
        for record in entry["versions"]:
            if record["version"] == wanted:
                return record
        kind = "version" if match else "alias"
        known = ", ".join([r["version"] for r in entry["versions"]] + sorted(entry["aliases"]))
        raise InputError(f"model {name!r} has no {kind} {version_or_alias!r} (known: {known})")

    # -- API -----------------------------------------------------------------------------------
    def get(self, name: str, version_or_alias: str = CHAMPION) -> ModelVersion:
        """See :meth:`Registry.get`."""
        entry = self._entry(self._read(), name)
        return self._version(name, entry, self._resolve(entry, name, version_or_alias))

    def list(self, name: str | None = None) -> list[ModelVersion]:
        """See :meth:`Registry.list`."""
        index = self._read()
        names = [name] if name else sorted(index["models"])
        return [self._version(n, self._entry(index, n), record)
                for n in names for record in self._entry(index, n)["versions"]]

    def local_dir(self, version: ModelVersion) -> str:
        """See :meth:`Registry.local_dir`."""
        return version.path

    def _existing(self, name: str, digest: str) -> ModelVersion | None:
        index = self._read()
        entry = index["models"].get(name)
        for record in (entry or {}).get("versions", []):
            if record["sha256"] == digest:
                return self._version(name, entry, record)
        return None

    def register(self, model_dir: str, name: str, metrics: dict[str, float] | None = None,
                 lineage: dict[str, Any] | None = None, aliases: Sequence[str] = (CHALLENGER,)
                 ) -> ModelVersion:
        """See :meth:`Registry.register`."""
        from kfp_mlops.components.core.model_io import load_contract, verify_model_dir

        check_name(name)
        load_contract(model_dir)  # a model directory, or InputError naming it
        verify_model_dir(model_dir)  # manifest and signature, before anything is stored
        digest = sha256_tree(model_dir)
        found = self._existing(name, digest)
        if found is not None and set(aliases) <= set(found.aliases):
            logger.info(f"{name} {found.version} already holds these files (sha256 {digest[:12]})")
            return found
        (self.root / name).mkdir(parents=True, exist_ok=True)
        staging = self.root / name / f".staging-{uuid.uuid4().hex}"
        try:
            if found is None:
                shutil.copytree(model_dir, staging)
                if sha256_tree(staging) != digest:
                    raise ChecksumError(f"{model_dir} changed while it was being registered; try again")
            with self._lock:
                return self._commit(name, digest, staging, metrics or {}, lineage or {}, list(aliases))
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _commit(self, name: str, digest: str, staging: Path, metrics: dict, lineage: dict,
                aliases: Sequence[str]) -> ModelVersion:
        index = self._read()
        entry = index["models"].setdefault(name, {"versions": [], "aliases": {}, "champion_history": []})
        record = next((r for r in entry["versions"] if r["sha256"] == digest), None)
        if record is None:
            if not staging.is_dir():  # registered by someone else between our check and the lock: copy now
                raise InputError(f"{name}: the registry changed during registration; try again")
            record = self._place(name, entry, digest, staging, metrics, lineage)
        for alias in aliases:
            self._point(entry, alias, record["version"])
        self._write(index)
        version = self._version(name, entry, record)
        logger.info("%s %s registered at %s (aliases: %s)", name, version.version, version.path,
                    ", ".join(version.aliases) or "none")
        return version

    def _place(self, name: str, entry: dict, digest: str, staging: Path, metrics: dict, lineage: dict) -> dict:
        numbers = [int(r["version"][1:]) for r in entry["versions"]]
        # A writer killed after its rename but before its index write leaves an orphan vN: skip past it.
        numbers += [int(p.name[1:]) for p in (self.root / name).iterdir() if VERSION_PATTERN.match(p.name)
                    and p.name.startswith("v")]
        version = f"v{max(numbers, default=0) + 1}"
        os.replace(staging, self.root / name / version)
        record = {"version": version, "path": f"{name}/{version}", "sha256": digest,
                  "metrics": {k: float(v) for k, v in metrics.items()}, "lineage": {**lineage, "model_sha256": digest},
                  "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        entry["versions"].append(record)
        return record

    @staticmethod
    def _point(entry: dict, alias: str, version: str) -> None:
        if VERSION_PATTERN.match(alias):
            raise InputError(f"alias {alias!r} looks like a version; pick a name such as 'champion'")
        if alias == CHAMPION and entry["aliases"].get(CHAMPION) != version:
            entry["champion_history"].append(version)
        entry["aliases"][alias] = version

    def promote(self, name: str, version: str, alias: str = CHAMPION, expected: str | None = None,
                reason: str = "", actor: str = "") -> ModelVersion:
        """See :meth:`Registry.promote`; the compare-and-swap and the audit record happen under the index lock."""
        with self._lock:
            index = self._read()
            entry = self._entry(index, name)
            record = self._resolve(entry, name, version)
            holder = entry["aliases"].get(alias)
            current = next((f"{r['version']}@{r['sha256']}" for r in entry["versions"] if r["version"] == holder), "")
            self._check_expected(name, record["version"], alias, expected, current)
            self._point(entry, alias, record["version"])
            if holder != record["version"]:
                event = AuditEvent(name, PROMOTE, alias, holder or "", record["version"], actor=actor, reason=reason)
                entry.setdefault("audit", []).append(event.to_dict())
            self._write(index)
        logger.info(f"{name} {record['version']} is now {alias}")
        return self._version(name, entry, record)

    def rollback(self, name: str, reason: str = "", actor: str = "") -> ModelVersion:
        """See :meth:`Registry.rollback`."""
        with self._lock:
            index = self._read()
            entry = self._entry(index, name)
            history = entry["champion_history"]
            if len(history) < 2:
                raise InputError(f"model {name!r} has no previous champion to roll back to")
            current = history.pop()
            entry["aliases"][CHAMPION] = history[-1]
            event = AuditEvent(name, ROLLBACK, CHAMPION, current, history[-1], actor=actor, reason=reason)
            entry.setdefault("audit", []).append(event.to_dict())
            self._write(index)
            record = self._resolve(entry, name, history[-1])
        logger.info(f"{name}: champion rolled back from {current} to {record['version']}")
        return self._version(name, entry, record)

    def record(self, event: AuditEvent) -> None:
        """See :meth:`Registry.record`."""
        with self._lock:
            index = self._read()
            self._entry(index, event.model).setdefault("audit", []).append(event.to_dict())
            self._write(index)

    def history(self, name: str) -> builtins.list[AuditEvent]:
        """See :meth:`Registry.history`."""
        entry = self._read()["models"].get(name) or {}
        return sort_events([AuditEvent.from_dict(item) for item in entry.get("audit", []) if isinstance(item, dict)])
