"""The local runner's task fork server ("zygote"): the heavy imports paid once per run, not once per task.

On Vertex AI or Kubeflow each task is its own container, so a task pays for its
own imports and the components keep them lean. Locally, kfp.local starts each
task as a fresh interpreter, and the 12 tasks of ``training`` would import
pandas, scikit-learn, skops and kfp again and again. This process imports them
once (:data:`PRELOAD`), then forks one child per task: the child starts with
those modules in memory and runs the task exactly as ``python -m MODULE`` would.

Protocol, over a Unix socket (one connection per task, served by a
single-threaded selector loop, since forking a process that runs threads of its
own is unsafe): the client sends a 4-byte length with the write end of the
task's output pipe attached (``SCM_RIGHTS``), then that many bytes of JSON
``{"module", "source", "args", "env", "cwd"}``; the server answers one JSON
line ``{"pid": N}`` and, when the task ends, ``{"exit": CODE}`` (negative for a
signal, like ``Popen.returncode``). It prints ``READY`` on stdout once the
modules before :data:`READY` in its list are imported (kfp), then imports the
rest one module at a time whenever no request waits (a task forked early
imports what is not loaded yet itself, as a fresh process would), and exits
when its stdin closes (the run ended or its driver died), ending any task still
running.

Run: ``python -m kfp_mlops.pipelines.task_zygote SOCKET_PATH [MODULE,MODULE...]``.
"""
from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import logging
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
import tempfile
import threading

READY = "READY"  # in a preload list: the modules before it are loaded before the zygote says READY
# What tasks of the bundled pipelines import, measured with PYTHONPROFILEIMPORTTIME, in the order the tasks run;
# big packages come after their slow dependencies, so a task waits for at most about 0.5 s of import.
# Left out: tensorflow (huge, and starts threads), onnxruntime (cheap to import, and its import opens a
# telemetry SQLite file and starts a thread), kfp.dsl.executor_main and task_entry (runpy runs them as
# __main__ and warns when they are loaded already).
PRELOAD = (
    "kfp.dsl", "kfp.dsl.executor", "kfp.dsl.kfp_config", "kfp.dsl.utils", "kfp_mlops.pipelines.task_failure",
    READY, "kfp_mlops.components.data.fingerprint", "numpy", "pandas", "kfp_mlops.components.data.ingest",
    "duckdb", "kfp_mlops.components.validation.validate", "kfp_mlops.components.registry.register",
    "kfp_mlops.components.deployment.local", "scipy.sparse", "scipy.special", "scipy.linalg", "scipy.optimize",
    "scipy.spatial", "scipy.integrate", "scipy.interpolate", "scipy.stats", "sklearn.utils", "sklearn.base",
    "sklearn.tree", "sklearn.ensemble", "sklearn.compose", "sklearn.metrics", "sklearn.inspection", "sklearn.impute",
    "sklearn.preprocessing", "sklearn.linear_model", "sklearn.utils._testing", "skops.io", "skl2onnx",
    "kfp_mlops.components.training.sklearn_trainer", "kfp_mlops.components.evaluation.evaluate",
    "fastapi", "kubernetes.client", "kubernetes", "kserve", "uvicorn", "kfp_mlops.components.serving.infra",
)
HEADER = struct.Struct("!I")
START_DIR = os.getcwd()
logger = logging.getLogger(__name__)


class Forked(Exception):  # noqa: N818 - not an error: how the child leaves the server's loop
    """Raised in the child right after the fork, to leave the server's frames and run the task."""

    def __init__(self, request: dict):
        super().__init__("forked")
        self.request = request


def _import(name: str) -> None:
    """Imports one module as a task would (``_KFP_RUNTIME=true``); a missing optional one is skipped."""
    try:
        importlib.import_module(name)
    except Exception as error:  # noqa: BLE001 - an optional dependency that is missing or broken
        logger.debug("not preloaded: %s (%s)", name, error)


def _receive(conn: socket.socket) -> tuple[dict, int]:
    """Reads one request: the JSON object and the output pipe's fd."""
    head, fds, _, _ = socket.recv_fds(conn, HEADER.size, 1)
    if len(fds) != 1:
        raise ValueError("request without an output pipe")
    while len(head) < HEADER.size:
        more = conn.recv(HEADER.size - len(head))
        if not more:
            raise ValueError("request cut short")
        head += more
    size, body = HEADER.unpack(head)[0], b""
    while len(body) < size:
        chunk = conn.recv(min(size - len(body), 1 << 20))
        if not chunk:
            raise ValueError("request cut short")
        body += chunk
    return json.loads(body), fds[0]


def _reply(conn: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):  # the driver gave up on the task: nothing to tell
        conn.sendall((json.dumps(message) + "\n").encode())


def _become_task(request: dict, output: int) -> None:
    """In the child: the task's own session, output, environment and working directory."""
    os.setsid()  # its process group id is its pid, as with Popen(start_new_session=True)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(null)
    os.close(output)
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # tempfile caches $TMPDIR on first use
    os.chdir(request["cwd"])
    if sys.path and sys.path[0] == START_DIR:  # python -m puts its working directory first
        sys.path[0] = os.getcwd()
    if "numpy.random" in sys.modules:  # a fresh process seeds numpy's global generator anew (random reseeds itself)
        sys.modules["numpy.random"].seed()


def _start(conn: socket.socket, owned: list) -> int:
    """Forks one task; returns the child's pid (in the parent) or raises :class:`Forked` (in the child)."""
    conn.settimeout(10.0)  # a client that never sends its request must not stall the server
    request, output = _receive(conn)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            for item in owned:
                if isinstance(item, int):
                    os.close(item)
                else:
                    item.close()
            conn.close()
            _become_task(request, output)
        except BaseException:  # noqa: BLE001 - never return into the server's loop
            logging.getLogger(__name__).exception("task setup failed")
            os._exit(70)
        raise Forked(request)
    os.close(output)
    return pid


def serve(path: str, modules: tuple[str, ...]) -> None:
    """Preloads ``modules``, then forks tasks for connections on ``path`` until stdin closes."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    os.environ["_KFP_RUNTIME"] = "true"  # kfp.dsl as tasks import it
    pending = list(modules)
    while READY in pending:  # what every task needs, before READY
        name = pending.pop(0)
        if name != READY:
            _import(name)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(0, selectors.EVENT_READ, "stdin")
    children: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    print(READY, flush=True)
    while True:
        events = selector.select(0 if pending else None)
        if not events and pending:  # idle: the next import (a task waits at most for one)
            _import(pending.pop(0))
            continue
        for key, _ in events:
            if key.data == "stdin":
                if not os.read(0, 4096):
                    for pid, _conn in children.values():
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(pid, signal.SIGKILL)
                    return
            elif key.data == "accept":
                conn, _ = listener.accept()
                owned = [selector, listener, *children.keys(), *(c for _, c in children.values())]
                try:
                    pid = _start(conn, owned)
                except (OSError, ValueError) as error:
                    logger.warning("task not started: %s", error)
                    _reply(conn, {"error": str(error)})
                    conn.close()
                    continue
                _reply(conn, {"pid": pid})
                try:
                    pidfd = os.pidfd_open(pid)
                except OSError as error:  # out of descriptors: wait for this one task instead
                    logger.warning("waiting for task %d: %s", pid, error)
                    _reply(conn, {"exit": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])})
                    conn.close()
                    continue
                children[pidfd] = (pid, conn)
                selector.register(pidfd, selectors.EVENT_READ, "child")
            else:
                pid, conn = children[key.fd]
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    del children[key.fd]
                    _reply(conn, {"exit": os.waitstatus_to_exitcode(status)})
                    conn.close()


def run_task(request: dict) -> None:
    """In the child: what ``sh -ec SCRIPT`` does after ``mktemp -d``, then ``python -m MODULE ARGS``."""
    folder = tempfile.mkdtemp(prefix="tmp.")
    program = os.path.join(folder, "ephemeral_component.py")
    with open(program, "wb") as file:
        file.write(request["source"].encode("utf-8", "surrogateescape"))
    os.environ["_KFP_RUNTIME"] = "true"
    sys.argv = ["-m", "--component_module_path", program, *request["args"]]
    runpy.run_module(request["module"], run_name="__main__", alter_sys=True)


def _exit_code(stop: SystemExit) -> int:
    """The status the interpreter would exit with for ``stop``."""
    if stop.code is None or isinstance(stop.code, int):
        return stop.code or 0
    print(stop.code, file=sys.stderr)
    return 1


def finish(code: int) -> None:
    """Ends the child as the interpreter would, less the teardown of every loaded module, which costs seconds.

    Non-daemon threads are joined, atexit handlers run (logging's flush among
    them), the standard streams are flushed.
    """
    threading._shutdown()  # type: ignore[attr-defined] # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def main(argv: list[str]) -> int:
    """Serves until stdin closes; in a forked child, runs its task and exits with its status."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("task zygote: %(message)s"))
    logger.addHandler(handler)  # not the root logger: a task's logging.basicConfig must still apply
    logger.propagate = False
    modules = tuple(m for m in argv[1].split(",") if m) if len(argv) > 1 else PRELOAD
    try:
        serve(argv[0], modules)
        return 0
    except Forked as forked:
        request = forked.request
    logger.removeHandler(handler)  # outside the except block: the task must not see Forked as its context
    logger.propagate = True
    try:
        run_task(request)
    except SystemExit as stop:
        finish(_exit_code(stop))
    except BaseException as error:  # noqa: BLE001 - reported as an uncaught exception is: sys.excepthook, 1
        sys.excepthook(type(error), error, error.__traceback__)
        if isinstance(error, KeyboardInterrupt):  # python ends itself with SIGINT then
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        finish(1)
    finish(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
