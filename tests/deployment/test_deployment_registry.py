"""The local target through the real registry: deploy_local records a version, serve resolves and loads it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.deployment.local import deploy_local, read_deployments, resolve_served_model


@pytest.fixture()
def registry(tmp_path, penguin_model_dir, penguins_frame):
    """A local registry with v1 (champion) and v2 (challenger, different files) of 'penguins'."""
    module = pytest.importorskip("kfp_mlops.components.registry")
    if not hasattr(module, "open_registry"):
        pytest.skip("kfp_mlops.components.registry.open_registry has not landed yet")
    from deployment_models import build_penguin_model

    uri = str(tmp_path / "registry")
    opened = module.open_registry(uri)
    first = opened.register(str(penguin_model_dir), "penguins", metrics={"accuracy": 0.97})
    opened.promote("penguins", first.version)
    second_dir = tmp_path / "v2"
    build_penguin_model(second_dir, penguins_frame.iloc[::2])
    second = opened.register(str(second_dir), "penguins", metrics={"accuracy": 0.95})
    return uri, opened, first, second


def test_deploy_local_records_the_champion_and_serve_resolves_it(registry, penguins_frame):
    uri, opened, first, second = registry
    assert first.version != second.version
    record = deploy_local(uri, "penguins")
    assert record["version"] == first.version and record["sha256"] == first.sha256
    assert read_deployments(uri)["penguins"]["version"] == first.version
    served = resolve_served_model(uri)  # the one deployed model, at its deployed version
    assert (served.name, served.version) == ("penguins", first.version)
    rows = penguins_frame.head(4)
    assert served.predictor.predict(rows).tolist() == opened.load("penguins", first.version).predict(rows).tolist()
    assert resolve_served_model(uri, "penguins", second.version).version == second.version


def test_deployed_version_wins_over_a_newer_champion(registry):
    uri, opened, first, second = registry
    deploy_local(uri, "penguins", first.version)
    opened.promote("penguins", second.version)
    assert resolve_served_model(uri, "penguins").version == first.version
    assert resolve_served_model(uri, "penguins", "champion").version == second.version


def test_serving_refuses_tampered_files(registry):
    uri, opened, first, _ = registry
    contract_file = Path(opened.local_dir(first)) / "feature_contract.json"
    contract = json.loads(contract_file.read_text())
    contract["label"] = "tampered"
    contract_file.write_text(json.dumps(contract))
    with pytest.raises(InputError, match="sha256"):
        deploy_local(uri, "penguins", first.version)
    with pytest.raises(InputError, match="sha256"):
        resolve_served_model(uri, "penguins", first.version)


def test_unknown_model_or_version_is_an_input_error(registry):
    uri, *_ = registry
    with pytest.raises(InputError):
        deploy_local(uri, "nope")
    with pytest.raises(InputError):
        resolve_served_model(uri, "penguins", "v99")


def test_kfp_mlops_serve_serves_the_deployed_version(registry):
    """The real console entry point: ``kfp-mlops serve --registry R`` with nothing else."""
    import subprocess
    import sys

    from test_deployment_serve_cli import ROW, post, stop, wait_for_url

    uri, *_ = registry
    deploy_local(uri, "penguins")
    process = subprocess.Popen([sys.executable, "-m", "kfp_mlops.pipelines.cli.main", "serve", "--registry", uri,
                                "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = wait_for_url(process)
        assert post(f"{url}/v1/models/penguins:predict", {"instances": [ROW]}) == (200, {"predictions": ["Chinstrap"]})
    finally:
        stop(process)


def test_kfp_mlops_serve_bad_input_exits_2(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "kfp_mlops.pipelines.cli.main", "serve", "--registry",
                             str(tmp_path / "empty")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "kfp-mlops: error:" in result.stderr and "--name" in result.stderr
