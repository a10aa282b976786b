"""Step progress for local runs: elapsed times, heartbeats, display names, a timing table.

kfp.local logs one record when a task starts (``Executing task 'x'``), when it is
served from the cache (``Task x cache hit``) and when it ends (``Task 'x' finished
with status ...``). :class:`StepTracker` turns those records into short progress
lines that carry each step's display name (kfp.local ignores ``set_display_name``)
and elapsed time, and a heartbeat thread reports steps that are still running.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

HEARTBEAT_SECONDS = 10.0
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class StepTiming:
    """One step of a local run.

    Attributes:
        task: kfp's task name (the folder under the run's directory), e.g. ``generate-statistics-2``.
        display_name: The name given with ``set_display_name``, else the task name.
        status: ``running``, ``ok``, ``FAILED`` or ``cached``.
        started: Epoch seconds when the step started.
        seconds: Elapsed seconds (0 for a cache hit).
    """

    task: str
    display_name: str
    status: str
    started: float
    seconds: float = 0.0

    @property
    def label(self) -> str:
        """``Display name (task-name)``, or the task name when no display name was set."""
        return self.task if self.display_name == self.task else f"{self.display_name} ({self.task})"

    def to_dict(self) -> dict[str, Any]:
        """Returns the step as JSON-ready values."""
        return asdict(self)


def display_names(pipeline: Any) -> dict[str, str]:
    """Maps every task name of a compiled pipeline (nested DAGs included) to its display name."""
    spec = getattr(pipeline, "pipeline_spec", None)
    if spec is None:
        return {}
    names = {name: task.task_info.name for name, task in spec.root.dag.tasks.items()}
    for component in spec.components.values():
        names.update({name: task.task_info.name for name, task in component.dag.tasks.items()})
    return {task: display or task for task, display in names.items()}


def _task_name(message: str) -> str:
    return message.split("'")[1] if "'" in message else message.split()[1]


def seconds_text(seconds: float) -> str:
    """``4.2 s`` below a minute, ``3 min 05 s`` above."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


class StepTracker(logging.Filter):
    """Follows kfp.local's task records; prints progress lines and heartbeats.

    Install it as a filter on the root logger (kfp.local logs through the root
    logger) and use it as a context manager to run the heartbeat thread.
    """

    def __init__(self, emit: Callable[[str], object] | None, names: dict[str, str],
                 heartbeat_s: float = HEARTBEAT_SECONDS):
        super().__init__()
        self._emit = emit
        self._names = names
        self._heartbeat_s = heartbeat_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.steps: dict[str, StepTiming] = {}

    def _say(self, line: str) -> None:
        if self._emit:
            self._emit(line)

    def filter(self, record: logging.LogRecord) -> bool:
        message = _ANSI.sub("", record.getMessage())
        if "Executing task" in message:
            self._started(_task_name(message))
        elif "cache hit" in message and message.startswith("Task"):
            self._finished(_task_name(message), "cached")
        elif "finished with status" in message and "Task" in message:
            self._finished(_task_name(message), "ok" if "SUCCESS" in message else "FAILED")
        return True

    def _step(self, task: str, status: str) -> StepTiming:
        step = StepTiming(task, self._names.get(task, task), status, time.time())
        self.steps[task] = step
        return step

    def _started(self, task: str) -> None:
        with self._lock:
            step = self._step(task, "running")
        self._say(f"  - {step.label}: running")

    def _finished(self, task: str, status: str) -> None:
        with self._lock:
            step = self.steps.get(task)
            if step is None or step.status != "running" or status == "cached":
                step = self._step(task, status)
            else:
                step.status, step.seconds = status, time.time() - step.started
        self._say(f"  - {step.label}: cached" if status == "cached"
                  else f"  - {step.label}: {status} in {seconds_text(step.seconds)}")

    def _beat(self) -> None:
        """Every ``heartbeat_s`` of a step's own run time, says it is still running."""
        beats: dict[str, int] = {}
        while not self._stop.wait(min(1.0, self._heartbeat_s / 4)):
            now = time.time()
            due = []
            with self._lock:
                for step in self.steps.values():
                    count = int((now - step.started) // self._heartbeat_s)
                    if step.status == "running" and count > beats.get(step.task, 0):
                        beats[step.task] = count
                        due.append((step.label, now - step.started))
            for label, elapsed in due:
                self._say(f"  - {label}: still running, {seconds_text(elapsed)}")

    def __enter__(self) -> StepTracker:  # noqa: PYI034
        if self._emit and self._heartbeat_s > 0:
            self._thread = threading.Thread(target=self._beat, name="kfp-mlops-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        with self._lock:  # a step still "running" here was interrupted
            for step in self.steps.values():
                if step.status == "running":
                    step.status, step.seconds = "FAILED", time.time() - step.started


def timing_table(steps: list[StepTiming], total_seconds: float) -> list[str]:
    """Returns the run summary's per-step timing table, one string per line."""
    if not steps:
        return []
    width = max(len("step"), *(len(step.label) for step in steps))
    lines = [f"Steps ({len(steps)}, {seconds_text(total_seconds)} in all):",
             f"  {'step':<{width}}  {'status':<7} {'time':>10}"]
    for step in sorted(steps, key=lambda s: s.started):
        elapsed = "-" if step.status == "cached" else seconds_text(step.seconds)
        lines.append(f"  {step.label:<{width}}  {step.status:<7} {elapsed:>10}")
    return lines
