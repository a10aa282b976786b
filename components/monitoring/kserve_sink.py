"""A sink for KServe's payload logger: CloudEvents in, the serving-log Parquet out.

An InferenceService whose predictor has ``logger: {mode: all, url: <this sink>}`` sends
two CloudEvents per request, with the same ``id``: ``org.kubeflow.serving.inference.request``
(the request body) and ``org.kubeflow.serving.inference.response`` (the answer), carrying
the extensions ``inferenceservicename``, ``namespace``, ``component`` and ``endpoint``.
The sink parses them with the CloudEvents SDK, pairs request and response by ``id``,
turns each instance into a row and writes time-partitioned Parquet
(:mod:`~kfp_mlops.components.monitoring.serving_log`) to a folder or ``gs://`` / ``s3://``.

It is stateless apart from a short pairing buffer in memory: an unpaired request is
written without its prediction after ``pair_seconds``, and a restart loses at most the
unflushed rows. Run it in our ``core`` image::

    python -m kfp_mlops.components.monitoring.kserve_sink --output gs://BUCKET/serving-log --port 8080

:func:`sink_manifest` gives the Deployment and Service to apply next to the InferenceService.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.monitoring.serving_log import ServedRow, write_rows

logger = logging.getLogger(__name__)

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
MAX_EVENT_BYTES = 32 * 1024 * 1024


def request_instances(body: Any) -> list[dict[str, Any]]:
    """The instances of a V1 (``instances``) or V2 (``inputs``) request body, as feature dicts.

    Raises:
        InputError: For a body that is neither.
    """
    if isinstance(body, dict) and isinstance(body.get("instances"), list):
        return [row if isinstance(row, dict) else {f"f{i}": v for i, v in enumerate(row)}
                for row in body["instances"]]
    if isinstance(body, dict) and isinstance(body.get("inputs"), list):
        columns = {item["name"]: item.get("data", []) for item in body["inputs"] if isinstance(item, dict)}
        rows = max((len(values) for values in columns.values()), default=0)
        return [{name: values[i] if i < len(values) else None for name, values in columns.items()}
                for i in range(rows)]
    raise InputError("a logged request is neither V1 ({'instances': [...]}) nor V2 ({'inputs': [...]})")


def response_predictions(body: Any) -> tuple[list[Any], str]:
    """The predictions of a V1 or V2 response body, and the model version it names ('' when none)."""
    if isinstance(body, dict) and isinstance(body.get("predictions"), list):
        return body["predictions"], str(body.get("model_version") or "")
    if isinstance(body, dict) and isinstance(body.get("outputs"), list) and body["outputs"]:
        return list(body["outputs"][0].get("data", [])), str(body.get("model_version") or "")
    raise InputError("a logged response is neither V1 ({'predictions': [...]}) nor V2 ({'outputs': [...]})")


@dataclass
class _Pending:
    received: float
    request: Any = None
    response: Any = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


class PayloadSink:
    """Pairs KServe's request and response events and writes served rows.

    Args:
        output: The serving log's root folder or URI.
        flush_rows: Rows buffered before a Parquet part is written.
        flush_seconds: Buffered rows older than this are written.
        pair_seconds: An unpaired request is written without a prediction after this long.
    """

    def __init__(self, output: str, flush_rows: int = 500, flush_seconds: float = 10.0, pair_seconds: float = 30.0):
        self.output, self.flush_rows, self.flush_seconds, self.pair_seconds = (
            output, flush_rows, flush_seconds, pair_seconds)
        self._pending: dict[str, _Pending] = {}
        self._rows: list[ServedRow] = []
        self._oldest_row = 0.0
        self._lock = threading.Lock()

    def receive(self, headers: dict[str, str], body: bytes) -> None:
        """Takes one CloudEvent (binary or structured mode).

        Raises:
            InputError: For an event that is not a KServe inference request or response.
        """
        from cloudevents.exceptions import GenericException
        from cloudevents.http import from_http

        try:
            event = from_http(headers, body)
        except GenericException as error:
            raise InputError(f"not a CloudEvent: {error}") from None
        kind = event["type"]
        if kind not in (REQUEST_TYPE, RESPONSE_TYPE):
            raise InputError(f"unexpected CloudEvent type {kind!r}; expected {REQUEST_TYPE} or {RESPONSE_TYPE}")
        data = event.data
        if isinstance(data, (bytes, str)):
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                raise InputError(f"event {event['id']}: the payload is not JSON") from None
        with self._lock:
            pending = self._pending.setdefault(event["id"], _Pending(received=time.time()))
            if kind == REQUEST_TYPE:
                pending.request = data
                pending.attributes = event.get_attributes()
            else:
                pending.response = data
            if pending.request is not None and pending.response is not None:
                self._complete(event["id"], self._pending.pop(event["id"]))
            self._flush_due_locked()

    def _complete(self, event_id: str, pending: _Pending) -> None:
        """Turns a paired (or expired) request into rows in the write buffer."""
        attributes = pending.attributes
        stamp: Any = attributes.get("time")
        ts = stamp.timestamp() if hasattr(stamp, "timestamp") else pending.received
        try:
            instances = request_instances(pending.request)
            predictions, version = response_predictions(pending.response) if pending.response else ([], "")
        except InputError as error:
            logger.warning("event %s dropped: %s", event_id, error)
            return
        version = version or str(attributes.get("endpoint") or attributes.get("component") or "")
        model = str(attributes.get("inferenceservicename") or "")
        if not self._rows:
            self._oldest_row = time.time()
        for index, features in enumerate(instances):
            prediction = predictions[index] if index < len(predictions) else None
            self._rows.append(ServedRow(ts, event_id, model, version, features, prediction))

    def _flush_due_locked(self) -> None:
        now = time.time()
        for event_id in [key for key, item in self._pending.items()
                         if item.request is not None and now - item.received >= self.pair_seconds]:
            self._complete(event_id, self._pending.pop(event_id))
        for event_id in [key for key, item in self._pending.items()
                         if item.request is None and now - item.received >= self.pair_seconds]:
            self._pending.pop(event_id)  # a response whose request never came
        if self._rows and (len(self._rows) >= self.flush_rows or now - self._oldest_row >= self.flush_seconds):
            rows, self._rows = self._rows, []
            write_rows(self.output, rows)
            logger.info("wrote %d served rows to %s", len(rows), self.output)

    def flush_due(self) -> None:
        """Writes what is due: expired pairings and aged buffers (call it periodically)."""
        with self._lock:
            self._flush_due_locked()

    def flush(self, pair_expired: bool = False) -> None:
        """Writes the buffered rows; with ``pair_expired``, also every request still waiting for its response."""
        with self._lock:
            if pair_expired:
                for event_id in [key for key, item in self._pending.items() if item.request is not None]:
                    self._complete(event_id, self._pending.pop(event_id))
            rows, self._rows = self._rows, []
            if rows:
                write_rows(self.output, rows)


def make_server(sink: PayloadSink, host: str = "0.0.0.0", port: int = 8080) -> ThreadingHTTPServer:
    """An HTTP server that feeds every POST to ``sink``: 202 accepted, 400 for a bad event, GET /healthz."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_EVENT_BYTES:
                return self._answer(413 if length > MAX_EVENT_BYTES else 400, "a CloudEvent body is required")
            body = self.rfile.read(length)
            try:
                sink.receive({key.lower(): value for key, value in self.headers.items()}, body)
            except InputError as error:
                return self._answer(400, str(error))
            self._answer(202, "accepted")

        def do_GET(self):  # noqa: N802
            self._answer(200 if self.path == "/healthz" else 404, "ok" if self.path == "/healthz" else "not found")

        def _answer(self, status: int, text: str) -> None:
            data = json.dumps({"status": text}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return ThreadingHTTPServer((host, port), Handler)


def sink_manifest(name: str, namespace: str, output: str, image: str, service_account: str = "") -> list[dict]:
    """The Deployment and Service of a sink: what an InferenceService's ``logger.url`` points at.

    Returns:
        Two Kubernetes objects; ``http://<name>.<namespace>.svc.cluster.local`` is the logger URL.
    """
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "kfp-mlops"}
    container = {
        "name": "sink", "image": image,
        "command": ["python", "-m", "kfp_mlops.components.monitoring.kserve_sink"],
        "args": ["--output", output, "--port", "8080"],
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    }
    pod = {"containers": [container], **({"serviceAccountName": service_account} if service_account else {})}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace,
                                                                      "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": pod}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace, "labels": labels},
         "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}},
    ]


def logger_url(name: str, namespace: str) -> str:
    """The in-cluster URL of a sink created by :func:`sink_manifest`."""
    return f"http://{name}.{namespace}.svc.cluster.local"


def main(argv: list[str] | None = None) -> int:
    """Runs the sink until interrupted."""
    parser = argparse.ArgumentParser(description="KServe payload-logger sink: CloudEvents -> serving-log Parquet")
    parser.add_argument("--output", required=True, help="serving-log root: a folder, gs:// or s3:// URI")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--flush-rows", type=int, default=500)
    parser.add_argument("--flush-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    sink = PayloadSink(args.output, flush_rows=args.flush_rows, flush_seconds=args.flush_seconds)
    server = make_server(sink, args.host, args.port)
    stop = threading.Event()

    def tick() -> None:  # write aged buffers even when no event arrives
        while not stop.wait(min(args.flush_seconds, 5.0)):
            sink.flush_due()

    threading.Thread(target=tick, daemon=True).start()
    # Kubernetes stops a pod with SIGTERM: stop serving, then write what is buffered.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    logger.info("payload sink on %s:%d writing to %s", args.host, args.port, args.output)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        sink.flush(pair_expired=True)
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
