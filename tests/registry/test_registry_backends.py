"""The registry suite every backend passes (a local folder, and MLflow on a real tracking server):
versions, idempotency, aliases, promote, rollback, lineage, the audit trail, sha256-checked load."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from registry_models import iris_frame, make_model

from kfp_mlops.components.core.artifacts import sha256_tree
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.registry import ChecksumError, build_lineage, open_registry
from kfp_mlops.components.registry.local import LocalRegistry


def test_register_copies_the_model_and_records_everything(tmp_path, registry):
    model = make_model(tmp_path / "m0")
    data = tmp_path / "train.csv"
    iris_frame().to_csv(data, index=False)
    lineage = build_lineage(data, None, "run-42")
    version = registry.register(str(model), "iris", {"accuracy": 0.97}, lineage)
    assert version.version == "v1" and version.aliases == ["challenger"]
    assert version.sha256 == sha256_tree(model) == sha256_tree(registry.local_dir(version))
    assert version.metrics == {"accuracy": 0.97}
    assert version.lineage["dataset_sha256"] == sha256_tree(data)
    assert version.lineage["schema_sha256"] == "" and version.lineage["pipeline_run_id"] == "run-42"
    assert version.lineage["model_sha256"] == version.sha256
    import kfp_mlops.components.registry as package

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(package.__file__).parent, capture_output=True,
                          text=True, check=False).stdout.strip()
    assert version.lineage["git_commit"] == (head or "unknown")
    assert version.created_at.endswith("+00:00")
    assert registry.get("iris", "v1") == version
    if isinstance(registry, LocalRegistry):
        assert version.path == str(tmp_path / "registry" / "iris" / "v1")
        index = json.loads((tmp_path / "registry" / "index.json").read_text())
        assert index["models"]["iris"]["versions"][0]["path"] == "iris/v1"  # relative: the folder can move


def test_same_files_register_once(tmp_path, registry):
    model = make_model(tmp_path / "m0")
    first = registry.register(str(model), "iris")
    again = registry.register(str(model), "iris", {"accuracy": 0.5})
    assert again.version == first.version and again.metrics == first.metrics
    copy = shutil.copytree(model, tmp_path / "copy")  # same bytes elsewhere: still the same version
    assert registry.register(str(copy), "iris").version == "v1"
    assert registry.register(str(make_model(tmp_path / "m1", seed=1)), "iris").version == "v2"
    assert [v.version for v in registry.list("iris")] == ["v1", "v2"]


def test_aliases_promote_and_rollback(tmp_path, registry):
    for seed in range(3):
        registry.register(str(make_model(tmp_path / f"m{seed}", seed)), "iris")
    assert registry.get("iris", "challenger").version == "v3"  # the alias moves to the newest
    assert not registry.has("iris", "champion")
    registry.promote("iris", "v1")
    registry.promote("iris", "2")
    assert registry.promote("iris", "v3").aliases == ["challenger", "champion"]
    assert registry.get("iris", "v1").aliases == []
    assert registry.rollback("iris").version == "v2"
    assert registry.get("iris").version == "v2"
    assert registry.rollback("iris").version == "v1"
    with pytest.raises(InputError, match="no previous champion"):
        registry.rollback("iris")


def test_errors_name_what_is_wrong(tmp_path, registry):
    with pytest.raises(InputError, match="'iris' is not in the registry"):
        registry.get("iris")
    registry.register(str(make_model(tmp_path / "m0")), "iris")
    with pytest.raises(InputError, match="no version 'v9'"):
        registry.get("iris", "v9")
    with pytest.raises(InputError, match="no alias 'champion'"):
        registry.load("iris", "champion")
    with pytest.raises(InputError, match="model name"):
        registry.register(str(tmp_path / "m0"), "../escape")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="feature_contract.json"):
        registry.register(str(tmp_path / "empty"), "iris")
    with pytest.raises(InputError, match="empty"):
        open_registry("")
    with pytest.raises(InputError, match="vertex://PROJECT/LOCATION"):
        open_registry("vertex://only-project")
    with pytest.raises(InputError, match="mlflow\\+http://HOST:PORT"):
        open_registry("mlflow+http://")


def test_load_checks_sha256(tmp_path, registry):
    registry.register(str(make_model(tmp_path / "m0")), "iris")
    frame = iris_frame()
    predictions = registry.load("iris", "v1").predict(frame)
    assert np.mean(predictions == frame["target"].to_numpy()) > 0.9
    stored = registry.local_dir(registry.get("iris", "v1"))
    shutil.copy(make_model(tmp_path / "m1", seed=1) / "model.skops", f"{stored}/model.skops")
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        registry.load("iris", "v1")
    Path(stored, "model.skops").unlink()
    with pytest.raises(ChecksumError):
        registry.load("iris", "v1")


def test_promotions_rollbacks_and_approvals_are_audited(tmp_path, registry, monkeypatch):
    monkeypatch.setenv("KFP_MLOPS_ACTOR", "pipelines@proj.iam.gserviceaccount.com")
    for seed in range(2):
        registry.register(str(make_model(tmp_path / f"m{seed}", seed)), "iris")
    assert registry.history("iris") == []
    registry.promote("iris", "v1", reason="beats the majority class")
    registry.promote("iris", "v2", reason="accuracy 0.97 >= champion 0.95")
    registry.promote("iris", "v2")  # already champion: nothing moves, nothing is recorded
    registry.rollback("iris", reason="latency regression", actor="oncall@example.com")
    approval = registry.approve("iris", "v2", "ana@example.com", reason="Q4 release")
    assert approval.from_version == "v1" and approval.to_version == "v2"
    history = registry.history("iris")
    assert [(e.action, e.alias, e.from_version, e.to_version) for e in history] == [
        ("promote", "champion", "", "v1"), ("promote", "champion", "v1", "v2"),
        ("rollback", "champion", "v2", "v1"), ("approve", "champion", "v1", "v2")]
    assert [e.actor for e in history] == ["pipelines@proj.iam.gserviceaccount.com"] * 2 + [
        "oncall@example.com", "ana@example.com"]
    assert history[1].reason == "accuracy 0.97 >= champion 0.95" and history[3].reason == "Q4 release"
    assert all(e.at.endswith("+00:00") for e in history) and history == sorted(history, key=lambda e: e.at)
    with pytest.raises(InputError, match="approver"):
        registry.approve("iris", "v2", "")


def test_a_refused_compare_and_swap_moves_nothing_and_records_nothing(tmp_path, registry):
    from kfp_mlops.components.registry import PromotionError

    first = registry.register(str(make_model(tmp_path / "m0")), "iris")
    second = registry.register(str(make_model(tmp_path / "m1", 1)), "iris")
    registry.promote("iris", first.version, expected="")
    with pytest.raises(PromotionError, match="champion is now v1, not none"):
        registry.promote("iris", second.version, expected="")
    assert registry.get("iris").version == "v1" and len(registry.history("iris")) == 1


def test_git_commit_comes_from_the_environment_when_set(monkeypatch):
    from kfp_mlops.components.registry.lineage import git_commit

    monkeypatch.setenv("KFP_MLOPS_GIT_COMMIT", "abc123")
    assert git_commit() == "abc123"


def test_gs_uri_opens_the_local_backend_on_its_fuse_path():
    assert open_registry("gs://bucket/registry").uri == "/gcs/bucket/registry"


def test_pin_names_exact_bytes_and_follows_the_champion(tmp_path, registry):
    assert registry.pin("iris") == ""  # no champion yet
    first = registry.register(str(make_model(tmp_path / "m0")), "iris")
    second = registry.register(str(make_model(tmp_path / "m1", seed=1)), "iris")
    registry.promote("iris", first.version)
    pin = registry.pin("iris")
    assert pin == f"v1@{first.sha256}"
    assert registry.get_pinned("iris", pin).version == "v1"
    registry.promote("iris", second.version)
    assert registry.pin("iris") == f"v2@{second.sha256}" != pin
    with pytest.raises(ChecksumError, match="is not the pinned"):
        registry.get_pinned("iris", f"v1@{second.sha256}")


def test_current_champion_component_returns_the_pin(tmp_path, registry):
    from kfp_mlops.components.registry.component import current_champion

    version = registry.register(str(make_model(tmp_path / "m0")), "iris")
    assert current_champion.python_func(registry.uri, "iris") == ""
    registry.promote("iris", version.version)
    assert current_champion.python_func(registry.uri, "iris") == f"v1@{version.sha256}"


def test_mlflow_keeps_aliases_lineage_tags_and_a_run_per_pipeline_run(tmp_path, mlflow_registry, capsys):
    registry, client = mlflow_registry, mlflow_registry.client
    data = tmp_path / "train.csv"
    iris_frame().to_csv(data, index=False)
    first = registry.register(str(make_model(tmp_path / "m0")), "iris", {"accuracy": 0.95},
                              build_lineage(data, None, "training-20261202"))
    second = registry.register(str(make_model(tmp_path / "m1", 1)), "iris", {"accuracy": 0.97},
                               build_lineage(data, None, "training-20261203"))
    registry.promote("iris", first.version)
    registry.promote("iris", second.version, reason="accuracy 0.97 beats 0.95")
    # What another MLflow user sees, through MLflow's own API:
    assert client.get_registered_model("iris").aliases == {"champion": "2", "challenger": "2"}
    info = client.get_model_version_by_alias("iris", "champion")
    assert info.tags["kfp_mlops.sha256"] == second.sha256
    assert info.tags["kfp_mlops.lineage.dataset_sha256"] == sha256_tree(data)
    assert info.tags["kfp_mlops.lineage.pipeline_run_id"] == "training-20261203"
    run = client.get_run(info.run_id)  # one MLflow run per pipeline run, with the metrics and the lineage
    assert run.info.run_name == "training-20261203" and run.data.metrics == {"accuracy": 0.97}
    assert run.data.tags["lineage.model_sha256"] == second.sha256
    assert client.get_run(first.resource_name).data.metrics == {"accuracy": 0.95}
    assert info.source.startswith("mlflow-artifacts:/") and first.resource_name != second.resource_name
    from kfp_mlops.pipelines.cli.main import main

    capsys.readouterr()
    assert main(["models", "history", "iris", "--registry", registry.uri, "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [(e["from_version"], e["to_version"], e["reason"]) for e in events] == [
        ("", "v1", ""), ("v1", "v2", "accuracy 0.97 beats 0.95")]
