"""The run browser's HTTP server: read-only, GET only, files only from the pipeline root, registry and home.

Pages carry a Content-Security-Policy that allows no script at all, and reports
are sanitized with nh3 (HTML) or rendered by markdown-it with raw HTML off
(Markdown), so a report cannot run code in the browser.
"""
from __future__ import annotations

import mimetypes
import os
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.pipelines.run_records import find_run, list_runs
from kfp_mlops.pipelines.ui import pages

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'"
MAX_FILE_BYTES = 20 * 1024 * 1024
_SVG_ATTRIBUTES = {
    "svg": {"viewBox", "width", "height", "role", "aria-label", "xmlns"},
    "g": {"transform"}, "title": set(),
    "rect": {"x", "y", "width", "height", "fill", "fill-opacity", "stroke", "opacity"},
    "line": {"x1", "y1", "x2", "y2", "stroke", "stroke-width", "stroke-dasharray"},
    "polyline": {"points", "fill", "stroke", "stroke-width"},
    "polygon": {"points", "fill", "stroke"}, "circle": {"cx", "cy", "r", "fill", "stroke"},
    "path": {"d", "fill", "stroke", "stroke-width"},
    "text": {"x", "y", "text-anchor", "font-size", "font-family", "fill", "transform"},
}


def sanitize_html(document: str) -> str:
    """Keeps a report's structure, styles and inline SVG charts; drops scripts, handlers and javascript: links."""
    import nh3

    tags = set(nh3.ALLOWED_TAGS) | {"style", "figure", "figcaption"} | set(_SVG_ATTRIBUTES)
    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = {"class", "style"}
    for tag, names in _SVG_ATTRIBUTES.items():
        attributes[tag] = attributes.get(tag, set()) | names
    return nh3.clean(document, tags=tags, attributes=attributes, clean_content_tags={"script"},
                     url_schemes={"http", "https", "data"})


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML disabled (it shows as text), tables on, then sanitized."""
    from markdown_it import MarkdownIt

    return sanitize_html(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))


def step_log(log_text: str, task: str) -> str:
    """The part of a run's log that one task wrote (from 'Executing task' to its end marker)."""
    clean = re.sub(r"\x1b\[[0-9;]*m", "", log_text)
    start = clean.find(f"Executing task '{task}'")
    if start < 0:
        return ""
    end_marker = clean.find(f"Task '{task}' finished with status", start)
    end = clean.find("\n", clean.find("-----", end_marker if end_marker >= 0 else start))
    return clean[start:end if end > 0 else len(clean)]


class BrowserServer(ThreadingHTTPServer):
    """Holds the folders the handler reads."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], root: Path, registry: Path):
        super().__init__(address, Handler)
        self.root, self.registry = Path(root), Path(registry)
        self.allowed = [self.root.resolve(), self.registry.resolve(), self.root.parent.resolve()]


class Handler(BaseHTTPRequestHandler):
    """GET-only routes of the run browser."""

    server: BrowserServer
    server_version = "kfp-mlops-ui"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the console shows only the server's URL."""

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _page(self, html: str, status: int = 200) -> None:
        self._send(status, html.encode("utf-8"))

    def _error(self, status: int, message: str) -> None:
        self._page(pages.layout(HTTPStatus(status).phrase, f"<p>{pages.escape(message)}</p>"), status)

    def do_GET(self) -> None:
        """Routes a request; bad input gives a 404 page with one line."""
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        try:
            self._route(parts, query)
        except (InputError, KeyError, FileNotFoundError) as error:
            self._error(404, str(error).strip("'\""))
        except PermissionError as error:
            self._error(403, str(error))

    def _route(self, parts: list[str], query: dict[str, str]) -> None:
        root = self.server.root
        if not parts:
            return self._page(pages.runs_page(list_runs(root)))
        if parts[0] == "run" and len(parts) >= 2:
            run = find_run(root, parts[1])
            if len(parts) == 3 and parts[2] == "log":
                return self._log(run, query.get("task", ""))
            return self._page(pages.run_page(run))
        if parts[0] == "compare":
            runs = list_runs(root)
            if len(runs) < 1:
                raise InputError("no runs to compare")
            names = [r.run for r in runs]
            a = find_run(root, query.get("a") or names[min(1, len(names) - 1)])
            b = find_run(root, query.get("b") or names[0])
            return self._page(pages.compare_runs_page(a, b, names))
        if parts[0] == "registry":
            versions, deployments = self._registry()
            return self._page(pages.registry_page(versions, deployments, {r.run for r in list_runs(root)}))
        if parts[0] == "compare-models":
            return self._compare_models(query)
        if parts[0] == "report":
            return self._report(query.get("path", ""))
        if parts[0] == "file":
            return self._file(query.get("path", ""))
        raise KeyError(f"no page at /{'/'.join(parts)}")

    def _registry(self) -> tuple[list[Any], dict[str, dict[str, Any]]]:
        from kfp_mlops.components.deployment.local import read_deployments
        from kfp_mlops.components.registry import open_registry

        if not self.server.registry.is_dir():
            return [], {}
        return open_registry(str(self.server.registry)).list(), read_deployments(self.server.registry)

    def _compare_models(self, query: dict[str, str]) -> None:
        versions, deployments = self._registry()
        name = query.get("name", "")
        mine = [v for v in versions if v.name == name]
        if not mine:
            raise KeyError(f"no model named {name!r} in {self.server.registry}")
        by_label = {v.version: v for v in mine}
        for alias_holder in mine:
            for alias in alias_holder.aliases:
                by_label.setdefault(alias, alias_holder)
        labels = [v.version for v in mine]
        a = by_label.get(query.get("a") or labels[max(0, len(labels) - 2)])
        b = by_label.get(query.get("b") or labels[-1])
        if a is None or b is None:
            raise KeyError(f"{name}: no version {query.get('a') if a is None else query.get('b')!r}")
        runs = {r.run for r in list_runs(self.server.root)}
        self._page(pages.compare_models_page(a, b, deployments, runs, labels))

    def _allowed(self, path: str) -> Path:
        resolved = Path(path).resolve()
        if not path or not any(resolved == base or base in resolved.parents for base in self.server.allowed):
            raise PermissionError(f"{path} is outside the pipeline root, the registry and the home folder")
        if not resolved.is_file():
            raise FileNotFoundError(f"not a file: {path}")
        return resolved

    def _report(self, path: str) -> None:
        resolved = self._allowed(path)
        text = resolved.read_text(encoding="utf-8", errors="replace")
        if resolved.suffix == ".md" or text.lstrip().startswith("#"):
            body = render_markdown(text)
        elif resolved.suffix in (".csv", ".parquet", ".pbtxt", ".json"):
            body = f"<pre>{pages.escape(text[:200_000])}</pre>"
        else:
            body = sanitize_html(text)
        self._page(pages.report_page(resolved.name, str(resolved), body))

    def _file(self, path: str) -> None:
        resolved = self._allowed(path)
        if resolved.stat().st_size > MAX_FILE_BYTES:
            raise PermissionError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        kind = mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
        if kind == "text/html":
            kind = "text/plain"  # raw HTML is shown sanitized on /report only
        if kind.startswith("text/") or resolved.suffix in (".pbtxt", ".md", ".csv", ".log", ".json", ".yaml"):
            kind = "text/plain; charset=utf-8"
        self._send(200, resolved.read_bytes(), kind)

    def _log(self, run: Any, task: str) -> None:
        if not run.log_path or not os.path.isfile(run.log_path):
            raise FileNotFoundError(f"run {run.run} has no log file")
        text = Path(run.log_path).read_text(errors="replace")
        if task:
            text = step_log(text, task) or f"(no log lines for {task}: a cached step runs nothing)"
        self._page(pages.log_page(f"Log of {run.run}" + (f": {task}" if task else ""), text))


def serve(root: str | os.PathLike, registry: str | os.PathLike, host: str = "127.0.0.1",
          port: int = 8765) -> BrowserServer:
    """Binds the run browser (call ``serve_forever`` on the result)."""
    return BrowserServer((host, port), Path(root), Path(registry))
