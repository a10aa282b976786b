"""A loopback stand-in for the Cloud Storage JSON API, serving a local folder as buckets.

Real clients talk to it: gcsfs (what ``gs://`` sources read through) and
google-cloud-storage (the fingerprint step), both pointed at it with
``STORAGE_EMULATOR_HOST``. ``<root>/<bucket>/<name>`` is object ``gs://<bucket>/<name>``.
Only reads are served: object metadata, listings (with or without a delimiter) and
media downloads with byte ranges.
"""
from __future__ import annotations

import base64
import hashlib
import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from tests.support.loopback import LoopbackServer


class FakeGcs(LoopbackServer):
    """Serves ``root`` on 127.0.0.1; use as a context manager; ``.env`` points the clients at it."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.requests: list[str] = []
        super().__init__()
        # gcsfs probes a bucket for hierarchical namespaces over gRPC first; the JSON API is all there is here
        self.env = {"STORAGE_EMULATOR_HOST": self.url, "FSSPEC_GS_TOKEN": "anon", "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
                    "GOOGLE_CLOUD_PROJECT": "test-project"}

    def _metadata(self, bucket: str, name: str) -> dict:
        path = self.root / bucket / name
        data = path.read_bytes()
        stat = path.stat()
        return {"kind": "storage#object", "bucket": bucket, "name": name, "size": str(len(data)),
                "generation": str(stat.st_mtime_ns), "metageneration": "1",
                "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),  # noqa: S324 - GCS's own field
                "contentType": "application/octet-stream", "storageClass": "STANDARD",
                "updated": "2026-01-01T00:00:00.000Z", "timeCreated": "2026-01-01T00:00:00.000Z"}

    def _list(self, bucket: str, prefix: str, delimiter: str) -> dict:
        base = self.root / bucket
        items, prefixes = [], set()
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            name = path.relative_to(base).as_posix()
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            if delimiter and delimiter in rest:
                prefixes.add(prefix + rest.split(delimiter, 1)[0] + delimiter)
            else:
                items.append(self._metadata(bucket, name))
        return {"kind": "storage#objects", "items": items, "prefixes": sorted(prefixes)}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json", headers: dict = ()) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in dict(headers).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):  # the client read what it needed
                        pass

            def _json(self, status: int, answer: dict) -> None:
                self._send(status, json.dumps(answer).encode())

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append(f"GET {url.path}")
                parts = url.path.split("/")
                media = url.path.startswith("/download/") or query.get("alt") == "media"
                if media:
                    parts = [p for p in parts if p != "download"]
                # /storage/v1/b/<bucket>[/o[/<name>]]
                if len(parts) < 5 or parts[1:4] != ["storage", "v1", "b"]:
                    return self._json(404, {"error": {"code": 404, "message": "not found"}})
                bucket = parts[4]
                if len(parts) == 5:
                    found = (fake.root / bucket).is_dir()
                    return self._json(200 if found else 404, {"kind": "storage#bucket", "name": bucket})
                if len(parts) == 6:
                    return self._json(200, fake._list(bucket, query.get("prefix", ""), query.get("delimiter", "")))
                name = unquote("/".join(parts[6:]))
                path = fake.root / bucket / name
                if not path.is_file():
                    return self._json(404, {"error": {"code": 404, "message": f"No such object: {bucket}/{name}"}})
                if not media:
                    return self._json(200, fake._metadata(bucket, name))
                data = path.read_bytes()
                wanted = self.headers.get("Range")
                if wanted and wanted.startswith("bytes="):
                    start, _, end = wanted[6:].partition("-")
                    start, end = int(start or 0), min(int(end) if end else len(data) - 1, len(data) - 1)
                    return self._send(206, data[start:end + 1], "application/octet-stream",
                                      {"Content-Range": f"bytes {start}-{end}/{len(data)}"})
                return self._send(200, data, "application/octet-stream")

            do_HEAD = do_GET  # noqa: N815

        return Handler
