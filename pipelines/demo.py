"""``kfp-mlops demo level2``: MLOps level 2 end to end, locally, in one command.

1. Train, gate, register and deploy a champion on the era-1 penguins.
2. Serve it on a local KServe endpoint that logs its predictions, and send it
   real HTTP traffic from era 2 (recalibrated instruments: a shifted distribution).
3. Run the monitoring pipeline on the prediction log: it detects the drift, sees
   the champion decay on newly labelled era-2 rows, and triggers retraining.
4. The retrained model passes the gate against the champion, is promoted and
   deployed, and the endpoint serves it.
"""
from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Callable

import pandas as pd

MODEL_NAME = "penguins"


def _post_rows(url: str, rows: list[dict]) -> list:
    request = urllib.request.Request(url, json.dumps({"instances": rows}).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["predictions"]


def _send_traffic(endpoint_url: str, frame: pd.DataFrame, batch: int = 10) -> list:
    """Sends ``frame`` to the V1 route in small requests and returns the predictions."""
    rows = json.loads(frame.to_json(orient="records"))
    predictions = []
    for start in range(0, len(rows), batch):
        predictions += _post_rows(endpoint_url, rows[start:start + batch])
    return predictions


def _serve_champion(registry_uri: str, log_dir: Path | None):
    """Starts the local endpoint on the registry's champion, logging predictions to ``log_dir``."""
    from kfp_mlops.components.monitoring.prediction_log import PredictionLogger, logged_predictor
    from kfp_mlops.components.registry import open_registry
    from kfp_mlops.components.serving.server import start_local_endpoint

    registry = open_registry(registry_uri)
    champion = registry.get(MODEL_NAME, "champion")
    predictor = registry.load(MODEL_NAME, champion.version)
    if log_dir is not None:
        predictor = logged_predictor(predictor, PredictionLogger(log_dir), champion.version)
    return start_local_endpoint(predictor, name=MODEL_NAME), champion


def run_level2_demo(workdir: str | Path, say: Callable[[str], None] = print) -> dict:
    """Runs the whole level-2 story in ``workdir`` and returns what happened.

    Args:
        workdir: A folder for the data, the runs and the registry (its own
            ``KFP_MLOPS_HOME``, so the demo never touches your registry).
        say: Receives the progress lines.

    Returns:
        The old and new champion versions with their metrics, and the outcome of each step.

    Raises:
        RuntimeError: When a step does not end the way the story needs.
    """
    workdir = Path(workdir).absolute()
    previous_home = os.environ.get("KFP_MLOPS_HOME")
    os.environ["KFP_MLOPS_HOME"] = str(workdir / "home")  # task subprocesses inherit it
    try:
        return _run_story(workdir, say)
    finally:
        if previous_home is None:
            os.environ.pop("KFP_MLOPS_HOME", None)
        else:
            os.environ["KFP_MLOPS_HOME"] = previous_home


def _run_story(workdir: Path, say: Callable[[str], None]) -> dict:
    """The five steps of :func:`run_level2_demo`, in ``workdir``."""
    from kfp_mlops.components.core.metrics import compute_metrics
    from kfp_mlops.components.registry import open_registry
    from kfp_mlops.pipelines.demo_data import write_level2_data
    from kfp_mlops.pipelines.monitoring import run_monitoring
    from kfp_mlops.pipelines.outcomes import MonitoringOutcome
    from kfp_mlops.pipelines.training import run_training

    started = time.perf_counter()
    registry_uri = str(workdir / "home" / "registry")
    logs = workdir / "home" / "logs"
    data = write_level2_data(workdir / "data")
    say(f"[1/5] data: era 1 {data.initial.name}; era-2 traffic {data.traffic.name}; era-2 labelled {data.fresh.name}")

    say("[2/5] training the first champion on era 1 ...")
    first = run_training(str(data.initial), data.label, model_name=MODEL_NAME, log_path=str(logs / "train-1.log"))
    if not first.outcome.promoted:
        raise RuntimeError(f"the first training run did not deploy a champion: {first.error or 'gate failed'}")
    registry = open_registry(registry_uri)
    old = registry.get(MODEL_NAME, "champion")
    say(f"      champion {old.version}: accuracy {old.metrics['accuracy']:.3f} on the era-1 test split")

    say("[3/5] serving the champion; sending era-2 traffic (shifted instruments) over HTTP ...")
    log_dir = workdir / "home" / "prediction-log"
    traffic = pd.read_csv(data.traffic)
    endpoint, _ = _serve_champion(registry_uri, log_dir)
    with endpoint:
        predictions = _send_traffic(endpoint.v1_predict_url, traffic)
    say(f"      {len(predictions)} predictions served by {old.version} and logged to {log_dir}")

    say("[4/5] monitoring the prediction log against the training baseline ...")
    monitor = MonitoringOutcome.from_run(run_monitoring(
        str(log_dir), str(data.initial), MODEL_NAME, label=data.label, new_data_path=str(data.fresh),
        log_path=str(logs / "monitoring.log")))
    if monitor.error:
        raise RuntimeError(f"monitoring failed: {monitor.error}")
    for line in monitor.report.splitlines():
        if line.startswith("- "):
            say(f"      {line[2:]}")
    if not monitor.trigger:
        raise RuntimeError("monitoring did not trigger retraining")
    say(f"      {monitor.trigger}")

    new = open_registry(registry_uri).get(MODEL_NAME, "champion")
    if new.version == old.version:
        raise RuntimeError(f"the champion did not change: {monitor.trigger}")
    truth = pd.read_csv(data.traffic_truth)  # the served traffic's labels, arriving later
    old_on_new = compute_metrics(registry.load(MODEL_NAME, old.version), truth, data.label)["accuracy"]
    new_on_new = compute_metrics(registry.load(MODEL_NAME, new.version), truth, data.label)["accuracy"]
    say("[5/5] serving the new champion ...")
    endpoint, served = _serve_champion(registry_uri, None)
    with endpoint:
        answers = _send_traffic(endpoint.v1_predict_url, truth.drop(columns=[data.label]))
    served_accuracy = float((pd.Series(answers) == truth[data.label]).mean())
    say(f"      endpoint now serves {served.version}: {served_accuracy:.1%} of {len(truth)} era-2 requests correct")
    summary = {
        "old_champion": {"version": old.version, "metrics": old.metrics, "era2_accuracy": old_on_new},
        "new_champion": {"version": new.version, "metrics": new.metrics, "era2_accuracy": new_on_new},
        "served_version": served.version,
        "retraining": monitor.trigger,
        "seconds": time.perf_counter() - started,
    }
    say(f"old champion {old.version}: test accuracy {old.metrics['accuracy']:.3f} (era 1); "
        f"{old_on_new:.3f} on the labelled era-2 traffic")
    say(f"new champion {new.version}: test accuracy {new.metrics['accuracy']:.3f} (era 2); "
        f"{new_on_new:.3f} on the labelled era-2 traffic")
    say(f"level-2 loop closed in {summary['seconds']:.0f} s")
    return summary
