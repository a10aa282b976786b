"""Serving benchmark: our local endpoint against a plain KServe ModelServer, same model, same run.

Each server runs in its own process on 127.0.0.1 and serves the same model
(our sklearn trainer's HistGradientBoosting pipeline on palmerpenguins, raw
rows in, labels out) over V1 ``/v1/models/NAME:predict``:

- **ours**: ``kfp_mlops.components.serving.server`` (contract validation,
  micro-batching of concurrent requests, no per-request logging), scoring the
  checked ONNX export with onnxruntime;
- **ours native**: the same server with ``KFP_MLOPS_RUNTIME=native``: the
  scikit-learn pipeline, as before the ONNX export;
- **plain KServe**: a ``kserve.Model`` whose ``predict`` builds a DataFrame from
  ``instances`` and calls the pipeline, started the default way with
  ``ModelServer().start([model])`` (one worker, latency logging on).

Measured:

- latency: p50/p99 of one-row predicts, sequential, one keep-alive connection;
- throughput: requests/s with N concurrent clients (threads, one keep-alive
  connection each), a bounded number of requests.

Both servers run at once and are measured in alternating rounds, so load from
other processes on the machine falls on both alike.

Run: ``python benchmarks/bench_serving.py`` (fast), ``--full`` for the larger run.
Aims: p99 <= 10 ms for ours, and throughput >= 1.5x plain KServe.
"""
from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

NAME = "penguins"
PLAIN_MODEL_FILE = "plain-kserve.joblib"
ROW = {"island": "Biscoe", "bill_length_mm": 45.2, "bill_depth_mm": 14.8, "flipper_length_mm": 212.0,
       "body_mass_g": 5200.0, "sex": "female", "year": 2009}

PLAIN_KSERVE = f"""
import sys, joblib, pandas as pd, kserve
class SklearnModel(kserve.Model):
    def __init__(self, name, path):
        super().__init__(name)
        self.model = joblib.load(path)
        self.ready = True
    def predict(self, payload, headers=None):
        return {{"predictions": self.model.predict(pd.DataFrame(payload["instances"])).tolist()}}
kserve.ModelServer(http_port=int(sys.argv[2]), enable_grpc=False).start([SklearnModel("{NAME}", sys.argv[1])])
"""

OURS = f"""
import sys
from kfp_mlops.components.serving.server import serve_forever
serve_forever(sys.argv[1], "{NAME}", "127.0.0.1", int(sys.argv[2]), workers=int(sys.argv[3]))
"""


def build_model(model_dir: Path, estimator: str = "hist_gradient_boosting") -> None:
    """Trains the benchmark model with our sklearn trainer on palmerpenguins (ONNX export checked).

    The same fitted pipeline goes to plain KServe as a joblib pickle.
    """
    import joblib
    import pandas as pd
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from kfp_mlops.components.core.model_io import load_model
    from kfp_mlops.components.core.tables import bundled_dataset_path
    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    folder = model_dir.parent
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.read_csv(bundled_dataset_path()).dropna(subset=["species"]).sample(frac=1.0, random_state=0)
    cut = int(len(frame) * 0.8)
    frame.iloc[:cut].to_csv(folder / "train.csv", index=False)
    frame.iloc[cut:].to_csv(folder / "eval.csv", index=False)
    schema = schema_pb2.Schema()
    for name in ["species", *ROW]:
        kind = schema_pb2.BYTES if name in ("species", "island", "sex") else (
            schema_pb2.INT if name == "year" else schema_pb2.FLOAT)
        schema.feature.add(name=name, type=kind)
    (folder / "schema.pbtxt").write_text(text_format.MessageToString(schema))
    result = train_sklearn_model(folder / "train.csv", folder / "schema.pbtxt", model_dir, "species",
                                 estimator=estimator, eval_path=folder / "eval.csv")
    print(f"model: {estimator} on {cut} penguins; ONNX check: {result.metadata['onnx_reason']}")
    # plain KServe unpickles the same fitted pipeline, unchecked
    joblib.dump(load_model(model_dir, native=True).model, folder / PLAIN_MODEL_FILE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(script: str, model_path: Path, workers: int = 1, timeout: float = 90.0,
          env: dict | None = None) -> tuple[subprocess.Popen, int]:
    """Starts a server process and waits (bounded) until it answers ready."""
    import os

    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", script, str(model_path), str(port), str(workers)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", f"/v1/models/{NAME}")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start within {timeout:.0f} s")


def one_client(port: int, requests: int, latencies: list[float], errors: list[str]) -> None:
    body = json.dumps({"instances": [ROW]}).encode()
    headers = {"Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(requests):
        started = time.perf_counter()
        connection.request("POST", f"/v1/models/{NAME}:predict", body, headers)
        response = connection.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or b"predictions" not in payload:
            errors.append(f"HTTP {response.status}: {payload[:200]!r}")
    connection.close()


def throughput(port: int, clients: int, per_client: int) -> tuple[float, list[float]]:
    """Requests/s with ``clients`` concurrent keep-alive clients, and their latencies."""
    latencies: list[float] = []
    errors: list[str] = []
    threads = [threading.Thread(target=one_client, args=(port, per_client, latencies, errors))
               for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return clients * per_client / seconds, latencies


def time_model(model_dir: Path, requests: int, latencies: list[float], native: bool = True) -> None:
    """In-process one-row predicts of the model alone (native pipeline): the old floor under a server's latency."""
    import pandas as pd

    from kfp_mlops.components.core.model_io import load_model

    predictor = load_model(model_dir, native=native)
    for _ in range(requests):
        started = time.perf_counter()
        predictor.predict(pd.DataFrame([ROW]))
        latencies.append(time.perf_counter() - started)


def measure(ports: dict[str, int], latency_requests: int, clients: int, per_client: int,
            rounds: int, model_dir: Path) -> dict[str, dict[str, float]]:
    """Measures every server in alternating rounds, so background load hits them alike."""
    model_latencies: list[float] = []
    onnx_latencies: list[float] = []
    latencies: dict[str, list[float]] = {label: [] for label in ports}
    loaded: dict[str, list[float]] = {label: [] for label in ports}
    served: dict[str, list[float]] = {label: [] for label in ports}
    for port in ports.values():
        one_client(port, 30, [], [])  # warm-up
    for _ in range(rounds):
        time_model(model_dir, latency_requests // rounds, model_latencies)
        time_model(model_dir, latency_requests // rounds, onnx_latencies, native=False)
        for label, port in ports.items():
            errors: list[str] = []
            one_client(port, latency_requests // rounds, latencies[label], errors)
            if errors:
                raise RuntimeError(f"{label}: {len(errors)} failed requests, first: {errors[0]}")
            rps, under_load = throughput(port, clients, per_client // rounds)
            served[label].append(rps)
            loaded[label].extend(under_load)
    for runtime, values in (("native scikit-learn", model_latencies), ("onnxruntime", onnx_latencies)):
        print(f"model alone ({runtime}), in-process one-row predict: p50 {1000 * np.percentile(values, 50):.2f} ms, "
              f"p99 {1000 * np.percentile(values, 99):.2f} ms")
    return {label: {"p50_ms": 1000 * float(np.percentile(latencies[label], 50)),
                    "p99_ms": 1000 * float(np.percentile(latencies[label], 99)),
                    "rps": float(np.median(served[label])),
                    "loaded_p99_ms": 1000 * float(np.percentile(loaded[label], 99))} for label in ports}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-requests", type=int, default=400, help="sequential one-row requests")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for throughput")
    parser.add_argument("--per-client", type=int, default=150, help="requests per concurrent client")
    parser.add_argument("--rounds", type=int, default=4, help="alternating measurement rounds per server")
    parser.add_argument("--workers", type=int, default=1,
                        help="also measure our server with this many worker processes (e.g. one per core)")
    parser.add_argument("--full", action="store_true", help="2000 sequential requests, 16 clients x 500")
    args = parser.parse_args(argv)
    if args.full:
        args.latency_requests, args.clients, args.per_client = 2000, 16, 500
    with tempfile.TemporaryDirectory() as folder:
        model_dir = Path(folder) / NAME
        build_model(model_dir)
        processes, ports = [], {}
        try:
            native = {"KFP_MLOPS_RUNTIME": "native"}
            servers = [("plain KServe", PLAIN_KSERVE, model_dir.parent / PLAIN_MODEL_FILE, 1, None),
                       ("ours native", OURS, model_dir, 1, native), ("ours", OURS, model_dir, 1, None)]
            if args.workers > 1:
                servers.append((f"ours x{args.workers}", OURS, model_dir, args.workers, None))
            for label, script, path, workers, env in servers:
                process, ports[label] = start(script, path, workers, env=env)
                processes.append(process)
            results = measure(ports, args.latency_requests, args.clients, args.per_client, args.rounds, model_dir)
        finally:
            for process in processes:
                process.terminate()
                process.wait(30)
    print(f"one-row predict on loopback; {args.latency_requests} sequential requests; "
          f"{args.clients} clients x {args.per_client} requests; {args.rounds} alternating rounds "
          f"(req/s: median of rounds)")
    print(f"{'server':<14}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>10}{'p99 ms under load':>20}")
    for label, row in results.items():
        print(f"{label:<14}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['rps']:>10.0f}{row['loaded_p99_ms']:>20.2f}")
    ours, plain, native = results["ours"], results["plain KServe"], results["ours native"]
    print(f"ratios (plain KServe / ours): p50 {plain['p50_ms'] / ours['p50_ms']:.2f}x, "
          f"p99 {plain['p99_ms'] / ours['p99_ms']:.2f}x; throughput (ours / plain KServe): "
          f"{ours['rps'] / plain['rps']:.2f}x")
    print(f"ratios (ours native scikit-learn / ours onnxruntime): p50 {native['p50_ms'] / ours['p50_ms']:.2f}x, "
          f"p99 {native['p99_ms'] / ours['p99_ms']:.2f}x; throughput {ours['rps'] / native['rps']:.2f}x")
    print(f"issue 15 targets: p50 <= 1.5 ms: {'met' if ours['p50_ms'] <= 1.5 else 'NOT met'}; p99 <= 4 ms: "
          f"{'met' if ours['p99_ms'] <= 4 else 'NOT met'}; >= 3x the native path (p50): "
          f"{'met' if native['p50_ms'] >= 3 * ours['p50_ms'] else 'NOT met'}; >= 10x plain KServe throughput: "
          f"{'met' if ours['rps'] >= 10 * plain['rps'] else 'NOT met'}")
    for label in results:
        if label.startswith("ours x"):
            print(f"{label}: throughput {results[label]['rps'] / plain['rps']:.2f}x plain KServe")
    print(f"aims: p99 <= 10 ms: {'met' if ours['p99_ms'] <= 10 else 'NOT met'} ({ours['p99_ms']:.2f} ms); "
          f"throughput >= 1.5x: {'met' if ours['rps'] >= 1.5 * plain['rps'] else 'NOT met'} "
          f"({ours['rps'] / plain['rps']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
