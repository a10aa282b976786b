"""The model integrity chain, attacked: each test is an attack that must fail, with a signing key set.

The attacker can write the pipeline root and the registry folder, but not the
environment that holds ``KFP_MLOPS_SIGNING_KEY``.
"""
from __future__ import annotations

import json
import logging
import secrets
import shutil

import pytest

from kfp_mlops.components.core import manifest as manifest_module
from kfp_mlops.components.core.errors import ChecksumError
from kfp_mlops.components.core.model_io import MANIFEST_FILE, load_model, verify_model_dir
from kfp_mlops.pipelines.cli.main import main
from tests.security.security_models import (
    iris_rows,
    make_model,
    poison,
    rewrite_index_sha256,
    rewrite_manifest,
)

KEY = "test-signing-key-" + secrets.token_hex(16)


@pytest.fixture
def signing_key(monkeypatch):
    """Sets the signing key for the test (and clears the key file variable)."""
    monkeypatch.setenv(manifest_module.KEY_ENV, KEY)
    monkeypatch.delenv(manifest_module.KEY_FILE_ENV, raising=False)
    return KEY


@pytest.fixture
def no_key(monkeypatch):
    """No signing key; the once-per-process warning is re-armed."""
    monkeypatch.delenv(manifest_module.KEY_ENV, raising=False)
    monkeypatch.delenv(manifest_module.KEY_FILE_ENV, raising=False)
    monkeypatch.setattr(manifest_module, "_warned", False)


@pytest.fixture
def registry(tmp_path, signing_key):
    """A local registry with two signed versions of 'iris'; v1 is champion and deployed locally."""
    from kfp_mlops.components.deployment.local import deploy_local
    from kfp_mlops.components.registry import open_registry

    registry = open_registry(str(tmp_path / "registry"))
    for seed in (1, 2):
        registry.register(str(make_model(tmp_path / f"m{seed}", seed)), "iris", {"accuracy": 0.9})
    registry.promote("iris", "v1")
    deploy_local(registry.uri, "iris", "champion")
    return registry


def tamper_registry(registry, tmp_path, version: str = "v1"):
    """Swaps the version's model for a code-running pickle and rewrites index.json (and the manifest's hashes)."""
    stored = registry.root / "iris" / version
    poison(stored, tmp_path / "pwned")
    rewrite_manifest(stored)
    rewrite_index_sha256(registry.root, "iris", version)
    return stored


def refuse_to_serve(monkeypatch):
    """Makes ``kfp-mlops serve`` fail the test if a loaded model ever reaches the server.

    ``build_server`` calls ``contract_model_class()`` first, then loads the model
    (``--model-dir``) as the argument of the class it returns: a refused model
    never reaches ``serving``.
    """
    from kfp_mlops.components.serving import server

    def serving(*_args, **_kwargs):
        raise AssertionError("a tampered model reached the server")

    monkeypatch.setattr(server, "contract_model_class", lambda: serving)


def one_line_error(capsys, *words: str) -> str:
    error = capsys.readouterr().err.strip().splitlines()
    assert error, "no error printed"
    assert all(word in error[-1] for word in words), error
    return error[-1]


# -- the pipeline root ---------------------------------------------------------------------------
def test_poisoned_pipeline_root_model_is_refused_before_deserialization(tmp_path, signing_key):
    """A model replaced in a (cached) train step's output never reaches the unpickler, nor the registry."""
    from kfp_mlops.components.evaluation.evaluate import evaluate_model_dir
    from kfp_mlops.components.registry import open_registry

    model_dir = make_model(tmp_path / "pipeline_root" / "train-sklearn" / "model")
    marker = tmp_path / "pwned"
    poison(model_dir, marker)
    data = iris_rows(tmp_path / "test.csv")
    with pytest.raises(ChecksumError, match="refusing to load"):
        evaluate_model_dir(model_dir, data, "target", tmp_path / "report.md")
    rewrite_manifest(model_dir)  # the attacker fixes the hashes too, but cannot sign
    with pytest.raises(ChecksumError, match="signature does not match"):
        evaluate_model_dir(model_dir, data, "target", tmp_path / "report.md")
    with pytest.raises(ChecksumError, match="signature does not match"):
        open_registry(str(tmp_path / "registry")).register(str(model_dir), "iris")
    (model_dir / MANIFEST_FILE).unlink()  # no manifest at all: a downgrade to "nothing to check"
    with pytest.raises(ChecksumError, match="unsigned models are refused"):
        load_model(model_dir)
    assert not marker.exists(), "the attacker's pickle was deserialized"
    assert not (tmp_path / "registry" / "iris").exists()


@pytest.mark.slow
def test_poisoned_cached_train_step_fails_the_rerun(isolated_home, signing_key, tmp_path, capfd):
    """End to end: replace model files in the cached train step's output and rerun the same command."""
    assert main(["run", "training", "--model-name", "penguins"]) == 0
    capfd.readouterr()
    [model_dir] = list((isolated_home / "pipeline_root").glob("*/train-sklearn/model"))
    marker = tmp_path / "pwned"
    poison(model_dir, marker)
    rewrite_manifest(model_dir)
    assert main(["run", "training", "--model-name", "penguins"]) != 0
    output = "".join(capfd.readouterr())
    assert "train-sklearn: cached" in output and "signature does not match" in output
    assert not marker.exists()
    from kfp_mlops.components.registry import open_registry

    assert [v.version for v in open_registry(str(isolated_home / "registry")).list()] == ["v1"]


# -- the registry --------------------------------------------------------------------------------
def test_tampered_registry_is_refused_by_load_verify_and_fetch(registry, tmp_path):
    from kfp_mlops.components.prediction.champion import fetch_registered_model

    tamper_registry(registry, tmp_path)
    for call in (registry.load, registry.verify):
        with pytest.raises(ChecksumError, match="iris v1: .*signature does not match"):
            call("iris", "v1")
    with pytest.raises(ChecksumError, match="signature does not match"):
        fetch_registered_model(registry.uri, "iris", "champion", tmp_path / "fetched")
    assert not (tmp_path / "fetched").exists()
    assert not (tmp_path / "pwned").exists()


def test_tampered_registry_is_refused_by_models_show_verify(registry, tmp_path, capsys, monkeypatch):
    capsys.readouterr()
    assert main(["models", "show", "iris", "v2", "--verify", "--registry", registry.uri]) == 0
    assert "signature verified" in capsys.readouterr().err
    tamper_registry(registry, tmp_path)
    assert main(["models", "show", "iris", "v1", "--verify", "--registry", registry.uri]) == 2
    one_line_error(capsys, "iris v1", "signature does not match")
    # Without the manifest rewrite, the file list itself no longer matches.
    poison(registry.root / "iris" / "v2", tmp_path / "pwned")
    rewrite_index_sha256(registry.root, "iris", "v2")
    assert main(["models", "show", "iris", "v2", "--verify", "--registry", registry.uri]) == 2
    one_line_error(capsys, "iris v2", MANIFEST_FILE)
    assert not (tmp_path / "pwned").exists()


def test_tampered_registry_is_refused_by_serve(registry, tmp_path, capsys, monkeypatch):
    refuse_to_serve(monkeypatch)
    tamper_registry(registry, tmp_path)
    deployments = registry.root / "deployments.json"  # the attacker rewrites the deployment record too
    record = json.loads(deployments.read_text())
    record["iris"]["sha256"] = registry.get("iris", "v1").sha256
    deployments.write_text(json.dumps(record))
    assert main(["serve", "--registry", registry.uri, "--name", "iris", "--port", "0"]) == 2
    one_line_error(capsys, "iris v1", "signature does not match")
    assert not (tmp_path / "pwned").exists()


def test_tampered_registry_is_refused_by_batch_prediction(registry, tmp_path):
    from kfp_mlops.components.prediction.batch import predict_batch

    stored = tamper_registry(registry, tmp_path)
    with pytest.raises(ChecksumError, match="signature does not match"):
        predict_batch(stored, iris_rows(tmp_path / "rows.csv"), tmp_path / "out.csv", "v1")
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "pwned").exists()


def test_deployment_record_with_another_sha256_is_refused(registry, tmp_path, capsys, monkeypatch):
    from kfp_mlops.components.deployment.local import resolve_served_model

    assert resolve_served_model(registry.uri, "iris").version == "v1"
    deployments = registry.root / "deployments.json"
    record = json.loads(deployments.read_text())
    record["iris"]["sha256"] = "0" * 64
    deployments.write_text(json.dumps(record))
    with pytest.raises(ChecksumError, match="deployments.json: iris v1 was deployed with sha256 000000000000"):
        resolve_served_model(registry.uri, "iris")
    refuse_to_serve(monkeypatch)
    assert main(["serve", "--registry", registry.uri, "--name", "iris", "--port", "0"]) == 2
    one_line_error(capsys, "deployments.json", "refusing to serve")


# -- the serving paths that take a directory ---------------------------------------------------
@pytest.mark.parametrize("how", ["--model-dir", "AIP_STORAGE_URI"])
def test_serve_on_a_tampered_model_dir_is_refused(tmp_path, signing_key, capsys, monkeypatch, how):
    model_dir = make_model(tmp_path / "model")
    assert verify_model_dir(model_dir).signed
    poison(model_dir, tmp_path / "pwned")
    rewrite_manifest(model_dir)
    refuse_to_serve(monkeypatch)
    if how == "AIP_STORAGE_URI":  # what Vertex AI (and our KServe container, as --model-dir /mnt/models) runs
        monkeypatch.setenv("AIP_STORAGE_URI", str(model_dir))
        argv = ["serve", "--port", "0"]
    else:
        argv = ["serve", "--model-dir", str(model_dir), "--port", "0"]
    assert main(argv) == 2
    one_line_error(capsys, str(model_dir), "signature does not match")
    assert not (tmp_path / "pwned").exists()


def test_kserve_and_infra_validation_refuse_a_tampered_model_dir(tmp_path, signing_key):
    from kfp_mlops.components.deployment.kserve_manifest import deploy_inference_service
    from kfp_mlops.components.serving.infra import validate_serving

    model_dir = make_model(tmp_path / "model")
    (model_dir / "feature_contract.json").write_text((model_dir / "feature_contract.json").read_text() + " ")
    with pytest.raises(ChecksumError, match="feature_contract.json does not match"):
        deploy_inference_service(str(model_dir), str(tmp_path / "isvc.yaml"), "iris", "ns", "gs://b/m",
                                 "img", apply=False)
    with pytest.raises(ChecksumError, match="feature_contract.json does not match"):
        validate_serving(model_dir, iris_rows(tmp_path / "rows.csv"), "target")
    assert not (tmp_path / "isvc.yaml").exists()


def test_kserve_manifest_mounts_the_signing_key_as_a_secret_not_a_value(tmp_path, signing_key):
    from kfp_mlops.components.deployment.kserve_manifest import deploy_inference_service

    model_dir = make_model(tmp_path / "model")
    deploy_inference_service(str(model_dir), str(tmp_path / "isvc.yaml"), "iris", "ns", "gs://b/m", "img",
                             apply=False, signing_secret="kfp-mlops-signing")
    text = (tmp_path / "isvc.yaml").read_text()
    assert "secretName: kfp-mlops-signing" in text and "KFP_MLOPS_SIGNING_KEY_FILE" in text
    assert KEY not in text


# -- skops: trusted types come from our code, not from the file ----------------------------------
def test_skops_file_needing_untrusted_types_is_refused_even_with_a_valid_manifest(tmp_path, no_key):
    import os

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    model_dir = make_model(tmp_path / "model")
    (model_dir / "model.skops").write_bytes(sio.dumps(FunctionTransformer(func=os.mkdir)))
    rewrite_manifest(model_dir)  # with no key, the manifest alone cannot tell
    with pytest.raises(ChecksumError, match="outside the trusted list: (posix|os).mkdir"):
        load_model(model_dir)


def test_without_a_key_a_pickle_under_a_rewritten_manifest_is_never_unpickled(tmp_path, no_key, capsys,
                                                                             monkeypatch):
    model_dir = make_model(tmp_path / "model")
    poison(model_dir, tmp_path / "pwned")
    rewrite_manifest(model_dir)  # with no key, the manifest now "matches"
    with pytest.raises(ChecksumError, match="is a pickle under an unsigned model_manifest.json"):
        load_model(model_dir)
    refuse_to_serve(monkeypatch)
    assert main(["serve", "--model-dir", str(model_dir), "--port", "0"]) == 2
    one_line_error(capsys, "refusing to unpickle")
    assert not (tmp_path / "pwned").exists()


# -- no key: accidental corruption is still caught, and the user is told --------------------------
def test_without_a_key_corruption_is_caught_and_the_limit_is_said(tmp_path, no_key, caplog, capsys):
    from kfp_mlops.components.registry import open_registry

    caplog.set_level(logging.WARNING, logger=manifest_module.__name__)
    model_dir = make_model(tmp_path / "model")
    assert json.loads((model_dir / MANIFEST_FILE).read_text())["signature"] is None
    registry = open_registry(str(tmp_path / "registry"))
    registry.register(str(model_dir), "iris")
    assert main(["models", "show", "iris", "v1", "--verify", "--registry", registry.uri]) == 0
    assert "UNSIGNED" in capsys.readouterr().err
    warnings = [r.getMessage() for r in caplog.records if "only accidental corruption is caught" in r.getMessage()]
    assert len(warnings) == 1
    stored = registry.root / "iris" / "v1" / "model.skops"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped bit on disk
    stored.write_bytes(bytes(data))
    rewrite_index_sha256(registry.root, "iris", "v1")  # even with a matching registry record
    with pytest.raises(ChecksumError, match="model.skops does not match its sha256"):
        registry.load("iris", "v1")


def test_a_model_signed_with_another_key_or_unsigned_is_refused(tmp_path, monkeypatch, no_key):
    unsigned = make_model(tmp_path / "unsigned")
    monkeypatch.setenv(manifest_module.KEY_ENV, "another key")
    other = make_model(tmp_path / "other")
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    monkeypatch.delenv(manifest_module.KEY_ENV)
    monkeypatch.setenv(manifest_module.KEY_FILE_ENV, str(key_file))  # a mounted secret
    with pytest.raises(ChecksumError, match="is unsigned, and a signing key is set"):
        load_model(unsigned)
    with pytest.raises(ChecksumError, match="signature does not match"):
        load_model(other)
    assert load_model(make_model(tmp_path / "good")).predict is not None


def test_older_registry_versions_without_a_manifest_load_only_on_their_sha256_and_without_a_key(
        tmp_path, monkeypatch, no_key):
    import joblib

    from kfp_mlops.components.registry import open_registry

    model_dir = make_model(tmp_path / "model")
    model = load_model(model_dir, native=True).model
    (model_dir / "model.skops").unlink()
    (model_dir / MANIFEST_FILE).unlink()
    joblib.dump(model, model_dir / "model.joblib")  # what older trainers wrote
    registry = open_registry(str(tmp_path / "registry"))
    with pytest.raises(ChecksumError, match="nothing to verify it against"):
        registry.register(str(model_dir), "iris")
    shutil.copytree(model_dir, tmp_path / "registry" / "iris" / "v1")  # as an older registry stored it
    from kfp_mlops.components.core.artifacts import sha256_tree

    (tmp_path / "registry" / "index.json").write_text(json.dumps({"format": 1, "models": {"iris": {
        "versions": [{"version": "v1", "path": "iris/v1", "sha256": sha256_tree(model_dir)}],
        "aliases": {"champion": "v1"}, "champion_history": ["v1"]}}}))
    assert registry.load("iris", "champion").predict is not None
    with pytest.raises(ChecksumError, match="nothing to verify it against"):
        load_model(model_dir)  # a bare directory: no registry record to check it against
    monkeypatch.setenv(manifest_module.KEY_ENV, KEY)
    with pytest.raises(ChecksumError, match="unsigned models are refused"):
        registry.load("iris", "champion")


# -- the key stays out of specs, logs, manifests and the registry --------------------------------
def test_the_key_never_reaches_a_compiled_spec_a_log_or_the_registry(tmp_path, signing_key, capfd, caplog):
    from kfp_mlops.pipelines.compiler import compile_pipeline

    caplog.set_level(logging.DEBUG)
    spec = compile_pipeline("training", "kfp", tmp_path / "compiled").read_text()
    registry = tmp_path / "registry"
    make_model(tmp_path / "model")
    from kfp_mlops.components.registry import open_registry

    open_registry(str(registry)).register(str(tmp_path / "model"), "iris")
    stored = "".join(p.read_text(errors="replace") for p in registry.rglob("*") if p.is_file())
    out, err = capfd.readouterr()
    for text in (spec, stored, out, err, caplog.text):
        assert KEY not in text
