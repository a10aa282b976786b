"""A loopback HTTP server that records every request and answers from a route table.

Routes map ``(METHOD, path prefix)`` to a list of replies used in turn (the last
one repeats); a reply is ``(status, body)`` with a dict body sent as JSON.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body or b"{}")


@dataclass
class Loopback:
    server: ThreadingHTTPServer
    routes: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, prefix: str, *replies) -> None:
        self.routes[(method, prefix)] = list(replies)

    def find(self, method: str, contains: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == method and contains in r.path]

    def reply_for(self, method: str, path: str):
        matches = [k for k in self.routes if k[0] == method and path.startswith(k[1])]
        if not matches:
            return 404, {"error": f"no route for {method} {path}"}
        replies = self.routes[max(matches, key=lambda k: len(k[1]))]
        return replies.pop(0) if len(replies) > 1 else replies[0]


def start() -> Loopback:
    box: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            loop = box["loop"]
            loop.requests.append(Request(self.command, parts.path, parse_qs(parts.query),
                                         {k.lower(): v for k, v in self.headers.items()}, body))
            status, payload = loop.reply_for(self.command, parts.path)
            if callable(payload):
                payload = payload(loop.requests[-1])
            data = payload if isinstance(payload, bytes) else (
                payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(payload, (str, bytes)) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    loop = Loopback(server)
    box["loop"] = loop
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return loop
