"""The local endpoint: a KServe ModelServer serving one model directory.

Routes, for a model served as ``NAME``:

- KServe V1: ``GET /v1/models``, ``GET /v1/models/NAME``, ``POST /v1/models/NAME:predict``
  with ``{"instances": [...]}``, answered ``{"predictions": [...]}`` (plus
  ``probabilities`` and ``classes`` with ``"parameters": {"probabilities": true}``).
- KServe V2 (Open Inference Protocol): ``GET /v2/health/live``, ``/v2/health/ready``,
  ``/v2/models/NAME``, ``/v2/models/NAME/ready`` and ``POST /v2/models/NAME/infer``,
  answered with the output tensor ``predict`` (and ``probabilities`` when requested).
- Vertex AI custom container: ``POST $AIP_PREDICT_ROUTE`` (default ``/predict``)
  with ``{"instances": [...]}``, ``GET $AIP_HEALTH_ROUTE`` (default ``/health``);
  the port defaults to ``$AIP_HTTP_PORT``, then 8080.

See :mod:`kfp_mlops.components.core.payloads` for the request shapes. A
malformed request gets a 400 with ``{"error": "<reason>"}``, never a 500.

The server binds 127.0.0.1 unless told otherwise (kserve's default is 0.0.0.0). On any
other address it needs a bearer token (``Authorization: Bearer <token>`` on every route
but the health probes), or an explicit ``allow_unauthenticated`` for a platform that
authenticates in front of it. kserve's model repository routes (load/unload) are off
unless ``enable_repository``. Bodies over the cap get a 413, chunked ones included
(:mod:`.guard`); big requests are parsed and scored off the event loop, so the health
probes keep answering. Concurrent requests are micro-batched (:mod:`.batching`).
"""
import asyncio
import gc
import logging
import os
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import Predictor, load_model
from kfp_mlops.components.serving.kserve_model import contract_model_class
from kfp_mlops.components.serving.routes import MAX_BODY_BYTES, build_app, vertex_routes

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def default_port() -> int:
    """Returns ``$AIP_HTTP_PORT`` when set (Vertex sets it), else 8080."""
    return int(os.environ.get("AIP_HTTP_PORT") or DEFAULT_PORT)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback interface (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Security:
    """How the endpoint admits requests.

    Attributes:
        token: Bearer token required on every route but the health probes; empty means none.
        allow_unauthenticated: Serve a non-loopback address with no token (a platform in
            front authenticates, e.g. Vertex AI).
        enable_repository: Keep kserve's model repository load/unload routes.
    """

    token: str = ""
    allow_unauthenticated: bool = False
    enable_repository: bool = False


def _as_predictor(model: str | Path | Predictor) -> Predictor:
    return model if isinstance(model, Predictor) else load_model(model)


def build_server(model: str | Path | Predictor, name: str, host: str = DEFAULT_HOST, port: int | None = None,
                 max_batch_rows: int = 512, max_body_bytes: int = MAX_BODY_BYTES,
                 security: Security = Security()) -> tuple[Any, socket.socket, Any]:
    """Builds the uvicorn server of a KServe ModelServer serving ``model`` as ``name``.

    Args:
        model: A model directory or a loaded :class:`Predictor`.
        name: The model's name in the routes.
        host: Interface to bind; 127.0.0.1 by default.
        port: Port; None means ``$AIP_HTTP_PORT`` or 8080; 0 picks a free port.
        max_batch_rows: Most rows scored in one micro-batch.
        max_body_bytes: Larger request bodies (declared or chunked) get a 413.
        security: Token, unauthenticated opt-in and repository routes.

    Returns:
        ``(uvicorn_server, bound_socket, kserve_model)``.

    Raises:
        InputError: If ``model`` is not a model directory, the port is taken, or a
            non-loopback ``host`` has neither a token nor ``allow_unauthenticated``.
    """
    if not is_loopback(host) and not security.token and not security.allow_unauthenticated:
        raise InputError(f"binding {host} exposes the endpoint beyond this machine: set a bearer token "
                         "(serve --auth-token-env VAR), or pass --allow-unauthenticated when a platform in front "
                         "authenticates")
    import uvicorn
    from kserve import ModelServer

    # kserve 0.21's routes return ORJSONResponse, which FastAPI 0.165 flags on every call.
    warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")

    model_object = contract_model_class()(name, _as_predictor(model), max_batch_rows)
    kserve_server = ModelServer(http_port=default_port() if port is None else port, enable_grpc=False,
                                workers=1, enable_latency_logging=False)
    kserve_server.register_model(model_object)
    app = build_app(model_object, kserve_server.dataplane, kserve_server.model_repository_extension, max_body_bytes,
                    security.token, security.enable_repository)
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP; without it,
    # Nagle plus delayed ACKs add 40 ms to every response.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, kserve_server.http_port))
    except OSError as error:
        sock.close()
        raise InputError(f"cannot bind {host}:{kserve_server.http_port}: {error.strerror}") from error
    sock.listen(2048)
    sock.setblocking(False)
    config = uvicorn.Config(app, host=host, port=sock.getsockname()[1], log_config=None, access_log=False,
                            log_level="warning", timeout_keep_alive=65, loop="asyncio", lifespan="off")
    return uvicorn.Server(config), sock, model_object


@dataclass
class LocalEndpoint:
    """A running local endpoint (see :func:`start_local_endpoint`).

    Attributes:
        url: Base URL, e.g. ``http://127.0.0.1:8080``.
        name: The model's name in the routes.
    """

    url: str
    name: str
    host: str
    port: int
    _server: Any = None
    _thread: threading.Thread | None = None
    _model: Any = None

    @property
    def v1_predict_url(self) -> str:
        """``POST`` URL of the V1 predict route."""
        return f"{self.url}/v1/models/{self.name}:predict"

    @property
    def v2_infer_url(self) -> str:
        """``POST`` URL of the V2 infer route."""
        return f"{self.url}/v2/models/{self.name}/infer"

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the server and waits for its thread (at most ``timeout`` seconds)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._model is not None:
            self._model.batcher.close()
            self._model.proba_batcher.close()

    def __enter__(self) -> "LocalEndpoint":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_local_endpoint(model: str | Path | Predictor, name: str = "model", host: str = DEFAULT_HOST,
                         port: int = 0, timeout: float = 30.0, max_batch_rows: int = 512,
                         max_body_bytes: int = MAX_BODY_BYTES, security: Security = Security()) -> LocalEndpoint:
    """Starts the endpoint in a background thread and returns once it accepts requests.

    Args:
        model: A model directory or a loaded :class:`Predictor`.
        name: The model's name in the routes (``/v1/models/NAME:predict``).
        host: Interface to bind; 127.0.0.1 by default.
        port: Port; 0 (the default) picks a free one; see ``.url``.
        timeout: Seconds to wait for the server to start.
        max_batch_rows: Most rows scored in one micro-batch.
        max_body_bytes: Larger request bodies get a 413 (64 MiB by default).
        security: Token, unauthenticated opt-in and repository routes (see :class:`Security`).

    Returns:
        A :class:`LocalEndpoint`; call ``.stop()`` (or use it as a context manager).

    Raises:
        InputError: If the model cannot be loaded or the port is taken.
        RuntimeError: If the server did not start within ``timeout``.
    """
    server, sock, model_object = build_server(model, name, host, port, max_batch_rows, max_body_bytes, security)
    bound_port = sock.getsockname()[1]
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              name=f"kfp-mlops-endpoint-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    url_host = f"[{host}]" if ":" in host else host
    endpoint = LocalEndpoint(f"http://{url_host}:{bound_port}", name, host, bound_port, server, thread, model_object)
    if not server.started:
        endpoint.stop()
        raise RuntimeError(f"the endpoint on {host}:{bound_port} did not start within {timeout:.0f} s")
    return endpoint


def serve_forever(model: str | Path | Predictor, name: str = "model", host: str = DEFAULT_HOST,
                  port: int | None = None, max_batch_rows: int = 512, workers: int = 1,
                  security: Security = Security()) -> None:
    """Serves in the foreground until interrupted (Ctrl+C or SIGTERM).

    Args:
        model: A model directory or a loaded :class:`Predictor`.
        name: The model's name in the routes.
        host: Interface to bind; 127.0.0.1 by default.
        port: Port; None means ``$AIP_HTTP_PORT`` or 8080; 0 picks a free one.
        max_batch_rows: Most rows scored in one micro-batch.
        workers: Server processes sharing the listening socket (forked after the
            model is loaded, so they share its memory); 1 serves in this process.
        security: Token, unauthenticated opt-in and repository routes (see :class:`Security`).

    Raises:
        InputError: If ``workers`` < 1, the model cannot be loaded, the port is taken,
            or a non-loopback ``host`` has no token and no ``allow_unauthenticated``.
    """
    if workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    server, sock, model_object = build_server(model, name, host, port, max_batch_rows, security=security)
    gc.collect()
    gc.freeze()  # this process serves for good: keep the model's objects out of every GC pass (tail latency)
    bound = sock.getsockname()
    predict_route, health_route = vertex_routes()
    logger.info(f"Serving model {name!r} on http://{host}:{bound[1]}")
    logger.info(f"  V1: POST /v1/models/{name}:predict   V2: POST /v2/models/{name}/infer")
    logger.info(f"  Vertex: POST {predict_route}   GET {health_route}")
    if workers > 1:
        logger.info(f"  {workers} worker processes share the port")
        _serve_in_workers(server, sock, workers, model_object)
        return
    _serve(server, sock, model_object)


def _serve(server: Any, sock: socket.socket, model_object: Any) -> None:
    """Serves until stopped; an sklearn model gets a worker process for big requests (see :mod:`.offload`)."""
    from kfp_mlops.components.serving.offload import BigRequestPool

    if model_object.contract.framework != "keras":  # forking TensorFlow is unsafe; Keras releases the GIL
        model_object.pool = BigRequestPool(model_object)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        if model_object.pool is not None:
            model_object.pool.close()
        model_object.batcher.close()
        model_object.proba_batcher.close()


def _serve_in_workers(server: Any, sock: socket.socket, workers: int, model_object: Any) -> None:
    """Forks ``workers`` processes that serve the same socket; forwards SIGINT/SIGTERM and waits for them."""
    import signal

    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: uvicorn installs its own signal handlers and shuts down gracefully
            code = 0
            try:
                _serve(server, sock, model_object)
            except BaseException:  # noqa: BLE001 - a worker must never return into the parent's code
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    sock.close()

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    for child in children:
        while True:
            try:
                os.waitpid(child, 0)
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue
