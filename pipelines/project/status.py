"""``status``: one row per deployment: champion, last run, last drift verdict, next scheduled run.

The champion comes from the deployment's registry (the project's for local
deployments, the environment's otherwise); the last run and the last drift
verdict from the state of ``apply``, or from a newer local monitoring run
(``kfp-mlops run monitoring``); the next run from the schedules' cron.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from kfp_mlops.pipelines.project.apply import local_registry
from kfp_mlops.pipelines.project.plan import UNCHANGED, make_plan
from kfp_mlops.pipelines.project.spec import LOCAL, Project

COLUMNS = ("deployment", "champion", "last run", "last drift verdict", "next scheduled run", "pending")


@dataclass
class StatusRow:
    """One deployment's status."""

    deployment: str
    champion: str
    last_run: str
    drift: str
    next_run: str
    pending: str

    def cells(self) -> list[str]:
        """The row's cells, in :data:`COLUMNS` order."""
        return [self.deployment, self.champion, self.last_run, self.drift, self.next_run, self.pending]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def next_run(cron: str, now: datetime) -> datetime:
    """The next time a cron expression (``TZ=Area/City`` prefix allowed) fires after ``now``, in UTC."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    zone: tzinfo = UTC
    if cron.startswith(("TZ=", "CRON_TZ=")):
        prefix, cron = cron.split(" ", 1)
        zone = ZoneInfo(prefix.split("=", 1)[1])
    return croniter(cron, now.astimezone(zone)).get_next(datetime).astimezone(UTC)


def _champion(registry_uri: str, model: str) -> str:
    from kfp_mlops.components.registry import open_registry

    try:
        registry = open_registry(registry_uri)
        if not registry.has(model):
            return "none"
        version = registry.get(model)
    except Exception as error:  # noqa: BLE001 - an unreachable registry (no credentials...) is a cell, not a crash
        return f"unknown ({(str(error).splitlines() or [type(error).__name__])[0][:60]})"
    metric = next(iter(sorted(version.metrics.items())), None)
    return f"{version.version}" + (f" ({metric[0]}={metric[1]:.4f})" if metric else "")


def _last_run(record: dict[str, Any]) -> str:
    run = record.get("last_run")
    if not run:
        return "never"
    when = str(run.get("at", ""))[:16].replace("T", " ")
    if not run.get("succeeded"):
        return f"{when} failed: {str(run.get('error', ''))[:50]}"
    if run.get("submitted"):
        return f"{when} submitted {str(run.get('run', '')).rsplit('/', 1)[-1]}"
    outcome = (f"{run['version']} promoted" if run.get("promoted") else
               f"{run['version']} not promoted" if run.get("version") else f"stopped by {run.get('stopped_by')}")
    return f"{when} ok, {outcome}"


def _local_drift(project: Project, model: str, since: str) -> dict[str, Any] | None:
    """The newest local monitoring run of ``model`` recorded after ``since``, as a verdict."""
    from kfp_mlops.pipelines.local_runner import pipeline_root
    from kfp_mlops.pipelines.run_records import list_runs

    for record in list_runs(pipeline_root()):
        if record.pipeline != "monitoring" or record.parameters.get("model_name") != model:
            continue
        at = datetime.fromtimestamp(record.started_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if at <= since:
            return None
        metrics = (record.outputs.get("decide-retraining", {}).get("metrics") or {}).get("metadata", {})
        drifted = int(metrics.get("drifted_features", 0) or 0)
        verdict = ("failed" if not record.succeeded else f"drift in {drifted} feature(s)" if drifted
                   else "no drift")
        return {"verdict": verdict, "at": at}
    return None


def _drift(project: Project, deployment: Any, record: dict[str, Any]) -> str:
    latest = record.get("last_monitoring")
    if deployment.target == LOCAL:
        latest = _local_drift(project, deployment.model, (latest or {}).get("at", "")) or latest
    if not latest:
        return "-"
    return f"{latest['verdict']} ({str(latest.get('at', ''))[:16].replace('T', ' ')})"


def project_status(project: Project, now: datetime | None = None) -> list[StatusRow]:
    """Every deployment's status, in the project file's order."""
    now = now or datetime.now(UTC)
    plan = make_plan(project)
    applied = plan.state.read()
    changes = {change.key: change for change in plan.changes}
    rows = []
    for deployment in project.deployments:
        record = applied.get(deployment.key, {})
        registry = local_registry(project) if deployment.target == LOCAL else deployment.environment.registry_uri
        schedules = record.get("schedules") or {}
        upcoming = sorted((next_run(cron, now), kind) for kind, cron in schedules.items())
        when = (f"{upcoming[0][0].strftime('%Y-%m-%d %H:%M')} UTC ({upcoming[0][1]})" if upcoming else "none")
        change = changes[deployment.key]
        rows.append(StatusRow(deployment.key, _champion(registry, deployment.model), _last_run(record),
                              _drift(project, deployment, record), when,
                              "" if change.action == UNCHANGED else change.action))
    return rows


def status_table(rows: list[StatusRow]) -> list[str]:
    """The rows as an aligned text table."""
    cells = [list(COLUMNS)] + [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return ["  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip() for line in cells]
