"""``kfp-mlops models list|show|promote|rollback`` through the real argument parser."""
from __future__ import annotations

import argparse
import json
import shutil

import pytest
from registry_models import make_model

from kfp_mlops.components.registry import open_registry
from kfp_mlops.pipelines.cli import models


def run(argv: list[str]) -> int:
    """Parses like the ``kfp-mlops`` entry point does, with only the ``models`` command."""
    parser = argparse.ArgumentParser(prog="kfp-mlops")
    models.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def registry(tmp_path, isolated_home):
    """Three versions of 'iris' in the default registry ($KFP_MLOPS_HOME/registry), v1 then v2 promoted."""
    registry = open_registry(str(isolated_home / "registry"))
    for seed in range(3):
        registry.register(str(make_model(tmp_path / f"m{seed}", seed)), "iris", {"accuracy": 0.9 + seed / 100})
    registry.promote("iris", "v1")
    registry.promote("iris", "v2")
    return registry


def test_list_and_show(registry, capsys):
    assert run(["models", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 4 and "champion" in table[2] and "accuracy=0.9100" in table[2]
    assert run(["models", "list", "iris", "--json"]) == 0
    assert [v["version"] for v in json.loads(capsys.readouterr().out)] == ["v1", "v2", "v3"]
    assert run(["models", "show", "iris"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == "v2" and shown["aliases"] == ["champion"] and len(shown["sha256"]) == 64
    assert shown["lineage"] == {"model_sha256": shown["sha256"]} and shown["metrics"] == {"accuracy": 0.91}
    assert run(["models", "show", "iris", "challenger", "--verify"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "v3"


def test_promote_and_rollback(registry, capsys):
    assert run(["models", "promote", "iris", "v3"]) == 0
    assert capsys.readouterr().out.strip() == "iris v3 is now champion"
    assert run(["models", "promote", "iris", "v1", "--alias", "staging"]) == 0
    assert registry.get("iris", "staging").version == "v1"
    assert run(["models", "rollback", "iris"]) == 0
    assert capsys.readouterr().out.strip().endswith("champion is now v2")
    assert registry.get("iris").version == "v2"


def test_errors_are_one_line_with_exit_code_2(registry, tmp_path, capsys):
    cases = [
        (["models", "show", "nope"], "'nope' is not in the registry"),
        (["models", "promote", "iris", "v7"], "no version 'v7'"),
        (["models", "show", "iris", "staging"], "no alias 'staging'"),
        (["models", "list", "--registry", "vertex://p"], "vertex://PROJECT/LOCATION"),
    ]
    for argv, message in cases:
        assert run(argv) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1
    assert run(["models", "rollback", "iris"]) == 0 and run(["models", "rollback", "iris"]) == 2
    assert "no previous champion" in capsys.readouterr().err
    shutil.copy(tmp_path / "m0" / "model.skops", registry.get("iris", "v3").path + "/model.skops")
    assert run(["models", "show", "iris", "v3", "--verify"]) == 2
    assert "sha256 mismatch" in capsys.readouterr().err


def test_registry_option_and_empty_registry(tmp_path, capsys):
    assert run(["models", "list", "--registry", str(tmp_path / "none")]) == 0
    assert "no models registered" in capsys.readouterr().out


def test_history_shows_who_moved_the_champion_when_and_why(registry, capsys, monkeypatch):
    monkeypatch.setenv("KFP_MLOPS_ACTOR", "ana@example.com")
    assert run(["models", "promote", "iris", "v3", "--reason", "hotfix for the Q4 data"]) == 0
    assert run(["models", "rollback", "iris"]) == 0
    capsys.readouterr()
    assert run(["models", "history", "iris", "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [(e["action"], e["from_version"], e["to_version"]) for e in events] == [
        ("promote", "", "v1"), ("promote", "v1", "v2"), ("promote", "v2", "v3"), ("rollback", "v3", "v2")]
    assert events[2]["actor"] == "ana@example.com" and events[2]["reason"] == "hotfix for the Q4 data"
    assert events[3]["reason"] == "rolled back by hand"
    assert run(["models", "history", "iris"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 5 and "rollback" in table[4] and "ana@example.com" in table[4]
    assert run(["models", "history", "nope"]) == 2
    assert "'nope' is not in the registry" in capsys.readouterr().err
