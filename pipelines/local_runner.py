"""Runs a pipeline locally with kfp.local, in the installed environment.

Tasks run with ``SubprocessRunner(use_venv=False)``: the driver's own
interpreter, which already has this package, so nothing is pip-installed per
task. Caching is on, and the pipeline root is a fixed, user-visible directory.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

HOME_ENV = "KFP_MLOPS_HOME"


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
    """

    succeeded: bool
    seconds: float
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str = ""
    log_path: str = ""

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


class _ProgressFilter(logging.Filter):
    """Turns kfp.local's log records into one short progress line per step."""

    def __init__(self, emit: Callable[[str], None]):
        super().__init__()
        self._emit = emit

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for marker, verb in (("Executing task", "running"), ("cache hit", "cached")):
            if marker in message:
                name = message.split("'")[1] if "'" in message else message.split()[1]
                self._emit(f"  - {name.strip()}: {verb}")
        if "finished with status" in message and "Task" in message:
            name = message.split("'")[1] if "'" in message else "?"
            status = "ok" if "SUCCESS" in message else "FAILED"
            self._emit(f"  - {name}: {status}")
        return True


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@contextlib.contextmanager
def _output_to(log_path: Path | None) -> Iterator[Callable[[str], None]]:
    """Sends fds 1 and 2 (this process and the task subprocesses) to ``log_path``.

    Yields a writer to the original stdout for progress lines. With no path,
    nothing is redirected.
    """
    import sys

    if log_path is None:
        yield lambda line: print(line, flush=True)
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    saved_streams = sys.stdout, sys.stderr
    with open(log_path, "w", buffering=1) as log:
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
) -> LocalRun:
    """Runs one pipeline locally and returns every task's outputs.

    Args:
        pipeline: A ``@dsl.pipeline`` function.
        arguments: Pipeline parameters.
        root: Pipeline root; defaults to :func:`pipeline_root`.
        enable_caching: Use kfp.local's cache (keyed by component, image, command
            and arguments).
        progress: Print one line per step event.
        log_path: Where task logs go; ``None`` leaves them on the console.

    Returns:
        The run's outcome; failures are reported, not raised.
    """
    from kfp import local

    from kfp_mlops.components.errors import InputError

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
    log_file = Path(log_path) if log_path else None
    root_logger = logging.getLogger()
    started = time.perf_counter()
    error = ""
    with _output_to(log_file) as write, _recorded_task_outputs() as recorded:
        handler_filter = _ProgressFilter(lambda line: write(_strip_ansi(line))) if progress else None
        level = root_logger.level
        if handler_filter:
            root_logger.addFilter(handler_filter)
            root_logger.setLevel(logging.INFO)  # cache hits are logged at INFO outside kfp's own logger context
        try:
            pipeline(**arguments)
        except Exception as exc:  # kfp.local raises RuntimeError on a failed task
            error = _strip_ansi(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        finally:
            if handler_filter:
                root_logger.removeFilter(handler_filter)
                root_logger.setLevel(level)
    if error:
        error = _failure_cause(log_file, error)
    return LocalRun(
        succeeded=not error,
        seconds=time.perf_counter() - started,
        tasks={name: dict(values) for name, values in recorded.items()},
        error=error,
        log_path=str(log_file or ""),
    )
