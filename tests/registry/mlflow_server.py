"""A real MLflow tracking server on loopback, with a SQLite backend store and served artifacts.

The server needs the full ``mlflow`` package, whose pins (pyarrow<26) clash with
this project's environment, so it runs from its own virtual environment:
``make mlflow-server`` creates ``$(VENV)/mlflow-server`` (``make test`` does it
first). The client side is ``mlflow-skinny`` in the project's environment.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

SERVER_ENV = "KFP_MLOPS_MLFLOW_SERVER"
START_TIMEOUT_S = 180


def server_command() -> str | None:
    """The ``mlflow`` executable of a full MLflow install, or None.

    ``$KFP_MLOPS_MLFLOW_SERVER``, else ``<this venv>/mlflow-server/bin/mlflow``
    (what ``make mlflow-server`` creates), else an ``mlflow`` next to this
    interpreter when the full package (with its server) is installed here.
    """
    candidates = [os.environ.get(SERVER_ENV, ""), str(Path(sys.prefix) / "mlflow-server" / "bin" / "mlflow")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    beside = Path(sys.executable).with_name("mlflow")
    with contextlib.suppress(ImportError):
        import mlflow.server  # noqa: F401  (only the full package has it)

        if beside.is_file():
            return str(beside)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(folder: Path, command: str) -> Iterator[str]:
    """Starts ``mlflow server`` on 127.0.0.1 with its store in ``folder``; yields ``http://127.0.0.1:PORT``."""
    port = _free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [command, "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({process.returncode}): "
                                   f"{(folder / 'server.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/health", timeout=2).status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not answer on {url} within {START_TIMEOUT_S} s")
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        log.close()
        shutil.rmtree(folder / "artifacts", ignore_errors=True)
