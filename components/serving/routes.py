"""The endpoint's HTTP routes: kserve's V1/V2 routes, the Vertex routes, and errors as 4xx with a reason."""
import asyncio
import logging
import os
from typing import Any, Callable

logger = logging.getLogger("kfp_mlops.endpoint")


def vertex_routes() -> tuple[str, str]:
    """Returns the Vertex predict and health routes, from ``AIP_PREDICT_ROUTE`` and ``AIP_HEALTH_ROUTE``."""
    return os.environ.get("AIP_PREDICT_ROUTE", "/predict"), os.environ.get("AIP_HEALTH_ROUTE", "/health")


MAX_BODY_BYTES = 64 << 20
# Bodies larger than this are decoded and parsed on a worker thread, so the event loop keeps
# answering health probes while a big request is prepared; smaller ones stay inline (latency).
OFFLOAD_BYTES = 256 << 10
PROBE_PATHS = ("/", "/v2/health/live", "/v2/health/ready")


async def offload(size: int, function: Callable, *args: Any) -> Any:
    """Calls ``function(*args)`` on a worker thread when ``size`` is over :data:`OFFLOAD_BYTES`, else inline."""
    if size > OFFLOAD_BYTES:
        return await asyncio.to_thread(function, *args)
    return function(*args)


# Expected errors answer with their reason and one log line, not a traceback.
ERROR_STATUS = (
    ("InvalidInput", 400), ("ModelNotFound", 404), ("ModelNotReady", 503), ("InferenceError", 500),
    ("UnsupportedProtocol", 501), ("NotImplementedError", 501), ("ServerNotLive", 503), ("ServerNotReady", 503),
)


def _json(content: Any, status: int = 200) -> Any:
    import orjson
    from fastapi import Response

    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def _error_handler(status: int, prefix: str = "") -> Callable:
    async def handle(request: Any, error: Exception) -> Any:
        reason = prefix + (str(error) if not prefix else f"{type(error).__name__}: {error}")
        logger.warning("%s %s -> %d: %s", request.method, request.url.path, status, reason)
        return _json({"error": reason}, status)

    return handle


def build_app(model: Any, dataplane: Any, repository_extension: Any, max_body_bytes: int = MAX_BODY_BYTES,
              token: str = "", enable_repository: bool = False) -> Any:
    """Builds a fresh FastAPI app with kserve's V1/V2 routes, error handlers and the Vertex routes.

    Args:
        model: The kserve Model (for the Vertex routes).
        dataplane: kserve's DataPlane holding the model.
        repository_extension: kserve's model repository extension.
        max_body_bytes: Larger requests (declared or chunked) get a 413.
        token: Bearer token required on every route but the health probes; empty means none.
        enable_repository: Keep kserve's ``/v2/repository/models/NAME/load|unload`` routes
            (off by default: anyone reaching the port could unload the model).
    """
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from kserve import errors
    from kserve.protocol.rest.v1_endpoints import register_v1_endpoints
    from kserve.protocol.rest.v2_endpoints import register_v2_endpoints

    from kfp_mlops.components.serving.guard import Guard

    predict_route, health_route = vertex_routes()
    app = FastAPI(title="kfp-mlops endpoint", docs_url=None, redoc_url=None)
    app.add_middleware(Guard, max_bytes=max_body_bytes, token=token, open_paths=(*PROBE_PATHS, health_route),
                       post_paths=(predict_route,), closed_prefixes=() if enable_repository else ("/v2/repository",))
    app.add_api_route("/", dataplane.live, methods=["GET"])
    _add_predict_routes(app, model, dataplane, predict_route)
    register_v1_endpoints(app, dataplane, repository_extension)
    register_v2_endpoints(app, dataplane, repository_extension)
    for error_type, status in ERROR_STATUS:
        app.add_exception_handler(getattr(errors, error_type, None) or NotImplementedError,
                                  _error_handler(status))
    # kserve's own decoding (e.g. V2 binary bodies) raises these on malformed requests: a 400, not a 500.
    for malformed in (KeyError, ValueError, TypeError, IndexError, UnicodeDecodeError):
        app.add_exception_handler(malformed, _error_handler(400, "malformed request: "))
    app.add_exception_handler(Exception, errors.generic_exception_handler)  # anything else is a bug: 500

    async def validation_handler(_: Request, error: RequestValidationError) -> Any:
        reasons = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in error.errors())
        return _json({"error": f"malformed request: {reasons}"}, 400)

    # Starlette types every handler as taking any Exception; this one is registered for RequestValidationError only.
    app.add_exception_handler(RequestValidationError, validation_handler)  # type: ignore[arg-type]

    async def vertex_health() -> Any:
        return _json({"name": model.name, "ready": bool(model.ready)}, 200 if model.ready else 503)

    app.add_api_route(health_route, vertex_health, methods=["GET"], response_model=None)
    return app


def _json_body(body: bytes) -> Any:
    import orjson
    from kserve.errors import InvalidInput

    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"request body is not valid JSON: {error}") from error


def _v2_request(body: bytes, headers: dict[str, str], name: str) -> Any:
    """Decodes a V2 body: binary (with ``inference-header-content-length``) or JSON, with or without a
    Content-Type (tritonclient sends none; kserve's own route then asks for the binary header)."""
    from kserve.errors import InvalidInput
    from kserve.protocol.infer_type import InferRequest
    from kserve.protocol.rest.v2_datamodels import InferenceRequest
    from pydantic import ValidationError

    json_length = headers.get("inference-header-content-length")
    if json_length is not None:
        if not json_length.isdigit() or int(json_length) > len(body):
            raise InvalidInput(f"header 'inference-header-content-length' is {json_length!r}; "
                               f"the body has {len(body)} bytes")
        return InferRequest.from_bytes(body, int(json_length), name)
    content_type = headers.get("content-type", "application/json").split(";")[0].strip()
    if content_type not in ("application/json", ""):
        raise InvalidInput(f"Content-Type {content_type!r} is not supported: send application/json, or binary "
                           "tensors with header 'inference-header-content-length'")
    try:
        request = InferenceRequest.model_validate(_json_body(body))
    except ValidationError as error:
        reasons = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in error.errors())
        raise InvalidInput(f"malformed request: {reasons}") from error
    return InferRequest.from_inference_request(request, name)


def _v2_response(response: Any) -> tuple[bytes, dict[str, str]]:
    import orjson

    rest, json_size = response.to_rest()
    if json_size is not None:
        return rest, {"inference-header-content-length": str(json_size)}
    return orjson.dumps(rest), {"content-type": "application/json"}


def _add_predict_routes(app: Any, model: Any, dataplane: Any, predict_route: str) -> None:
    """The V1, V2 and Vertex predict routes: big bodies are decoded and encoded off the event loop.

    They take precedence over kserve's routes for the same paths (registered first).
    """
    import orjson
    from fastapi import Request, Response
    from kserve.errors import InvalidInput, ModelNotFound

    def check(name: str) -> None:
        if name != model.name:
            raise ModelNotFound(name)

    async def in_worker(kind: str, body: bytes, request: Request) -> Any:
        """A big request, answered by the worker process when there is one (see .offload), else None."""
        if model.pool is None or not model.pool.alive or len(body) <= OFFLOAD_BYTES:
            return None
        status, content, headers = await model.pool.answer(kind, body, dict(request.headers))
        if status != 200:
            logger.warning("%s %s -> %d: %s", request.method, request.url.path, status, content[:500].decode())
        return Response(content, status_code=status, headers=headers)

    async def v1_predict(model_name: str, request: Request) -> Any:
        check(model_name)
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if content_type not in ("application/json", ""):
            raise InvalidInput("request body must be JSON (Content-Type: application/json) with field 'instances'")
        body = await request.body()
        if (answered := await in_worker("v1", body, request)) is not None:
            return answered
        payload = await offload(len(body), _json_body, body)
        response = await model.predict(payload, headers=dict(request.headers))
        return Response(await offload(len(body), orjson.dumps, response), media_type="application/json")

    async def vertex_predict(request: Request) -> Any:
        body = await request.body()
        if (answered := await in_worker("vertex", body, request)) is not None:
            return answered
        payload = await offload(len(body), _json_body, body)
        response = await model.predict(payload, headers=dict(request.headers), vertex=True)
        return Response(await offload(len(body), orjson.dumps, response), media_type="application/json")

    async def v2_infer(model_name: str, request: Request, model_version: str | None = None) -> Any:
        check(model_name)
        if model_version:
            raise NotImplementedError("Model versioning not supported yet.")
        body = await request.body()
        if (answered := await in_worker("v2", body, request)) is not None:
            return answered
        headers = dict(request.headers)
        infer_request = await offload(len(body), _v2_request, body, headers, model_name)
        response = await model.predict(infer_request, headers=headers)
        content, response_headers = await offload(len(body), _v2_response, response)
        return Response(content, headers=response_headers)

    app.add_api_route("/v1/models/{model_name}:predict", v1_predict, methods=["POST"], response_model=None)
    app.add_api_route("/v2/models/{model_name}/infer", v2_infer, methods=["POST"], response_model=None)
    app.add_api_route("/v2/models/{model_name}/versions/{model_version}/infer", v2_infer, methods=["POST"],
                      response_model=None)
    app.add_api_route(predict_route, vertex_predict, methods=["POST"], response_model=None)
