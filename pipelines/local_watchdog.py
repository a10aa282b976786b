"""Ends a local run's task processes when the process that runs it dies, even by ``kill -9``.

kfp.local starts each task with ``subprocess.Popen`` and waits for it; if the
driver is killed, the task (and anything it started, such as a model server)
keeps running. :func:`task_guard` starts each task in its own process group and
hands that group to a small watchdog process. The watchdog reads the group ids
from a pipe; when the pipe closes, because the driver finished or died, it ends
every group still listed (SIGTERM, then SIGKILL after a grace period).

Tasks whose command is kfp's usual script are forked from a per-run zygote
(:mod:`kfp_mlops.pipelines.task_fork`) once it has loaded the heavy imports;
a forked task is also a group of its own under the same watchdog.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from kfp_mlops.pipelines.task_fork import LIGHT_TASKS, TaskForker

GRACE_SECONDS = 3.0

# Runs in a fresh interpreter with only the standard library: "+PGID" adds a group, "-PGID" removes it.
_WATCHDOG = r"""
import os, signal, sys, time
groups = set()
for line in sys.stdin:
    line = line.strip()
    if line[:1] == "+":
        groups.add(int(line[1:]))
    elif line[:1] == "-":
        groups.discard(int(line[1:]))
def alive(group):
    try:
        os.killpg(group, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
for group in groups:
    try:
        os.killpg(group, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline and any(alive(g) for g in groups):
    time.sleep(0.05)
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
"""


class Watchdog:
    """A watchdog process that ends the listed process groups when this process goes away."""

    def __init__(self, grace_seconds: float = GRACE_SECONDS):
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(grace_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # a terminal's Ctrl+C must not end the watchdog before it cleans up
            text=True,
        )

    def _send(self, line: str) -> None:
        with self._lock:
            if self._process.stdin and not self._process.stdin.closed:
                self._process.stdin.write(line + "\n")
                self._process.stdin.flush()

    def watch(self, group: int) -> None:
        """Adds a process group to end if this process dies."""
        self._send(f"+{group}")

    def release(self, group: int) -> None:
        """Removes a process group that ended normally."""
        self._send(f"-{group}")

    def close(self) -> None:
        """Closes the pipe (the watchdog ends any group still listed) and waits for it."""
        with self._lock:
            if self._process.stdin and not self._process.stdin.closed:
                self._process.stdin.close()
        self._process.wait()


TASK_ENTRY = ("-m kfp.dsl.executor_main", "-m kfp_mlops.pipelines.task_entry")


def _run_task(watchdog: Watchdog, full_command: list[str], env_vars: dict[str, str] | None = None,
              error_file: str = "", forker: TaskForker | None = None) -> int:
    """kfp.local's ``run_local_subprocess``, with the task in its own process group under the watchdog.

    With ``error_file``, the task runs through :mod:`kfp_mlops.pipelines.task_entry`, which writes its
    failure there as typed JSON. With a ready ``forker``, the task is forked from its zygote.
    """
    env = {**os.environ, **(env_vars or {})}
    if error_file:
        full_command = [part.replace(*TASK_ENTRY) for part in full_command]
        env["KFP_MLOPS_ERROR_FILE"] = error_file
    forked = forker.spawn(full_command, env) if forker else None
    with forked or subprocess.Popen(full_command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    bufsize=1, env=env, start_new_session=True) as process:
        watchdog.watch(process.pid)  # with start_new_session, the group id is the task's pid
        try:
            if process.stdout:
                for line in iter(process.stdout.readline, ""):
                    print(line, end="")
                print("\n")
            return process.wait()
        except BaseException:  # Ctrl+C or an error in this process: end the task now
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            raise
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # anything the task left behind in its group
            watchdog.release(process.pid)


@dataclass
class Guard:
    """What :func:`task_guard` runs tasks with: the watchdog, and the zygote's forker (None when off)."""

    watchdog: Watchdog
    forker: TaskForker | None


@contextlib.contextmanager
def task_guard(error_dir: str | os.PathLike | None = None, fork: bool = True,
               preload: tuple[str, ...] | None = None) -> Iterator[Guard]:
    """Runs kfp.local's subprocess tasks in their own process groups, under a watchdog.

    Args:
        error_dir: Where each failed task writes its typed failure (``task-N.json``); None for none.
        fork: Start a zygote and fork tasks from it once it is ready (unless ``$KFP_MLOPS_TASK_FORK`` is 0).
        preload: The zygote's imports; None for :data:`~kfp_mlops.pipelines.task_zygote.PRELOAD`.
    """
    from kfp.local import subprocess_task_handler

    watchdog = Watchdog()
    # the zygote is its own session: its group id is its pid, watched from its launch
    forker = TaskForker.start(preload, LIGHT_TASKS, on_launch=watchdog.watch) if fork else None
    original = subprocess_task_handler.run_local_subprocess
    count = iter(range(1, 1 << 30))

    def run_local_subprocess(full_command: list[str], env_vars: dict[str, str] | None = None) -> int:
        error_file = os.path.join(error_dir, f"task-{next(count)}.json") if error_dir else ""
        return _run_task(watchdog, full_command, env_vars, error_file, forker)

    subprocess_task_handler.run_local_subprocess = run_local_subprocess
    try:
        yield Guard(watchdog, forker)
    finally:
        subprocess_task_handler.run_local_subprocess = original
        if forker:
            forker.close()
            if forker.process is not None:
                watchdog.release(forker.process.pid)
        watchdog.close()
