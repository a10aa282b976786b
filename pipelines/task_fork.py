"""The driver's side of the task zygote (:mod:`kfp_mlops.pipelines.task_zygote`): forked tasks, not fresh ones.

:class:`TaskForker` starts one zygote per run. :meth:`TaskForker.spawn` hands it
a task when all of these hold, and returns None otherwise (the runner then
starts a fresh process, as before):

- ``$KFP_MLOPS_TASK_FORK`` is not ``0``, and the platform has ``os.pidfd_open``
  and ``socket.send_fds`` (Linux);
- the command is exactly kfp 2.17.0's lightweight-component script, with this
  interpreter;
- the task's environment equals the zygote's, but for ``KFP_MLOPS_*`` variables
  (read when used, never at import), so a preloaded module never holds a value
  that the task's environment would change;
- the zygote has finished its imports (checked without waiting: the first
  tasks run as fresh processes while it loads). It starts with the first task
  that is not light (:data:`LIGHT_TASKS`).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import IO

FORK_ENV = "KFP_MLOPS_TASK_FORK"
OWN_PREFIX = "KFP_MLOPS_"
ZYGOTE_MODULE = "kfp_mlops.pipelines.task_zygote"
# kfp 2.17.0's command for a lightweight Python component: sh -ec SCRIPT SOURCE ARGS... (component_factory.py)
SCRIPT = ('program_path=$(mktemp -d)\n\nprintf "%s" "$0" > "$program_path/ephemeral_component.py"\n'
          '_KFP_RUNTIME=true {python} -m {module}                         --component_module_path'
          '                         "$program_path/ephemeral_component.py"                         "$@"\n')
MODULES = ("kfp.dsl.executor_main", "kfp_mlops.pipelines.task_entry")
# Components whose start-up imports nothing heavy (tests/architecture/test_architecture_task_imports.py
# checks it): a run of these alone, such as a cached re-run, starts no zygote.
LIGHT_TASKS = frozenset({
    "fingerprint_data", "current_champion", "register_model", "promote_model", "fetch_baseline", "deploy_local",
    "deploy_vertex_endpoint", "deploy_kserve", "fetch_model", "trigger_retraining",
})
logger = logging.getLogger(__name__)


def parse_command(full_command: list[str]) -> tuple[str, str, list[str]] | None:
    """(module, component source, executor arguments) when the command is kfp's script; else None."""
    if len(full_command) < 4 or full_command[:2] != ["sh", "-ec"]:
        return None
    for module in MODULES:
        if full_command[2] == SCRIPT.format(python=sys.executable, module=module):
            return module, full_command[3], list(full_command[4:])
    return None


def _same_environment(task: dict[str, str], zygote: dict[str, str]) -> bool:
    differ = {key for key in task.keys() | zygote.keys() if task.get(key) != zygote.get(key)}
    return all(key.startswith(OWN_PREFIX) for key in differ)


def _function(args: list[str]) -> str:
    """The component function an executor command runs (``--function_to_execute NAME``)."""
    return next((args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--function_to_execute"), "")


class ForkedTask:
    """A task forked by the zygote, with the parts of ``subprocess.Popen`` the runner uses."""

    def __init__(self, pid: int, stdout: IO[str], conn: socket.socket, replies: IO[str]):
        self.pid = pid
        self.stdout = stdout
        self._replies = replies
        self._conn = conn
        self.returncode: int | None = None

    def wait(self) -> int:
        """Waits for the zygote's report of the task's exit; a lost zygote is a failure, reported as such."""
        if self.returncode is None:
            line = self._replies.readline()
            try:
                self.returncode = int(json.loads(line)["exit"])
            except (ValueError, KeyError, TypeError):
                print(f"the task zygote ended before reporting task {self.pid}'s exit status; "
                      "the task counts as failed", file=sys.stdout, flush=True)
                self.returncode = 1
        return self.returncode

    def __enter__(self) -> ForkedTask:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stdout.close()
        self._replies.close()
        self._conn.close()


class TaskForker:
    """One zygote for one run; tasks are forked from it once it is ready.

    The zygote starts with the first task that is not in ``light`` (tasks whose
    start-up imports nothing heavy: they cost a fresh interpreter about 0.1 s), so
    a run of light tasks only, such as a cached re-run, never pays for its preload.
    """

    def __init__(self, preload: tuple[str, ...] | None = None, light: frozenset[str] = frozenset(),
                 on_launch: Callable[[int], None] | None = None):
        self._folder = tempfile.mkdtemp(prefix="kfp-mlops-zygote-")  # mode 0700: only this user connects
        self.path = os.path.join(self._folder, "socket")
        self.environment = dict(os.environ)
        self.light = light
        self._ready = False
        self._lock = threading.Lock()  # kfp.local runs a ParallelFor's tasks on threads
        self._command = [sys.executable, "-m", ZYGOTE_MODULE, self.path]
        if preload is not None:
            self._command.append(",".join(preload))
        self._on_launch = on_launch
        self.process: subprocess.Popen | None = None

    def launch(self) -> None:
        """Starts the zygote, once (its imports then run beside the tasks)."""
        with self._lock:
            if self.process is None:
                self.process = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                start_new_session=True, env=self.environment)
                if self._on_launch:
                    self._on_launch(self.process.pid)

    @classmethod
    def start(cls, preload: tuple[str, ...] | None = None, light: frozenset[str] = frozenset(),
              on_launch: Callable[[int], None] | None = None) -> TaskForker | None:
        """A forker whose zygote starts with the first task not in ``light``; None when forking is
        off or the platform cannot."""
        if os.environ.get(FORK_ENV, "1").strip() == "0" or not hasattr(os, "pidfd_open") \
                or not hasattr(socket, "send_fds") or sys.platform != "linux":
            return None
        try:
            os.close(os.pidfd_open(os.getpid()))  # Linux 5.3 or later
        except OSError:
            return None
        return cls(preload, light, on_launch)

    def ready(self, timeout: float = 0.0) -> bool:
        """Whether the zygote has started and finished its imports (waits at most ``timeout`` seconds)."""
        if self.process is None:
            return False
        stdout = self.process.stdout
        with self._lock:
            if not self._ready and stdout and not stdout.closed \
                    and select.select([stdout], [], [], timeout)[0]:
                self._ready = stdout.readline().strip() == b"READY"
                if not self._ready:  # the zygote died: no forking for the rest of the run
                    stdout.close()
        return self._ready and self.process.poll() is None

    def spawn(self, full_command: list[str], env: dict[str, str]) -> ForkedTask | None:
        """Forks the task when it may be (see the module's docstring); None to run it as a fresh process."""
        parsed = parse_command(full_command)
        if parsed is None or not _same_environment(env, self.environment):
            return None
        if self.process is None:
            if _function(parsed[2]) in self.light:
                return None  # a light task: a fresh interpreter is as quick, and the zygote may never be needed
            self.launch()
        if not self.ready():
            return None
        module, source, args = parsed
        request = json.dumps({"module": module, "source": source, "args": args, "env": env,
                              "cwd": os.getcwd()}).encode("utf-8", "surrogateescape")
        read_end, write_end = os.pipe()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.path)
            socket.send_fds(conn, [len(request).to_bytes(4, "big")], [write_end])
            conn.sendall(request)
            os.close(write_end)
            write_end = -1
            replies = conn.makefile("r", encoding="utf-8")
            pid = int(json.loads(replies.readline() or "{}")["pid"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("task zygote unavailable (%s); starting the task as a fresh process", error)
            if write_end >= 0:
                os.close(write_end)
            os.close(read_end)
            conn.close()
            return None
        return ForkedTask(pid, open(read_end, encoding="utf-8", errors="replace"), conn, replies)  # noqa: SIM115

    def close(self) -> None:
        """Ends the zygote and removes its socket.

        The run's tasks have ended by now (each one's group is killed when its runner
        returns), so the zygote has nothing left to do: it is killed at once rather than
        left to finish an import in progress before it reads its closed stdin.
        """
        if self.process is not None:
            with contextlib.suppress(OSError):
                if self.process.stdin:
                    self.process.stdin.close()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only the zygote, not the tasks
            self.process.wait()
            if self.process.stdout:
                self.process.stdout.close()
        shutil.rmtree(self._folder, ignore_errors=True)
