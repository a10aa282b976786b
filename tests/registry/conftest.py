"""Registry fixtures: one registry per backend, the MLflow one on a real server started once per session."""
from __future__ import annotations

import pytest
from mlflow_server import mlflow_server, server_command

from kfp_mlops.components.registry import open_registry

BACKENDS = ("local", "mlflow")


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory):
    """``http://127.0.0.1:PORT`` of a real MLflow tracking server (SQLite store), shared by the session."""
    pytest.importorskip("mlflow", reason="the MLflow client is missing: pip install -e '.[mlflow]'")
    command = server_command()
    if command is None:
        pytest.skip("no MLflow server: run `make mlflow-server` (a venv with the full mlflow package at "
                    ".venv/mlflow-server) or set KFP_MLOPS_MLFLOW_SERVER to an mlflow executable")
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server"), command) as url:
        yield url


@pytest.fixture
def mlflow_registry(mlflow_url, tmp_path):
    """An MLflow-backed registry, emptied after the test (the server is shared by the session)."""
    registry = open_registry(f"mlflow+{mlflow_url}", cache_dir=tmp_path / "mlflow-cache")
    yield registry
    for model in registry.client.search_registered_models():
        registry.client.delete_registered_model(model.name)


@pytest.fixture(params=BACKENDS)
def registry(request, tmp_path):
    """The same registry test suite runs on every backend: a local folder, and MLflow on a real server."""
    if request.param == "mlflow":
        return request.getfixturevalue("mlflow_registry")
    return open_registry(str(tmp_path / "registry"))


# The whole suite runs on MLflow with -m slow (make test-all); the default suite keeps a real check of
# each MLflow-specific part (aliases, rollback history, the audit trail, runs and tags) on the shared server.
MLFLOW_IN_DEFAULT_SUITE = {"test_promotions_rollbacks_and_approvals_are_audited",
                           "test_mlflow_keeps_aliases_lineage_tags_and_a_run_per_pipeline_run"}


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(items):
    for item in items:
        on_mlflow = getattr(item, "callspec", None) and item.callspec.params.get("registry") == "mlflow"
        if on_mlflow and item.originalname not in MLFLOW_IN_DEFAULT_SUITE:
            item.add_marker(pytest.mark.slow)
