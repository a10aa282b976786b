"""``plan``: what ``apply`` would change, as Terraform's plan shows it.

Each deployment gets one :class:`Change`: ``create`` (never applied),
``update`` (a setting changed: retrain), ``schedule`` (only a schedule changed:
no retraining), ``remove`` (applied before, gone from the file) or ``unchanged``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kfp_mlops.pipelines.project.spec import Deployment, Project
from kfp_mlops.pipelines.project.state import ProjectState, default_state_path

CREATE, UPDATE, SCHEDULE, REMOVE, UNCHANGED = "create", "update", "schedule", "remove", "unchanged"
SYMBOLS = {CREATE: "+", UPDATE: "~", SCHEDULE: "~", REMOVE: "-", UNCHANGED: "="}


@dataclass
class Change:
    """What apply would do to one deployment.

    Attributes:
        key: ``model@place``.
        action: ``create``, ``update``, ``schedule``, ``remove`` or ``unchanged``.
        details: One phrase per difference (``trainer.estimator: 'linear' -> 'random_forest'``).
        deployment: The desired deployment (None for ``remove``).
        applied: The state's record (empty for ``create``).
    """

    key: str
    action: str
    details: list[str] = field(default_factory=list)
    deployment: Deployment | None = None
    applied: dict[str, Any] = field(default_factory=dict)

    @property
    def desired(self) -> Deployment:
        """The desired deployment of a change that is not a ``remove``.

        Raises:
            ValueError: For a ``remove`` (it has none).
        """
        if self.deployment is None:
            raise ValueError(f"{self.key}: a {self.action} change has no desired deployment")
        return self.deployment

    def describe(self) -> str:
        """One line: ``~ penguins@local  update  trainer.estimator: ...``."""
        details = "; ".join(self.details)
        return f"  {SYMBOLS[self.action]} {self.key:<28} {self.action:<9} {details}".rstrip()


@dataclass
class Plan:
    """Every deployment's change, in the project file's order (removals last)."""

    project: Project
    state: ProjectState
    changes: list[Change]

    @property
    def pending(self) -> list[Change]:
        """The changes apply would make."""
        return [c for c in self.changes if c.action != UNCHANGED]

    def summary(self) -> str:
        """``Plan: 1 to create, 1 to update, 0 schedule changes, 0 to remove, 2 unchanged.``"""
        count = {action: sum(c.action == action for c in self.changes) for action in SYMBOLS}
        return (f"Plan: {count[CREATE]} to create, {count[UPDATE]} to update, {count[SCHEDULE]} schedule "
                f"change(s), {count[REMOVE]} to remove, {count[UNCHANGED]} unchanged.")

    def lines(self) -> list[str]:
        """The plan as printed: a header, one line per deployment, the summary."""
        return ([f"Project {self.project.name} ({self.project.path}); state: {self.state.path}"]
                + [change.describe() for change in self.changes] + [self.summary()])


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of what changed between two settings trees: ``gate.thresholds.accuracy: 0.9 -> 0.95``."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            found += differences(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
        return found
    if old == new:
        return []
    show = lambda value: "none" if value is None else repr(value)  # noqa: E731
    return [f"{prefix}: {show(old)} -> {show(new)}"]


def state_for(project: Project) -> ProjectState:
    """The project's state file (``state:`` in the file, else under ``$KFP_MLOPS_HOME``)."""
    return ProjectState(project.state_path or default_state_path(project.name), project.name)


def _change(deployment: Deployment, applied: dict[str, Any] | None) -> Change:
    if not applied or not applied.get("config_hash"):
        details = [f"target {deployment.target}"] + [f"{kind} schedule {cron!r}"
                                                     for kind, cron in deployment.schedules().items()]
        if applied and applied.get("last_run", {}).get("error"):
            details.append(f"last apply failed: {applied['last_run']['error']}")
        return Change(deployment.key, CREATE, details, deployment, applied or {})
    if applied["config_hash"] == deployment.config_hash:
        return Change(deployment.key, UNCHANGED, [], deployment, applied)
    found = differences(applied.get("settings") or {}, deployment.settings)
    schedule_only = all(line.startswith(("training.schedule:", "monitoring.schedule:")) for line in found)
    return Change(deployment.key, SCHEDULE if found and schedule_only else UPDATE,
                  found or ["config hash changed"], deployment, applied)


def make_plan(project: Project) -> Plan:
    """Compares the project file with the state of the last apply."""
    state = state_for(project)
    applied = state.read()
    changes = [_change(d, applied.get(d.key)) for d in project.deployments]
    wanted = {d.key for d in project.deployments}
    changes += [Change(key, REMOVE, ["not in the project file"], None, record)
                for key, record in sorted(applied.items()) if key not in wanted]
    return Plan(project, state, changes)
