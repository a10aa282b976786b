"""ASGI middleware in front of the endpoint: body cap, bearer token, 405s and closed routes.

Every request passes through :class:`Guard` before FastAPI sees it:

- **Body cap.** A declared ``Content-Length`` over the limit gets a 413 at once; a body
  sent without one (chunked) is counted as it arrives, and a 413 is answered as soon as
  it passes the limit. In both cases the rest is read and discarded, never kept.
- **Bearer token.** With a token set, every route except the health probes needs
  ``Authorization: Bearer <token>`` (compared in constant time); otherwise a 401.
- **405.** ``GET .../NAME:predict`` and the like answer 405 with ``Allow: POST``
  (kserve's ``GET /v1/models/{name}`` would otherwise match them and answer 404).
- **Closed routes** (kserve's model repository load/unload, unless enabled) answer 404.
"""
from __future__ import annotations

import hmac
import logging
import re
from typing import Any, Callable, Sequence

import orjson

logger = logging.getLogger("kfp_mlops.endpoint")

POST_ONLY = re.compile(r"^/v1/models/[^/]+:(predict|explain)$|^/v2/models/[^/]+(/versions/[^/]+)?/infer$")


async def send_json(send: Callable, content: Any, status: int, extra_headers: Sequence[tuple[bytes, bytes]] = ()
                    ) -> None:
    """Sends one JSON response on a raw ASGI ``send``."""
    body = orjson.dumps(content)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: body cap (chunked included), optional bearer token, 405s, closed routes.

    Args:
        app: The wrapped ASGI app.
        max_bytes: Largest request body accepted.
        token: Bearer token every non-probe route requires; empty means none.
        open_paths: Paths served without the token (health probes).
        post_paths: Extra POST-only paths (the Vertex predict route).
        closed_prefixes: Paths starting with one of these answer 404 (routes turned off).
    """

    def __init__(self, app: Any, max_bytes: int, token: str = "", open_paths: Sequence[str] = (),
                 post_paths: Sequence[str] = (), closed_prefixes: Sequence[str] = ()):
        self.app = app
        self.max_bytes = max_bytes
        self.token = token.encode()
        self.open_paths = frozenset(open_paths)
        self.post_paths = frozenset(post_paths)
        self.closed_prefixes = tuple(closed_prefixes)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        headers = dict(scope["headers"])
        if self.token and path not in self.open_paths and not self._authorized(headers):
            logger.warning("%s %s -> 401: missing or wrong bearer token", method, path)
            await self._discard(receive)
            await send_json(send, {"error": "missing or wrong bearer token (Authorization: Bearer <token>)"}, 401,
                            [(b"www-authenticate", b'Bearer realm="kfp-mlops"')])
            return
        if self.closed_prefixes and path.startswith(self.closed_prefixes):
            logger.warning("%s %s -> 404: route turned off", method, path)
            await self._discard(receive)
            await send_json(send, {"error": f"{path} is turned off on this server"}, 404)
            return
        if method != "POST" and (path in self.post_paths or POST_ONLY.match(path)):
            await send_json(send, {"error": f"method {method} not allowed on {path}; use POST"}, 405,
                            [(b"allow", b"POST")])
            return
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(scope, receive, send, f"{int(length)} bytes")
            return
        if not length.isdigit() and method in ("POST", "PUT", "PATCH"):
            chunks, total = [], 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                total += len(chunks[-1])
                if total > self.max_bytes:
                    await self._too_large(scope, receive, send, "more than that", message.get("more_body", False))
                    return
                if not message.get("more_body"):
                    break
            receive = _replay(b"".join(chunks), receive)
        await self.app(scope, receive, send)

    def _authorized(self, headers: dict) -> bool:
        scheme, _, given = headers.get(b"authorization", b"").partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token)

    async def _too_large(self, scope: dict, receive: Callable, send: Callable, size: str,
                         more: bool = True) -> None:
        reason = f"request body of {size} exceeds the limit of {self.max_bytes} bytes"
        logger.warning("%s %s -> 413: %s", scope["method"], scope["path"], reason)
        if more:
            await self._discard(receive)  # read without keeping, so the client gets the 413, not a reset
        await send_json(send, {"error": reason}, 413, [(b"connection", b"close")])

    @staticmethod
    async def _discard(receive: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return


def _replay(body: bytes, receive: Callable) -> Callable:
    """An ASGI ``receive`` that returns ``body`` once, then defers to the real one (disconnects)."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
