"""Big requests in a worker process, so the server's event loop never waits on them.

A thread is not enough for a big request: ``orjson`` decodes a 14 MiB body in one
C call that holds the GIL for about half a second on a busy machine, and the
health probes wait for it. :class:`BigRequestPool` forks one worker process
after the model is loaded (it shares the model's memory); the worker decodes the
body, parses and scores the rows, and encodes the answer, and only bytes travel
between the processes.

Used by ``serve_forever`` (one pool per server process) for sklearn models;
Keras models, and servers running in a thread next to other code
(``start_local_endpoint``), use worker threads instead (forking a process with
threads running is unsafe).
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import orjson

logger = logging.getLogger("kfp_mlops.endpoint")

_MODEL: Any = None  # the served model, inherited by the forked worker


def _noop() -> None:
    return None


def _init_worker() -> None:
    """In the worker: Ctrl+C (sent to the whole process group) is the server's to handle, and the
    worker ends with its server, even a killed one (Linux ``PR_SET_PDEATHSIG``)."""
    import ctypes
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _answer(kind: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    """In the worker: decodes, scores and encodes one request; bad input is a 400 with its reason."""
    from kserve.errors import InvalidInput

    from kfp_mlops.components.serving.routes import _json_body, _v2_request, _v2_response

    try:
        if kind == "v2":
            return (200, *_v2_response(_MODEL.predict_now(_v2_request(body, headers, _MODEL.name))))
        response = _MODEL.predict_now(_json_body(body), vertex=kind == "vertex")
        return 200, orjson.dumps(response), {"content-type": "application/json"}
    except InvalidInput as error:
        reason = str(error)
    except (KeyError, ValueError, TypeError, IndexError, UnicodeDecodeError) as error:
        reason = f"malformed request: {type(error).__name__}: {error}"
    return 400, orjson.dumps({"error": reason}), {"content-type": "application/json"}


class BigRequestPool:
    """One forked worker process that answers big requests for ``model``.

    Args:
        model: The kserve model (its ``predict_now`` runs in the worker).
    """

    def __init__(self, model: Any):
        global _MODEL
        _MODEL = model
        self._executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("fork"), initializer=_init_worker)
        self._executor.submit(_noop).result(timeout=60)  # fork now, before the server starts its threads

    @property
    def alive(self) -> bool:
        """False once the worker died (the server then answers big requests on threads)."""
        return self._executor is not None

    async def answer(self, kind: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        """Answers one request in the worker: ``kind`` is ``v1``, ``vertex`` or ``v2``.

        Returns:
            ``(status, body, headers)``.

        Raises:
            BrokenProcessPool: If the worker died; the pool is then closed for good.
        """
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, _answer, kind, body, headers)
        except BrokenProcessPool:
            logger.error("the big-request worker process died; big requests now run on threads")
            self.close()
            raise

    def close(self) -> None:
        """Stops the worker (after the request it is answering, if any)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
