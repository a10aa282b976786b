"""Reads the records of local runs (``<pipeline root>/.runs/*.json``) written by the local runner.

Used by ``kfp-mlops report`` and ``kfp-mlops ui``: the runs, their steps, parameters,
durations and output artifacts, with the same artifact metadata the KFP UI reads.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.errors import InputError

REPORT_TYPES = {"system.HTML": "HTML", "system.Markdown": "Markdown"}
DATA_EXTENSIONS = (".csv", ".parquet")


@dataclass
class RunRecord:
    """One local run, as the local runner recorded it."""

    run: str
    pipeline: str
    succeeded: bool
    error: str
    started_at: float
    seconds: float
    parameters: dict[str, Any]
    log_path: str
    run_dir: str
    steps: list[dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | os.PathLike) -> RunRecord:
        """Reads one record file.

        Raises:
            InputError: When the file is not a run record.
        """
        try:
            data = json.loads(Path(path).read_text())
            known = {k: data[k] for k in ("run", "pipeline", "succeeded", "error", "started_at", "seconds",
                                          "parameters", "log_path", "run_dir", "steps", "outputs")}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path} is not a run record: {error}") from error
        return cls(**known, path=str(path))

    def step(self, task: str) -> dict[str, Any]:
        """Returns a step's record ({} when the step did not run)."""
        return next((s for s in self.steps if s["task"] == task), {})

    def label(self, task: str) -> str:
        """``Display name (task)`` of a step, or the task name."""
        display = self.step(task).get("display_name", task)
        return task if display == task else f"{display} ({task})"

    def artifacts(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every output artifact as (task, output name, artifact), in step order."""
        order = [s["task"] for s in self.steps] + sorted(set(self.outputs) - {s["task"] for s in self.steps})
        found = []
        for task in order:
            for name, value in sorted(self.outputs.get(task, {}).items()):
                if isinstance(value, dict) and "artifact" in value:
                    found.append((task, name, value))
        return found

    def reports(self) -> list[tuple[str, str, str]]:
        """The run's reports and data files as (task, output name, path): HTML, Markdown, CSV, Parquet."""
        return [(task, name, artifact["uri"]) for task, name, artifact in self.artifacts()
                if artifact.get("schema_title") in REPORT_TYPES or str(artifact["uri"]).endswith(DATA_EXTENSIONS)]


def list_runs(root: str | os.PathLike) -> list[RunRecord]:
    """Every recorded run under a pipeline root, newest first (damaged records are skipped)."""
    folder = Path(root) / ".runs"
    runs = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        try:
            runs.append(RunRecord.read(path))
        except InputError:
            continue
    return sorted(runs, key=lambda r: r.started_at, reverse=True)


def find_run(root: str | os.PathLike, wanted: str = "latest") -> RunRecord:
    """Finds a run by name, unique prefix or pipeline name (its latest run); ``latest`` is the newest.

    Raises:
        InputError: When no run, or more than one, matches.
    """
    runs = list_runs(root)
    if not runs:
        raise InputError(f"no local runs recorded under {root}; run a pipeline first (kfp-mlops run training)")
    if wanted in ("", "latest"):
        return runs[0]
    exact = [r for r in runs if r.run == wanted]
    if exact:
        return exact[0]
    by_pipeline = [r for r in runs if r.pipeline == wanted]
    if by_pipeline:
        return by_pipeline[0]
    prefixed = [r for r in runs if r.run.startswith(wanted)]
    if len(prefixed) == 1:
        return prefixed[0]
    names = ", ".join(r.run for r in (prefixed or runs)[:5])
    raise InputError(f"{'several runs' if prefixed else 'no run'} match {wanted!r} under {root}; runs: {names}")
