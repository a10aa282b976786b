"""``kfp-mlops submit`` and ``upload`` end to end on loopback servers."""
import argparse
import json

import pytest

from kfp_mlops.pipelines.cli import submit as submit_cli


def cli(argv):
    parser = argparse.ArgumentParser(prog="kfp-mlops")
    submit_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def kfp_host(loopback, monkeypatch):
    monkeypatch.setenv("SHORT_SHA", "def5678")
    monkeypatch.setattr("time.sleep", lambda s: None)
    loopback.route("GET", "/apis/v2beta1/healthz", (200, {"multi_user": False}))
    loopback.route("GET", "/apis/v2beta1/experiments", (200, {}))
    loopback.route("POST", "/apis/v2beta1/experiments", (200, {"experiment_id": "exp-9"}))
    loopback.route("POST", "/apis/v2beta1/runs", (200, {"run_id": "run-9"}))
    return loopback


def test_submit_kfp_types_params_from_the_spec(kfp_host, toy_package, capsys):
    code = cli(["submit", str(toy_package), "--target", "kfp", "--host", kfp_host.url, "--param", "data_path=/x.csv",
                "--param", "epochs=5", "--param", "ratio=0.25", "--param", "flag=no",
                "--param", 'options={"k": [1, 2]}', "--param", "items=[\"a\"]", "--no-cache",
                "--experiment", "ci", "--label", "trigger=push"])
    assert code == 0
    body = kfp_host.find("POST", "/runs")[0].json()
    assert body["runtime_config"]["parameters"] == {"data_path": "/x.csv", "epochs": 5, "ratio": 0.25, "flag": False,
                                                    "options": {"k": [1, 2]}, "items": ["a"]}
    assert "trigger=push" in body["description"] and "git-commit=def5678" in body["description"]
    assert kfp_host.find("POST", "/experiments")[0].json()["display_name"] == "ci"
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["run_name"] == "run-9" and printed["labels"]["trigger"] == "push"


def test_submit_typo_lists_valid_parameters_and_sends_nothing(kfp_host, toy_package):
    with pytest.raises(ValueError, match=r"no parameter 'data'; valid parameters: data_path, epochs, flag"):
        cli(["submit", str(toy_package), "--target", "kfp", "--host", kfp_host.url, "--param", "data=/x.csv"])
    with pytest.raises(ValueError, match=r"'ratio' is NUMBER_DOUBLE; cannot use 'half'"):
        cli(["submit", str(toy_package), "--target", "kfp", "--host", kfp_host.url, "--param", "ratio=half"])
    assert kfp_host.requests == []


def test_submit_vertex_needs_its_options(toy_package):
    with pytest.raises(ValueError, match="--target vertex needs --project, --region, --pipeline-root"):
        cli(["submit", str(toy_package), "--target", "vertex"])


def test_submit_vertex_through_the_cli(loopback, toy_package, monkeypatch, capsys):
    import google.auth
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.aiplatform.utils import gcs_utils

    monkeypatch.setattr(google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "p"))
    monkeypatch.setattr(gcs_utils, "create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist", lambda **k: None)
    loopback.route("POST", "/v1/projects/p/locations/europe-west4/schedules",
                   (200, lambda req: {**req.json(), "name": "projects/p/locations/europe-west4/schedules/5"}))
    code = cli(["submit", str(toy_package), "--target", "vertex", "--project", "p", "--region", "europe-west4",
                "--pipeline-root", "gs://b/r", "--api-endpoint", loopback.url, "--param", "data_path=gs://b/d.csv",
                "--schedule", "0 2 * * *", "--service-account", "sa@p.iam.gserviceaccount.com"])
    assert code == 0
    body = loopback.find("POST", "/schedules")[0].json()
    assert body["cron"] == "0 2 * * *"
    assert body["createPipelineJobRequest"]["pipelineJob"]["serviceAccount"] == "sa@p.iam.gserviceaccount.com"
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["schedule_name"].endswith("/schedules/5")


def test_auth_failure_is_one_line_and_exit_1(kfp_host, toy_package, capsys):
    kfp_host.route("POST", "/apis/v2beta1/runs", (401, {"error": "unauthenticated"}))
    code = cli(["submit", str(toy_package), "--target", "kfp", "--host", kfp_host.url, "--param", "data_path=x"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0 and "submit KFP run: the host answered HTTP 401" in err
    assert len(kfp_host.find("POST", "/runs")) == 1


def test_dry_run_compiles_a_pipeline_name_and_sends_nothing(capsys, monkeypatch):
    monkeypatch.setenv("SHORT_SHA", "0a1b2c3")
    params = ["data_path=gs://b/new.csv", "model_name=penguins", "registry_uri=gs://b/registry",
              "training_data_path=gs://b/train.csv"]
    assert cli(["submit", "batch-prediction", "--target", "vertex", "--project", "p", "--region", "r",
                "--pipeline-root", "gs://b", "--image-tag", "0a1b2c3", "--dry-run"]
               + [arg for p in params for arg in ("--param", p)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pipeline"] == "batch-prediction" and out["parameters"]["model_name"] == "penguins"
    assert out["labels"]["git-commit"] == "0a1b2c3" and out["package"].endswith("batch-prediction.yaml")
    with pytest.raises(ValueError, match="needs parameter.*model_name"):  # training_data_path is optional
        cli(["submit", "batch-prediction", "--target", "kfp", "--host", "http://127.0.0.1:9", "--dry-run"]
            + [arg for p in params if not p.startswith("model_name") for arg in ("--param", p)])


def test_upload_folder_with_tags(loopback, toy_package, tmp_path):
    (tmp_path / "a.yaml").write_bytes(toy_package.read_bytes())
    (tmp_path / "b.yaml").write_bytes(toy_package.read_bytes())
    loopback.route("POST", "/p/repo", (200, "toy/sha256:" + "c" * 64))
    assert cli(["upload", str(tmp_path), "--host", f"{loopback.url}/p/repo", "--tag", "def5678", "--tag", "latest"]) == 0
    requests = loopback.find("POST", "/p/repo")
    assert len(requests) == 2 and all(b"def5678,latest" in r.body for r in requests)


def test_upload_needs_a_host_or_a_repository(toy_package):
    with pytest.raises(ValueError, match="--host, or --project, --region and --repository"):
        cli(["upload", str(toy_package)])


def test_through_kfp_mlops_main_a_typo_is_exit_2_with_one_line(toy_package, monkeypatch, capsys):
    from kfp_mlops.pipelines.cli import main as main_mod

    if "submit" not in main_mod.COMMAND_MODULES:  # until the lead registers the module
        monkeypatch.setattr(main_mod, "COMMAND_MODULES", (*main_mod.COMMAND_MODULES, "submit"))
    code = main_mod.main(["submit", str(toy_package), "--target", "kfp", "--host", "http://127.0.0.1:9",
                          "--param", "epoch=3"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no parameter 'epoch'; valid parameters: data_path" in err
    assert main_mod.main(["upload", str(toy_package)]) == 2
