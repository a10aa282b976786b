"""``apply``: make the applied state match the project file, changing only what the plan lists.

- **local**: each created or updated deployment runs the training pipeline
  (then monitoring, when serving data is declared) in a worker process, at most
  ``parallelism`` at a time. Schedules are recorded; ``status`` shows the next run.
- **vertex / kfp** (environments): the training pipeline is compiled for the
  environment's target and submitted through :mod:`kfp_mlops.pipelines.submission`,
  and each declared schedule becomes a Vertex schedule or a KFP recurring run.

A deployment's new ``config_hash`` is recorded only when its apply succeeded,
so a second apply with no change does nothing, and a failed one is planned again.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfp_mlops.pipelines.project.plan import CREATE, REMOVE, UNCHANGED, UPDATE, Change, Plan, make_plan
from kfp_mlops.pipelines.project.spec import LOCAL, Project


@dataclass
class Outcome:
    """What apply did to one deployment."""

    key: str
    action: str
    succeeded: bool
    message: str
    result: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: ``ok   penguins@local  create: v1 promoted (12.3 s)``."""
        return f"  {'ok' if self.succeeded else 'FAILED':<6} {self.key:<28} {self.action}: {self.message}"


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def local_registry(project: Project) -> str:
    """The registry of local deployments: the project's ``registry``, else ``$KFP_MLOPS_HOME/registry``."""
    from kfp_mlops.pipelines.local_runner import default_registry

    return project.registry or str(default_registry())


def _run_worker(request: dict[str, Any]) -> dict[str, Any]:
    """Runs one local deployment in a worker process and returns its result."""
    with tempfile.TemporaryDirectory(prefix="kfp-mlops-apply-") as folder:
        request_path, result_path = Path(folder) / "request.json", Path(folder) / "result.json"
        request_path.write_text(json.dumps(request))
        done = subprocess.run([sys.executable, "-m", "kfp_mlops.pipelines.project.worker", str(request_path),
                               str(result_path)], capture_output=True, text=True, check=False)
        if result_path.is_file():
            return json.loads(result_path.read_text())
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return {"training": {"succeeded": False, "error": f"the worker died: {tail[0]}"}}


def _local_message(result: dict[str, Any]) -> tuple[bool, str]:
    training, monitoring = result.get("training"), result.get("monitoring")
    parts, ok = [], True
    if training:
        ok = bool(training.get("succeeded"))
        if not ok:
            parts.append(f"training failed: {training.get('error')}")
        elif training.get("promoted"):
            parts.append(f"{training['version']} promoted to champion")
        elif training.get("version"):
            parts.append(f"{training['version']} registered, not promoted ({training.get('stopped_by')})")
        else:
            parts.append(f"nothing registered: {training.get('verdict') or training.get('stopped_by')}")
        if training.get("seconds") is not None:
            parts[-1] += f" in {training['seconds']:.1f} s"
    if monitoring:
        ok = ok and bool(monitoring.get("succeeded"))
        parts.append(f"monitoring: {monitoring.get('verdict')}")
    return ok, "; ".join(parts) or "schedules recorded"


def _record(change: Change, result: dict[str, Any], succeeded: bool, extra: dict[str, Any] | None = None):
    deployment = change.desired

    def update(record: dict[str, Any]) -> None:
        record.update(model=deployment.model, place=deployment.place, target=deployment.target)
        if result.get("training"):
            record["last_run"] = result["training"] | {"at": result.get("at", utc_now())}
        if result.get("monitoring"):
            record["last_monitoring"] = result["monitoring"] | {"at": result.get("at", utc_now())}
        record.update(extra or {})
        if succeeded:
            record.update(config_hash=deployment.config_hash, settings=deployment.settings, applied_at=utc_now(),
                          schedules=deployment.schedules())
    return update


def _apply_local(plan: Plan, changes: list[Change], log: Any) -> list[Outcome]:
    from kfp_mlops.pipelines.local_runner import home_dir
    from kfp_mlops.pipelines.project.parameters import tuning_note

    registry = local_registry(plan.project)
    requests = []
    for change in changes:
        note = tuning_note(change.desired)
        if note:
            log(f"  note: {change.key}: {note}")
        requests.append({"model": change.desired.model, "settings": change.desired.settings,
                         "registry": registry, "log_dir": str(home_dir() / "logs"),
                         "train": change.action in (CREATE, UPDATE)})
    for change in changes:
        log(f"  ... {change.key}: {change.action}" + (" (training)" if change.action in (CREATE, UPDATE) else ""))
    # A schedule-only change runs nothing locally: the new schedule is recorded.
    runs = [r for r in requests if r["train"]]
    if len(runs) == 1 or plan.project.parallelism == 1:  # one at a time: in this process, no worker to start
        from kfp_mlops.pipelines.project.worker import run_safely

        results = [run_safely(r) if r["train"] else {} for r in requests]
    else:
        with ThreadPoolExecutor(max_workers=plan.project.parallelism) as pool:
            results = list(pool.map(lambda r: _run_worker(r) if r["train"] else {}, requests))
    outcomes = []
    for change, result in zip(changes, results, strict=True):
        succeeded, message = _local_message(result)
        plan.state.update(change.key, _record(change, result, succeeded))
        outcomes.append(Outcome(change.key, change.action, succeeded, message, result))
        log(outcomes[-1].describe())
    return outcomes


def apply_plan(plan: Plan, submit_options: dict[str, Any] | None = None, log: Any = print,
               only: list[str] | None = None) -> list[Outcome]:
    """Applies a plan; returns one outcome per change (unchanged deployments are left alone).

    Args:
        plan: From :func:`~kfp_mlops.pipelines.project.plan.make_plan`.
        submit_options: Extra options for remote submissions (``api_endpoint``,
            ``credentials``, ``image_tag``...), over each environment's own.
        log: Where progress lines go.
        only: Apply only these deployments (``model@place``) or models (like
            Terraform's ``-target``); the others stay pending.

    Raises:
        InputError: When ``only`` names nothing in the plan.
    """
    from kfp_mlops.pipelines.project.remote import apply_remote

    pending = [c for c in plan.changes if c.action != UNCHANGED]
    if only:
        from kfp_mlops.components.core.errors import InputError

        known = {c.key for c in plan.changes} | {c.key.split("@")[0] for c in plan.changes}
        unknown = sorted(set(only) - known)
        if unknown:
            raise InputError(f"--only {unknown[0]!r}: no such model or deployment in {plan.project.path}")
        pending = [c for c in pending if c.key in only or c.key.split("@")[0] in only]
    if not pending:
        log("No changes: the applied state matches the project file.")
        return []
    outcomes = []
    local = [c for c in pending if c.action != REMOVE and c.desired.target == LOCAL]
    if local:
        outcomes += _apply_local(plan, local, log)
    for change in (c for c in pending if c.action != REMOVE and c.desired.target != LOCAL):
        outcome = apply_remote(change, submit_options or {})
        plan.state.update(change.key, _record(change, outcome.result, outcome.succeeded, outcome.result.get("state")))
        outcomes.append(outcome)
        log(outcome.describe())
    for change in (c for c in pending if c.action == REMOVE):
        plan.state.remove(change.key)
        names = ", ".join((change.applied.get("schedule_names") or {}).values())
        message = "forgotten" + (f"; its schedules still exist, delete them: {names}" if names else "")
        outcomes.append(Outcome(change.key, REMOVE, True, message))
        log(outcomes[-1].describe())
    return outcomes


def apply_project(project: Project, submit_options: dict[str, Any] | None = None, log: Any = print,
                  only: list[str] | None = None) -> tuple[Plan, list[Outcome]]:
    """Plans and applies a project (see :func:`apply_plan`); returns the plan and the outcomes."""
    plan = make_plan(project)
    for line in plan.lines():
        log(line)
    return plan, apply_plan(plan, submit_options, log, only)
