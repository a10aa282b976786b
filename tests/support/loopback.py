"""A JSON HTTP server on 127.0.0.1 for tests that run real client libraries against a stand-in API.

Subclasses implement ``route(method, path, query, body) -> (status, answer)``;
every request is recorded in ``requests`` (and its Content-Type in ``content_types``)
before it is routed.
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 serving ``self._handler()``; ``.url`` is its base URL.
    Use it as a context manager."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError


class LoopbackJsonServer(LoopbackServer):
    """A loopback server of a JSON API: subclasses implement :meth:`route`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict]] = []
        self.content_types: list[str] = []  # one per request, in the order of ``requests``
        self._lock = threading.Lock()
        super().__init__()

    def calls(self, method: str, pattern: str) -> list[dict]:
        """Bodies of the recorded requests whose method and path match."""
        return [body for m, path, body in self.requests if m == method and re.search(pattern, path)]

    def handle(self, method: str, path: str, query: dict, body: dict, content_type: str = "") -> tuple[int, dict]:
        """Records the request and routes it, one request at a time."""
        with self._lock:
            self.requests.append((method, path, body))
            self.content_types.append(content_type)
            return self.route(method, path, query, body)

    def route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        """Answers one request: ``(HTTP status, JSON body)``."""
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, answer = fake.handle(method, url.path, parse_qs(url.query), json.loads(raw) if raw else {},
                                             self.headers.get("Content-Type", ""))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                self._serve("GET")

            def do_POST(self):  # noqa: N802
                self._serve("POST")

            def do_PATCH(self):  # noqa: N802
                self._serve("PATCH")

            def do_DELETE(self):  # noqa: N802
                self._serve("DELETE")

            def log_message(self, *args):
                pass

        return Handler
