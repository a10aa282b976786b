"""The endpoint's HTTP routes: kserve's V1/V2 routes, the Vertex routes, and errors as 4xx with a reason."""
import logging
import os
from typing import Any, Callable

logger = logging.getLogger("kfp_mlops.endpoint")


def vertex_routes() -> tuple[str, str]:
    """Returns the Vertex predict and health routes, from ``AIP_PREDICT_ROUTE`` and ``AIP_HEALTH_ROUTE``."""
    return os.environ.get("AIP_PREDICT_ROUTE", "/predict"), os.environ.get("AIP_HEALTH_ROUTE", "/health")


MAX_BODY_BYTES = 64 << 20


class BodyLimit:
    """ASGI middleware: a request whose Content-Length exceeds the limit gets a 413; its body is never kept."""

    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_bytes:
                reason = f"request body of {int(length)} bytes exceeds the limit of {self.max_bytes} bytes"
                logger.warning("%s %s -> 413: %s", scope["method"], scope["path"], reason)
                while (await receive()).get("more_body"):
                    pass  # discard the body without keeping it, so the client reads the 413 instead of a reset
                await _json({"error": reason}, 413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


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


def build_app(model: Any, dataplane: Any, repository_extension: Any, max_body_bytes: int = MAX_BODY_BYTES) -> Any:
    """Builds a fresh FastAPI app with kserve's V1/V2 routes, error handlers and the Vertex routes.

    Args:
        model: The kserve Model (for the Vertex routes).
        dataplane: kserve's DataPlane holding the model.
        repository_extension: kserve's model repository extension.
        max_body_bytes: Larger requests (by Content-Length) get a 413.
    """
    import orjson
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from kserve import errors
    from kserve.errors import InvalidInput
    from kserve.protocol.rest.v1_endpoints import register_v1_endpoints
    from kserve.protocol.rest.v2_endpoints import register_v2_endpoints

    app = FastAPI(title="kfp-mlops endpoint", docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_api_route("/", dataplane.live, methods=["GET"])
    register_v1_endpoints(app, dataplane, repository_extension)
    register_v2_endpoints(app, dataplane, repository_extension)
    for error_type, status in ERROR_STATUS:
        app.add_exception_handler(getattr(errors, error_type, None) or NotImplementedError,
                                  _error_handler(status))
    # kserve's own decoding (e.g. V2 binary bodies) raises these on malformed requests: a 400, not a 500.
    for error_type in (KeyError, ValueError, TypeError, IndexError, UnicodeDecodeError):
        app.add_exception_handler(error_type, _error_handler(400, "malformed request: "))
    app.add_exception_handler(Exception, errors.generic_exception_handler)  # anything else is a bug: 500

    async def validation_handler(_: Request, error: RequestValidationError) -> Any:
        reasons = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in error.errors())
        return _json({"error": f"malformed request: {reasons}"}, 400)

    app.add_exception_handler(RequestValidationError, validation_handler)
    predict_route, health_route = vertex_routes()

    async def vertex_predict(request: Request) -> Any:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as error:
            raise InvalidInput(f"request body is not valid JSON: {error}") from error
        response, _ = await model(body, headers=dict(request.headers))
        return _json(response)

    async def vertex_health() -> Any:
        return _json({"name": model.name, "ready": bool(model.ready)}, 200 if model.ready else 503)

    app.add_api_route(predict_route, vertex_predict, methods=["POST"], response_model=None)
    app.add_api_route(health_route, vertex_health, methods=["GET"], response_model=None)
    return app
