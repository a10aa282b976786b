"""The state of a project's last ``apply``: what was applied where, the runs it started, the schedules.

One JSON file per project (``$KFP_MLOPS_HOME/projects/<project>.state.json`` by
default)::

    {"format": 1, "project": "fleet", "deployments": {
        "penguins@local": {"model": "penguins", "place": "local", "target": "local",
                           "config_hash": "...", "settings": {...}, "applied_at": "...",
                           "schedules": {"monitoring": "0 * * * *"}, "schedule_names": {},
                           "last_run": {...}, "last_monitoring": {...}}}}

A deployment's ``config_hash`` is written only when its apply succeeded, so a
failed apply is planned again. Writes take a file lock and replace the file
atomically, so parallel applies of one project never lose an update.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.registry.local import write_json_atomic

FORMAT = 1


def default_state_path(project: str) -> Path:
    """``$KFP_MLOPS_HOME/projects/<project>.state.json``."""
    from kfp_mlops.pipelines.local_runner import home_dir

    return home_dir() / "projects" / f"{project}.state.json"


class ProjectState:
    """The state file of one project."""

    def __init__(self, path: str | Path, project: str):
        self.path = Path(path)
        self.project = project
        self._lock = FileLock(str(self.path) + ".lock", timeout=300)

    def read(self) -> dict[str, dict[str, Any]]:
        """Every applied deployment's record, by ``model@place`` ({} before the first apply).

        Raises:
            InputError: When the file is damaged or belongs to another project.
        """
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise InputError(f"state file {self.path} cannot be read ({error}); move it away to plan from scratch") \
                from None
        if not isinstance(data, dict) or not isinstance(data.get("deployments"), dict):
            raise InputError(f"state file {self.path} is damaged: no 'deployments' object")
        if data.get("project") != self.project:
            raise InputError(f"state file {self.path} belongs to project {data.get('project')!r}, not {self.project!r}")
        return data["deployments"]

    @contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            deployments = self.read()
            yield deployments
            write_json_atomic(self.path, {"format": FORMAT, "project": self.project, "deployments": deployments})

    def update(self, key: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Applies ``change`` to one deployment's record (created empty) under the lock; returns the record."""
        with self._locked() as deployments:
            record = deployments.setdefault(key, {})
            change(record)
            return dict(record)

    def remove(self, key: str) -> None:
        """Forgets a deployment."""
        with self._locked() as deployments:
            deployments.pop(key, None)
