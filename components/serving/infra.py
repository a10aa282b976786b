"""Infra validation: serve the candidate model for real and check its answers before promotion.

Like TFX's InfraValidator, but on loopback: the candidate is loaded into the
same endpoint the user will run (:mod:`.server`), real rows from the eval split
go through the V1 and V2 routes, and every answer must be HTTP 200, have one
prediction per row, and equal the model's in-process predictions.
"""
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlops.components.core import payloads
from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.core.tables import read_examples
from kfp_mlops.components.serving.server import start_local_endpoint

logger = logging.getLogger(__name__)

V2_DATATYPES = {"string": "BYTES", "date": "BYTES", "bool": "BOOL"}


@dataclass
class InfraReport:
    """What infra validation found.

    Attributes:
        passed: True when every check passed.
        checks: One line per check, ``"ok: ..."`` or ``"FAILED: ..."``.
        rows: Rows sent.
        startup_seconds: Time for the server to start and load the model.
    """

    passed: bool = True
    checks: list[str] = field(default_factory=list)
    rows: int = 0
    startup_seconds: float = 0.0

    def check(self, ok: bool, what: str) -> None:
        """Records one check."""
        self.passed = self.passed and ok
        self.checks.append(f"{'ok' if ok else 'FAILED'}: {what}")
        logger.info(f"  infra validation {'ok' if ok else 'FAILED'}: {what}")


def post_json(url: str, body: Any, timeout: float = 30.0) -> tuple[int, Any]:
    """POSTs JSON and returns ``(status, parsed body)``; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            return error.code, json.loads(text)
        except json.JSONDecodeError:
            return error.code, text


def _field(body: Any, name: str) -> list[Any]:
    return body.get(name, []) if isinstance(body, dict) else []


def same_predictions(got: list[Any], want: np.ndarray) -> bool:
    """Whether served predictions equal in-process ones (floats to 1e-6 relative)."""
    want_list = np.asarray(want).tolist()
    if len(got) != len(want_list):
        return False
    if np.asarray(want).dtype.kind == "f":
        return bool(np.allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=1e-6, equal_nan=True))
    return got == want_list




def validate_serving(model_dir: str | Path, examples_path: str | Path, label: str, max_examples: int = 20,
                     name: str = "candidate") -> InfraReport:
    """Starts an endpoint on the candidate, sends real eval rows, and checks the answers.

    Args:
        model_dir: The candidate model directory.
        examples_path: The eval split CSV (header row; the label column is dropped).
        label: The label column's name.
        max_examples: Rows to send.
        name: The model's name in the routes.

    Returns:
        An :class:`InfraReport`; ``passed`` is False when the server did not
        start, answered with an error, or answered differently from the model.

    Raises:
        InputError: If the examples file is missing or lacks a feature column.
    """
    predictor = load_model(model_dir)
    frame = predictor.contract.check_frame(read_examples(examples_path, label, max_examples))
    want = predictor.predict(frame)
    instances = payloads.frame_records(frame, predictor.contract.feature_names)
    report = InfraReport(rows=len(instances))
    started = time.monotonic()
    try:
        endpoint = start_local_endpoint(model_dir, name)
    except (RuntimeError, OSError) as error:
        report.check(False, f"server start: {error}")
        return report
    report.startup_seconds = round(time.monotonic() - started, 3)
    report.check(True, f"server started on {endpoint.url} in {report.startup_seconds:.2f} s")
    try:
        with urllib.request.urlopen(f"{endpoint.url}/v2/models/{name}/ready", timeout=10) as response:
            report.check(response.status == 200, "model ready")
        status, body = post_json(endpoint.v1_predict_url, {"instances": instances})
        got = _field(body, "predictions")
        report.check(status == 200, f"V1 predict of {len(instances)} rows: HTTP {status}"
                     + ("" if status == 200 else f" {body}"))
        report.check(len(got) == len(instances), f"V1 answer has {len(got)} predictions for {len(instances)} rows")
        report.check(same_predictions(got, want), "V1 predictions equal in-process predictions")
        inputs = [{"name": f.name, "shape": [len(instances)], "datatype": V2_DATATYPES.get(f.dtype, "FP64"),
                   "data": [row[f.name] for row in instances]} for f in predictor.contract.features]
        status, body = post_json(endpoint.v2_infer_url, {"id": "infra-validation", "inputs": inputs})
        outputs = _field(body, "outputs") or [{}]
        report.check(status == 200, f"V2 infer of {len(instances)} rows: HTTP {status}"
                     + ("" if status == 200 else f" {body}"))
        report.check(same_predictions(outputs[0].get("data", []), want), "V2 predictions equal in-process predictions")
        status, body = post_json(endpoint.v1_predict_url, {"instances": instances[:1]})
        report.check(status == 200 and same_predictions(_field(body, "predictions"), want[:1]), "one-row predict")
    except (OSError, ValueError) as error:
        report.check(False, f"request failed: {error}")
    finally:
        endpoint.stop()
    return report


def write_report(report: InfraReport, path: str | Path) -> None:
    """Writes the report as JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(asdict(report), indent=2))
