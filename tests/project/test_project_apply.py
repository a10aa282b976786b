"""`kfp-mlops plan / apply / status` on the example fleet, locally: real pipeline runs, an idempotent apply."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from kfp_mlops.components.registry import open_registry
from kfp_mlops.pipelines.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[2] / "pipelines" / "project" / "examples" / "fleet.yaml"


def _example(tmp_path: Path, edit=None) -> Path:
    document = yaml.safe_load(EXAMPLE.read_text())
    document["registry"] = "registry"
    if edit:
        edit(document)
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _status(path: Path, capsys) -> dict[str, dict]:
    capsys.readouterr()
    assert main(["status", str(path), "--json"]) == 0
    return {row["deployment"]: row for row in json.loads(capsys.readouterr().out)}


def test_apply_one_model_is_idempotent_and_status_reports_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KFP_MLOPS_ACTOR", "fleet-ci@example.com")
    path = _example(tmp_path)
    assert main(["plan", str(path), "--detailed-exitcode"]) == 2  # changes pending
    assert main(["apply", str(path), "--only", "breast-cancer"]) == 0  # the cheapest model: a logistic regression
    out = capsys.readouterr().out
    assert "ok     breast-cancer@local" in out and "v1 promoted to champion" in out
    champion = open_registry(str(tmp_path / "registry")).get("breast-cancer")
    assert champion.version == "v1" and champion.metrics["roc_auc"] >= 0.95
    [promotion] = open_registry(str(tmp_path / "registry")).history("breast-cancer")  # audited, with the gate's why
    assert promotion.actor == "fleet-ci@example.com" and promotion.reason.startswith("blessed: ")

    assert main(["plan", str(path), "--json"]) == 0
    actions = {c["deployment"]: c["action"] for c in json.loads(capsys.readouterr().out)}
    assert actions == {"penguins@local": "create", "diabetes@local": "create", "breast-cancer@local": "unchanged"}
    assert main(["apply", str(path), "--only", "breast-cancer"]) == 0  # nothing changed: nothing runs
    assert "No changes" in capsys.readouterr().out
    assert [v.version for v in open_registry(str(tmp_path / "registry")).list("breast-cancer")] == ["v1"]

    # Only the monitoring schedule changes: no retraining, the new schedule is recorded.
    path = _example(tmp_path, lambda d: d["models"][2]["monitoring"].update(schedule="15 2 * * *"))
    assert main(["apply", str(path), "--only", "breast-cancer"]) == 0
    assert "schedule: schedules recorded" in capsys.readouterr().out
    assert len(open_registry(str(tmp_path / "registry")).list("breast-cancer")) == 1
    rows = _status(path, capsys)
    cancer = rows["breast-cancer@local"]
    assert cancer["champion"].startswith("v1 (") and " ok, v1 promoted" in cancer["last_run"]
    assert cancer["next_run"].endswith(" 02:15 UTC (monitoring)") and cancer["pending"] == ""
    assert rows["penguins@local"] == {"deployment": "penguins@local", "champion": "none", "last_run": "never",
                                      "drift": "-", "next_run": "none", "pending": "create"}
    assert main(["status", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["deployment", "champion", "last", "run", "last", "drift", "verdict", "next",
                                "scheduled", "run", "pending"]
    assert len(table) == 4


@pytest.mark.slow  # three training pipelines and a monitoring run
def test_the_example_fleet_plans_applies_and_reports_status(tmp_path, capsys):
    path = _example(tmp_path)
    assert main(["plan", str(path)]) == 0
    assert "Plan: 3 to create" in capsys.readouterr().out
    assert main(["apply", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Apply: 3 applied, 0 failed." in out and "monitoring: no drift" in out
    registry = open_registry(str(tmp_path / "registry"))
    assert {v.name: v.version for v in registry.list() if "champion" in v.aliases} == {
        "penguins": "v1", "diabetes": "v1", "breast-cancer": "v1"}
    assert registry.get("diabetes").metrics["rmse"] <= 70  # regression, with its own gate
    assert main(["apply", str(path)]) == 0 and "No changes" in capsys.readouterr().out
    rows = _status(path, capsys)
    assert all(row["last_run"].endswith("ok, v1 promoted") for row in rows.values())
    assert rows["penguins@local"]["drift"].startswith("no drift")
    assert rows["diabetes@local"]["drift"] == "-"
    next_monday = rows["diabetes@local"]["next_run"]  # the Paris-time training schedule, or the hourly monitoring
    assert next_monday.endswith(("(monitoring)", "(training)"))
    assert datetime.strptime(rows["penguins@local"]["next_run"][:16], "%Y-%m-%d %H:%M").replace(
        tzinfo=UTC) > datetime.now(UTC)
