"""Triggers the ``training`` pipeline on a new data window, through the CLI, at most once per window.

The trigger runs ``kfp-mlops run training`` (target ``local``) or
``kfp-mlops submit training`` (``vertex``, ``kfp``) in a fresh process: the same
path a user takes, and one that works from inside a pipeline task, whose
``_KFP_RUNTIME`` environment leaves only kfp's runtime half importable. The CLI
writes its outcome as JSON to a result file (``--result-file``), which the trigger
reads back as a typed :class:`RetrainingOutcome`.

A ledger (:class:`RetrainingLedger`, a JSON file under a file lock) deduplicates:
a window whose retraining is running, or finished less than ``cooldown_seconds``
ago, is not retrained again, and neither is a model retrained less than
``cooldown_seconds`` ago on another window.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

RESULT_PREFIX = "kfp-mlops-result: "
LEDGER_NAME = "retraining-ledger.json"


@dataclass(frozen=True)
class RetrainingOutcome:
    """What a retraining trigger did.

    Attributes:
        status: ``promoted``, ``registered`` (not promoted), ``stopped`` (a gate stopped the
            new model), ``submitted`` (a remote run was started) or ``skipped`` (deduplicated).
        model_name: The model retrained.
        version: The registered version, if any.
        stopped_by: What stopped the new model (``evaluation gate``, ...), if anything.
        detail: The remote run's name, or why the trigger skipped.
    """

    status: str
    model_name: str
    version: str | None = None
    stopped_by: str | None = None
    detail: str = ""

    def line(self) -> str:
        """The outcome in one line, for logs and reports."""
        if self.status == "promoted":
            return f"retrained: {self.model_name} {self.version} registered and promoted to champion"
        if self.status == "registered":
            return f"retrained: {self.model_name} {self.version} registered; not promoted ({self.stopped_by})"
        if self.status == "stopped":
            return (f"retrained: the new model was not registered ({self.stopped_by or 'gate'}); "
                    "the champion is unchanged")
        if self.status == "submitted":
            return f"submitted: {self.detail}"
        return f"skipped: {self.detail}"


def training_command(target: str, parameters: dict[str, Any], submit_options: dict[str, Any] | None = None,
                     result_file: str = "") -> list[str]:
    """Returns the CLI command that starts a training run.

    Args:
        target: ``local``, or a compiled target (``vertex``, ``kfp``): submitted.
        parameters: ``data_path``, ``label``, ``model_name``, ``registry_uri`` and
            other training pipeline parameters.
        submit_options: Remote targets: CLI options of ``kfp-mlops submit``
            (``project``, ``region``, ``pipeline_root``, ``host``, ...).
        result_file: Where the CLI writes its outcome as JSON.

    Raises:
        ValueError: For no data window.
    """
    if not parameters.get("data_path"):
        raise ValueError("no new data window to retrain on: pass new_data_path / --new-data")
    base = [sys.executable, "-m", "kfp_mlops.pipelines.cli.main"]
    tail = ["--result-file", result_file] if result_file else []
    if target == "local":
        command = base + ["run", "training", "--data", parameters["data_path"]]
        for key, flag in (("label", "--label"), ("model_name", "--model-name"), ("registry_uri", "--registry")):
            if parameters.get(key):
                command += [flag, str(parameters[key])]
        return command + tail
    command = base + ["submit", "training", "--target", target]
    for key, value in (submit_options or {}).items():
        flag = f"--{key.replace('_', '-')}"
        if isinstance(value, bool):  # store_true flags such as --wait and --no-cache
            command += [flag] if value else []
        else:
            command += [flag, str(value)]
    for key, value in parameters.items():
        command += ["--param", f"{key}={json.dumps(value) if isinstance(value, (dict, list)) else value}"]
    return command + tail


def window_key(model_name: str, data_path: str) -> str:
    """Identifies a retraining window: the model, the data's path and, for a local file, its content."""
    digest = hashlib.sha256(f"{model_name}\0{data_path}".encode())
    path = Path(data_path)
    if "://" not in data_path and path.is_file():
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:32]


class RetrainingLedger:
    """The retrainings started per model and window, in a JSON file shared by every trigger.

    Args:
        path: The ledger file (a local path; on Vertex AI a ``/gcs/BUCKET/...`` path).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def _read(self) -> list[dict[str, Any]]:
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, json.JSONDecodeError) as error:
            raise RuntimeError(f"{self.path}: the retraining ledger is not readable JSON ({error})") from None
        if not isinstance(entries, list):
            raise RuntimeError(f"{self.path}: the retraining ledger is not a JSON list")
        return entries

    def _write(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(entries[-1000:], out, indent=1)
        os.replace(temporary, self.path)

    def claim(self, model_name: str, key: str, cooldown_seconds: float, now: float | None = None) -> str | None:
        """Records a retraining as started, unless a running or recent one forbids it.

        Returns:
            None when claimed; otherwise why not, in one line.
        """
        from filelock import FileLock

        now = time.time() if now is None else now
        with FileLock(str(self.path) + ".lock", timeout=60):
            entries = self._read()
            for entry in reversed(entries):
                if entry["model_name"] != model_name:
                    continue
                age = now - entry["started"]
                same = entry["window"] == key
                if same and entry.get("finished") is None and age < 24 * 3600:
                    return f"a retraining of {model_name} on this window is running (started {age:.0f} s ago)"
                if age < cooldown_seconds:
                    what = "this window" if same else "another window"
                    return (f"{model_name} was retrained on {what} {age:.0f} s ago "
                            f"(cooldown {cooldown_seconds:.0f} s)")
            entries.append({"model_name": model_name, "window": key, "started": now, "finished": None})
            self._write(entries)
        return None

    def finish(self, model_name: str, key: str, outcome: RetrainingOutcome | None) -> None:
        """Marks the retraining as finished, with its outcome (None: it failed)."""
        from filelock import FileLock

        with FileLock(str(self.path) + ".lock", timeout=60):
            entries = self._read()
            for entry in reversed(entries):
                if entry["model_name"] == model_name and entry["window"] == key and entry.get("finished") is None:
                    entry["finished"] = time.time()
                    entry["outcome"] = asdict(outcome) if outcome else {"status": "failed"}
                    break
            self._write(entries)


def default_ledger_path(registry_uri: str) -> str:
    """The ledger next to a local registry; '' for a remote registry (give a ledger path then)."""
    return "" if "://" in registry_uri or not registry_uri else str(Path(registry_uri) / LEDGER_NAME)


def trigger_training(target: str, parameters: dict[str, Any], submit_options: dict[str, Any] | None = None,
                     ledger_path: str = "", cooldown_seconds: float = 3600.0) -> RetrainingOutcome:
    """Starts a training run through the CLI, once per window, and returns its outcome.

    Args:
        target: ``local``, ``vertex`` or ``kfp``.
        parameters: Training pipeline parameters (``data_path``, ``label``, ``model_name``, ``registry_uri``).
        submit_options: Remote targets: CLI options of ``kfp-mlops submit``.
        ledger_path: The retraining ledger; empty: next to a local registry, or no deduplication.
        cooldown_seconds: No second retraining of the model within this time.

    Raises:
        RuntimeError: When the run could not start or failed; a gate that stops
            the new model is an outcome, not a failure.
    """
    model_name = str(parameters.get("model_name") or "")
    ledger_file = ledger_path or default_ledger_path(str(parameters.get("registry_uri") or ""))
    ledger = RetrainingLedger(ledger_file) if ledger_file else None
    key = window_key(model_name, str(parameters.get("data_path") or ""))
    if ledger is not None:
        reason = ledger.claim(model_name, key, cooldown_seconds)
        if reason:
            return RetrainingOutcome("skipped", model_name, detail=reason)
    outcome = None
    try:
        outcome = _run(target, parameters, submit_options, model_name)
        return outcome
    finally:
        if ledger is not None:
            ledger.finish(model_name, key, outcome)


def _run(target: str, parameters: dict[str, Any], submit_options: dict[str, Any] | None,
         model_name: str) -> RetrainingOutcome:
    with tempfile.TemporaryDirectory(prefix="kfp-mlops-retrain-") as folder:
        result_file = str(Path(folder) / "result.json")
        command = training_command(target, parameters, submit_options, result_file)
        env = {key: value for key, value in os.environ.items() if key != "_KFP_RUNTIME"}
        logger.info("" + " ".join(command[2:]))
        lines: list[str] = []
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as child:
            for line in child.stdout or ():  # the run's own progress, as it happens
                lines.append(line.rstrip("\n"))
                logger.info(f"{lines[-1]}")
        result = json.loads(Path(result_file).read_text()) if Path(result_file).is_file() else None
    if child.returncode not in (0, 1) or result is None:
        cause = ([line for line in lines if line.strip()] or ["no output"])[-1]
        raise RuntimeError(f"retraining run failed (exit {child.returncode}): {cause}")
    if target != "local":
        return RetrainingOutcome("submitted", model_name, detail=result.get("run_name") or result.get("schedule_name")
                                 or "")
    if result.get("promoted"):
        return RetrainingOutcome("promoted", result["model_name"], result["version"])
    if result.get("version"):
        return RetrainingOutcome("registered", result["model_name"], result["version"], result.get("stopped_by"))
    return RetrainingOutcome("stopped", result["model_name"], stopped_by=result.get("stopped_by"))
