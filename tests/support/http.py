"""One HTTP request to a test server, with the standard library only (no client that could hide an error)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(url: str, body: Any = None, content_type: str = "application/json", method: str | None = None,
         headers: dict[str, str] | None = None, timeout: float = 20) -> tuple[int, Any]:
    """Sends one request and returns ``(status, parsed JSON or text)``; an HTTP error is a status, not a raise.

    Args:
        url: The URL.
        body: bytes as they are, anything else as JSON; None for no body (then a GET by default).
        content_type: The Content-Type header.
        method: The method; default POST with a body, GET without.
        headers: Extra headers.
        timeout: Seconds to wait.
    """
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"),
                                     headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text
