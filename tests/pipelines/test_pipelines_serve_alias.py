"""`kfp-mlops serve` serves the alias asked for (champion by default), so it agrees with promote and rollback."""
import argparse
from pathlib import Path

from kfp_mlops.components.deployment.local import record_deployment
from kfp_mlops.components.registry import open_registry
from kfp_mlops.pipelines.cli.main import main
from kfp_mlops.pipelines.cli.serve import registry_model
from tests.registry.registry_models import iris_frame, make_model


def _three_champions(registry_dir: Path) -> None:
    registry = open_registry(str(registry_dir))
    for seed in (1, 2, 3):
        version = registry.register(str(make_model(registry_dir.parent / f"m{seed}", seed)), "iris")
        registry.promote("iris", version.version)
    deployed = registry.get("iris", "v3")  # what the pipeline's deploy step recorded, sha256 included
    record_deployment(registry_dir, "iris", "v3", deployed.path, deployed.sha256)


def test_serve_after_rollback_serves_the_rolled_back_champion(tmp_path, capsys):
    registry_dir = tmp_path / "registry"
    _three_champions(registry_dir)
    assert main(["models", "rollback", "iris", "--registry", str(registry_dir)]) == 0
    capsys.readouterr()

    served = registry_model(argparse.Namespace(registry=str(registry_dir), name="", model=""))
    out = capsys.readouterr().out
    assert served.version == "v2"
    assert "Loaded iris v2 (champion)" in out
    assert "warning: the local deployment record" in out and "names iris v3, but champion is v2" in out
    rows = iris_frame().drop(columns=["target"]).head(5)
    expected = open_registry(str(registry_dir)).load("iris", "v2").predict(rows)
    assert list(served.predictor.predict(rows)) == list(expected)


def test_serve_an_explicit_version_or_alias_quietly_when_it_is_the_deployed_one(tmp_path, capsys):
    registry_dir = tmp_path / "registry"
    _three_champions(registry_dir)
    capsys.readouterr()
    served = registry_model(argparse.Namespace(registry=str(registry_dir), name="iris", model="v3"))
    out = capsys.readouterr().out
    assert served.version == "v3" and "Loaded iris v3 from" in out and "warning" not in out
