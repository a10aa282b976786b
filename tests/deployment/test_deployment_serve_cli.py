"""``kfp-mlops serve`` in a real subprocess: starts, answers, stops on SIGTERM; bad input exits 2."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from kfp_mlops.components.deployment.local import read_deployments, record_deployment, resolve_served_model
from kfp_mlops.components.errors import InputError

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


def run_serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DRIVER, "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_serve_model_dir_answers_and_stops_on_sigterm(penguin_model_dir):
    process = run_serve("--model-dir", str(penguin_model_dir), "--name", "penguins", "--port", "0")
    try:
        url, lines, deadline = "", [], time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
            if line.startswith("Serving model"):
                url = line.split(" on ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:"), "".join(lines)
        row = {"island": "Dream", "bill_length_mm": 50.0, "bill_depth_mm": 19.0, "flipper_length_mm": 198.0,
               "body_mass_g": 3800.0, "sex": "female", "year": 2009}
        request = urllib.request.Request(f"{url}/v1/models/penguins:predict", method="POST",
                                         data=json.dumps({"instances": [row]}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["predictions"] == ["Chinstrap"]
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says why it stopped.
    assert process.returncode in (0, -15) and "Traceback" not in rest


def test_serve_bad_input_exits_2(tmp_path):
    process = run_serve("--model-dir", str(tmp_path / "nowhere"))
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2 and "model directory not found" in output


def test_deployments_record_and_name_inference(tmp_path):
    assert read_deployments(tmp_path) == {}
    record = record_deployment(tmp_path, "penguins", "v2", "/models/penguins/v2", "abc")
    assert read_deployments(tmp_path)["penguins"]["version"] == "v2" and record["deployed_at"].endswith("Z")
    record_deployment(tmp_path, "penguins", "v3")
    assert read_deployments(tmp_path)["penguins"]["version"] == "v3"
    record_deployment(tmp_path, "iris", "v1")
    with pytest.raises(InputError, match="--name.*iris, penguins"):
        resolve_served_model(tmp_path)
    (tmp_path / "deployments.json").write_text("[1]")
    with pytest.raises(InputError, match="JSON object"):
        read_deployments(tmp_path)
