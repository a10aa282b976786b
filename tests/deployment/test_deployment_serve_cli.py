"""``kfp-mlops serve`` in a real subprocess: starts, answers, stops on SIGTERM; bad input exits 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.deployment.local import read_deployments, record_deployment, resolve_served_model

ROW = {"island": "Dream", "bill_length_mm": 50.0, "bill_depth_mm": 19.0, "flipper_length_mm": 198.0,
       "body_mass_g": 3800.0, "sex": "female", "year": 2009}

# Runs the subcommand through its register() the way pipelines/cli/main.py does.
DRIVER = """
import argparse, sys
from kfp_mlops.pipelines.cli import serve
parser = argparse.ArgumentParser(prog="kfp-mlops")
serve.register(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args(sys.argv[1:])
try:
    sys.exit(args.func(args))
except ValueError as error:
    print(f"kfp-mlops: error: {error}", file=sys.stderr)
    sys.exit(2)
"""


def run_serve(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DRIVER, "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})


def wait_for_url(process: subprocess.Popen, timeout: float = 60.0) -> str:
    """Reads the server's output (bounded) until it prints its URL."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if "Serving model" in line:
            return line.split(" on ", 1)[1].strip()
    raise AssertionError("server did not start:\n" + "".join(lines))


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    rest, _ = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says why it stopped.
    assert process.returncode in (0, -15) and "Traceback" not in rest


def test_serve_model_dir_answers_and_stops_on_sigterm(penguin_model_dir):
    process = run_serve("--model-dir", str(penguin_model_dir), "--name", "penguins", "--port", "0")
    try:
        url = wait_for_url(process)
        assert url.startswith("http://127.0.0.1:")
        assert post(f"{url}/v1/models/penguins:predict", {"instances": [ROW]}) == (200, {"predictions": ["Chinstrap"]})
    finally:
        stop(process)


def post_any(url: str, body: dict) -> tuple[int, dict]:
    try:
        return post(url, body)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_answers_big_requests_in_its_worker_process(penguin_model_dir):
    """Bodies over 256 KiB go to a forked worker process: same answers, same 400s, every protocol."""
    process = run_serve("--model-dir", str(penguin_model_dir), "--name", "penguins", "--port", "0")
    rows = [ROW, {**ROW, "island": "Biscoe", "body_mass_g": 5400.0, "flipper_length_mm": 220.0}] * 1500
    try:
        url = wait_for_url(process)
        status, body = post_any(f"{url}/v1/models/penguins:predict", {"instances": rows})
        assert status == 200 and body["predictions"] == ["Chinstrap", "Gentoo"] * 1500
        status, body = post_any(f"{url}/predict", {"instances": rows, "parameters": {"probabilities": True}})
        assert status == 200 and [p["prediction"] for p in body["predictions"]] == ["Chinstrap", "Gentoo"] * 1500
        names = list(ROW)
        tensor = {"inputs": [{"name": "rows", "shape": [len(rows), 7], "datatype": "BYTES",
                              "data": [[row[n] for n in names] for row in rows]}]}
        status, body = post_any(f"{url}/v2/models/penguins/infer", tensor)
        assert status == 200 and body["outputs"][0]["data"] == ["Chinstrap", "Gentoo"] * 1500
        bad = rows[:2999] + [{**ROW, "bill_length_mm": "abc"}]
        status, body = post_any(f"{url}/v1/models/penguins:predict", {"instances": bad})
        assert status == 400 and "'bill_length_mm' expects a number, got 'abc' in row 2999" in body["error"]
        assert post(f"{url}/v1/models/penguins:predict", {"instances": [ROW]}) == (200, {"predictions": ["Chinstrap"]})
    finally:
        stop(process)


def test_serve_with_two_worker_processes(penguin_model_dir):
    import psutil

    process = run_serve("--model-dir", str(penguin_model_dir), "--name", "penguins", "--port", "0", "--workers", "2")
    try:
        url = wait_for_url(process)
        deadline = time.monotonic() + 10
        while len(psutil.Process(process.pid).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = psutil.Process(process.pid).children()
        assert len(workers) == 2
        for _ in range(10):
            assert post(f"{url}/v1/models/penguins:predict", {"instances": [ROW]}) == (200, {"predictions": ["Chinstrap"]})
    finally:
        stop(process)
    assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in workers)


def test_serve_follows_the_vertex_container_contract(penguin_model_dir):
    """No flags: the model comes from AIP_STORAGE_URI, the port and routes from AIP_* variables."""
    process = run_serve(env={"AIP_STORAGE_URI": str(penguin_model_dir), "AIP_HTTP_PORT": "0",
                             "AIP_PREDICT_ROUTE": "/v1/endpoints/7/deployedModels/9:predict",
                             "AIP_HEALTH_ROUTE": "/v1/endpoints/7/deployedModels/9"})
    try:
        url = wait_for_url(process)
        with urllib.request.urlopen(f"{url}/v1/endpoints/7/deployedModels/9", timeout=10) as response:
            assert response.status == 200
        status, body = post(f"{url}/v1/endpoints/7/deployedModels/9:predict", {"instances": [ROW, ROW]})
        assert status == 200 and body["predictions"] == ["Chinstrap", "Chinstrap"]
    finally:
        stop(process)


def test_serve_bad_input_exits_2(tmp_path):
    process = run_serve("--model-dir", str(tmp_path / "nowhere"))
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2 and "model directory not found" in output


def test_serve_refuses_a_network_bind_without_a_token(penguin_model_dir):
    process = run_serve("--model-dir", str(penguin_model_dir), "--host", "0.0.0.0", "--port", "0")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2 and "exposes the endpoint beyond this machine" in output
    process = run_serve("--model-dir", str(penguin_model_dir), "--auth-token-env", "KFP_MLOPS_TEST_NO_SUCH_VAR")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2 and "KFP_MLOPS_TEST_NO_SUCH_VAR is not set" in output


def test_deployments_record_and_name_inference(tmp_path):
    assert read_deployments(tmp_path) == {}
    record = record_deployment(tmp_path, "penguins", "v2", "/models/penguins/v2", "abc")
    assert read_deployments(tmp_path)["penguins"]["version"] == "v2" and record["deployed_at"].endswith("Z")
    record_deployment(tmp_path, "penguins", "v3")
    assert read_deployments(tmp_path)["penguins"]["version"] == "v3"
    record_deployment(tmp_path, "iris", "v1")
    with pytest.raises(InputError, match="--name.*models: iris, penguins"):
        resolve_served_model(tmp_path)
    (tmp_path / "deployments.json").write_text("[1]")
    with pytest.raises(InputError, match="JSON object"):
        read_deployments(tmp_path)


def test_serve_token_flags(monkeypatch):
    import argparse

    from kfp_mlops.pipelines.cli import serve

    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers(dest="command"))
    monkeypatch.setenv("MY_TOKEN", "t0ken")
    security = serve._security(parser.parse_args(["serve", "--auth-token-env", "MY_TOKEN"]))
    assert security.token == "t0ken" and not security.allow_unauthenticated and not security.enable_repository
    monkeypatch.setenv(serve.TOKEN_ENV, "from-default-var")
    assert serve._security(parser.parse_args(["serve"])).token == "from-default-var"
    flags = serve._security(parser.parse_args(["serve", "--allow-unauthenticated", "--enable-model-repository"]))
    assert flags.allow_unauthenticated and flags.enable_repository
