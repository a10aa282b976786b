"""Runs a pipeline locally with kfp.local, in the installed environment.

Tasks run with ``SubprocessRunner(use_venv=False)``: the driver's own
interpreter, which already has this package, so nothing is pip-installed per
task. Caching is on, and the pipeline root is a fixed, user-visible directory.
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfp_mlops.pipelines.local_files import name_files
from kfp_mlops.pipelines.local_progress import (
    HEARTBEAT_SECONDS,
    StepTiming,
    StepTracker,
    display_names,
    timing_table,
)
from kfp_mlops.pipelines.local_watchdog import task_guard
from kfp_mlops.pipelines.task_failure import TaskFailure

HOME_ENV = "KFP_MLOPS_HOME"
RUNS_FOLDER = ".runs"
logger = logging.getLogger(__name__)


def home_dir() -> Path:
    """Returns the user-visible working directory, ``./.kfp-mlops`` unless ``KFP_MLOPS_HOME`` is set."""
    return Path(os.environ.get(HOME_ENV, ".kfp-mlops")).absolute()


def pipeline_root() -> Path:
    """Returns the fixed local pipeline root, under :func:`home_dir`."""
    return home_dir() / "pipeline_root"


def default_registry() -> Path:
    """Returns the local model registry's directory, under :func:`home_dir`."""
    return home_dir() / "registry"


@dataclass
class LocalRun:
    """The outcome of a local pipeline run.

    Attributes:
        succeeded: Whether every executed task succeeded.
        seconds: Wall-clock duration.
        tasks: Outputs per task name, for every task that ran or was a cache hit;
            parameters as values, artifacts as kfp ``Artifact`` objects.
        error: The failure's message when ``succeeded`` is False.
        failure: The failed task's error as a type (kind, whether it is an ``InputError``,
            message), when the task recorded it; None on success.
        log_path: The task log file ("" when logs went to the console).
        steps: Each step's display name, status and elapsed time, in start order.
        run_name: kfp.local's name for the run (its folder under the pipeline root).
        record_path: The JSON record of the run (see :func:`runs_dir`).
        model_name: The model the run trained or used, set by the pipeline module.
        registry: Its registry, set by the pipeline module.
        outcome: What the run decided, as the pipeline module's typed outcome
            (:mod:`kfp_mlops.pipelines.outcomes`), when it builds one.
    """

    succeeded: bool
    seconds: float
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str = ""
    failure: TaskFailure | None = None
    log_path: str = ""
    steps: list[StepTiming] = field(default_factory=list)
    run_name: str = ""
    record_path: str = ""
    model_name: str = ""
    registry: str | Path = ""
    outcome: Any = None

    def output(self, task: str, name: str = "Output", default: Any = None) -> Any:
        """Returns one task output, or ``default`` when the task did not run."""
        return self.tasks.get(task, {}).get(name, default)


@contextlib.contextmanager
def _recorded_task_outputs() -> Iterator[dict[str, dict[str, Any]]]:
    """Records every task output that kfp.local stores, cache hits included.

    kfp.local returns only the outputs a pipeline declares, and a cache hit
    leaves no files in the new run's directory. Every executed or cached task's
    outputs pass through ``IOStore.put_task_output``, so recording that call
    gives the CLI the full picture. kfp is pinned to 2.17.0, and a test guards
    this hook.
    """
    from kfp.local import io as local_io

    recorded: dict[str, dict[str, Any]] = defaultdict(dict)
    original = local_io.IOStore.put_task_output

    def put_task_output(self, task_name: str, key: str, value: Any) -> None:
        recorded[task_name][key] = value
        original(self, task_name, key, value)

    local_io.IOStore.put_task_output = put_task_output
    try:
        yield recorded
    finally:
        local_io.IOStore.put_task_output = original


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def claim_log_file(path: str | os.PathLike) -> Path:
    """Creates ``path``, or ``stem-2.log``, ``stem-3.log``... when it exists; returns the file created.

    The file is created with ``O_EXCL``, so runs that start in the same second
    (log names carry the time to the second) never share a log file.
    """
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 10_000):
        candidate = path if attempt == 1 else path.with_name(f"{path.stem}-{attempt}{path.suffix}")
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no free log file name next to {path}")


@contextlib.contextmanager
def _output_to(log_path: Path | None) -> Iterator[Callable[[str], object]]:
    """Sends fds 1 and 2 (this process and the task subprocesses) to ``log_path``.

    Yields a writer to the original stdout for progress lines. With no path,
    nothing is redirected.
    """
    import sys

    if log_path is None:
        yield lambda line: print(line, flush=True)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    saved_streams = sys.stdout, sys.stderr
    with open(log_path, "a", buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log  # kfp.local prints task output through sys.stdout
        try:
            yield lambda line: os.write(saved_out, (line + "\n").encode())
        finally:
            sys.stdout, sys.stderr = saved_streams
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)


def _task_failure(error_dir: Path) -> TaskFailure | None:
    """The failure the last failed task recorded (see :mod:`kfp_mlops.pipelines.task_entry`)."""
    files = sorted(error_dir.glob("task-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    return TaskFailure.read(files[-1]) if files else None


def _failure_cause(log_path: Path | None, fallback: str) -> str:
    """Returns the last exception line a task printed, e.g. ``InputError: ...``."""
    import re

    if log_path is None or not log_path.exists():
        return fallback
    pattern = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception)): (.+)$")
    for line in reversed(_strip_ansi(log_path.read_text(errors="replace")).splitlines()):
        match = pattern.match(line.strip())
        if match and "RuntimeError: Pipeline" not in line:
            return f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(3)}"
    return fallback


def run_pipeline(
    pipeline: Callable,
    arguments: dict[str, Any],
    root: str | os.PathLike | None = None,
    enable_caching: bool = True,
    progress: bool = True,
    log_path: str | os.PathLike | None = None,
    heartbeat_s: float = HEARTBEAT_SECONDS,
) -> LocalRun:
    """Runs one pipeline locally and returns every task's outputs.

    Each task runs in its own process group under a watchdog, so killing this
    process (even with ``kill -9``) ends its tasks. Progress lines carry each
    step's display name and elapsed time, with a heartbeat for long steps, and
    the run ends with a per-step timing table (console and log). A JSON record of
    the run goes to ``<root>/.runs/`` for ``kfp-mlops ui`` and ``kfp-mlops report``.

    Args:
        pipeline: A ``@dsl.pipeline`` function.
        arguments: Pipeline parameters.
        root: Pipeline root; defaults to :func:`pipeline_root`.
        enable_caching: Use kfp.local's cache (keyed by component, image, command
            and arguments).
        progress: Print one line per step event, heartbeats and the timing table.
        log_path: Where task logs go; ``None`` leaves them on the console. When the
            file exists, a free name next to it is used (``LocalRun.log_path``).
        heartbeat_s: Seconds between "still running" lines (0 turns them off).

    Returns:
        The run's outcome; failures are reported, not raised.
    """
    from kfp import local

    from kfp_mlops.components.core.errors import InputError

    root = Path(root) if root else pipeline_root()
    for name, value in {**arguments, "pipeline root": str(root)}.items():
        # kfp.local's SubprocessRunner replaces "python3" in every task argument with the
        # interpreter's path, so such a value would reach the task mangled.
        if "python3" in str(value):
            raise InputError(
                f"{name} {value!r} contains 'python3', which kfp.local rewrites in task arguments; "
                "use a path without it (e.g. copy the file elsewhere, or set KFP_MLOPS_HOME)"
            )
    root.mkdir(parents=True, exist_ok=True)
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(root),
        enable_caching=enable_caching,
        raise_on_error=True,
    )
    log_file = claim_log_file(log_path) if log_path else None
    root_logger = logging.getLogger()
    started_at, started = time.time(), time.perf_counter()
    error = ""
    error_dir = tempfile.TemporaryDirectory(prefix="kfp-mlops-errors-")
    with _output_to(log_file) as write, _recorded_task_outputs() as recorded, \
            _run_name() as run_name, task_guard(error_dir.name), error_dir:
        emit = (lambda line: write(_strip_ansi(line))) if progress else None
        tracker = StepTracker(emit, display_names(pipeline), heartbeat_s)
        level = root_logger.level
        root_logger.addFilter(tracker)
        root_logger.setLevel(logging.INFO)  # cache hits are logged at INFO outside kfp's own logger context
        try:
            with tracker:
                pipeline(**arguments)
        except Exception as exc:  # noqa: BLE001 - kfp.local raises RuntimeError on a failed task
            error = _strip_ansi(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        finally:
            root_logger.removeFilter(tracker)
            root_logger.setLevel(level)
        seconds = time.perf_counter() - started
        steps = list(tracker.steps.values())
        table = timing_table(steps, seconds)
        if table and (log_file or emit):
            print("\n".join(table), flush=True)  # into the log file (or the console with no log)
            if emit and log_file:
                for line in table:
                    emit(line)
        failure = _task_failure(Path(error_dir.name)) if error else None
    if error:
        error = str(failure) if failure else _failure_cause(log_file, error)
    name_files(recorded)  # report.html, report.md, predictions.csv beside the extensionless files
    run = LocalRun(
        succeeded=not error,
        seconds=seconds,
        tasks={name: dict(values) for name, values in recorded.items()},
        error=error,
        failure=failure,
        log_path=str(log_file or ""),
        steps=steps,
        run_name=run_name.get("name", ""),
    )
    run.record_path = _write_record(run, root, getattr(pipeline, "name", ""), arguments, started_at)
    return run


@contextlib.contextmanager
def _run_name() -> Iterator[dict[str, str]]:
    """Captures the name kfp.local gives the run (its folder under the pipeline root)."""
    from kfp.local import executor_input_utils

    captured: dict[str, str] = {}
    original = executor_input_utils.get_local_pipeline_resource_name

    def named(*args: Any, **kwargs: Any) -> str:
        captured["name"] = original(*args, **kwargs)
        return captured["name"]

    executor_input_utils.get_local_pipeline_resource_name = named
    try:
        yield captured
    finally:
        executor_input_utils.get_local_pipeline_resource_name = original


def _jsonable(value: Any) -> Any:
    if hasattr(value, "uri") and hasattr(value, "metadata"):
        return {"artifact": type(value).__name__, "schema_title": getattr(value, "schema_title", ""),
                "uri": value.uri, "metadata": _jsonable(dict(value.metadata))}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def runs_dir(root: str | os.PathLike | None = None) -> Path:
    """Returns the folder of run records under the pipeline root."""
    return Path(root or pipeline_root()) / RUNS_FOLDER


def _write_record(run: LocalRun, root: Path, pipeline_name: str, arguments: dict[str, Any],
                  started_at: float) -> str:
    """Writes the run's record (status, parameters, steps, outputs) as JSON; returns its path."""
    import json

    name = run.run_name or f"{pipeline_name or 'pipeline'}-{time.strftime('%Y-%m-%d-%H-%M-%S')}-{os.getpid()}"
    record = {
        "run": name, "pipeline": pipeline_name, "succeeded": run.succeeded, "error": run.error,
        "started_at": started_at, "seconds": run.seconds, "parameters": _jsonable(arguments),
        "log_path": run.log_path, "run_dir": str(root / name) if run.run_name else "",
        "steps": [step.to_dict() for step in run.steps],
        "outputs": _jsonable(run.tasks),
    }
    try:
        folder = runs_dir(root)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.json"
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(record, indent=1, default=str))
        os.replace(temporary, path)
        return str(path)
    except OSError as error:  # a record is a convenience: never fail a run over it
        logger.warning("could not write the run record: %s", error)
        return ""
