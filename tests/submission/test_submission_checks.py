"""Offline checks: parameter coercion, labels, retry classification and the credential scan."""
import pytest
import requests
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc

from kfp_mlops.pipelines.submission import labels as label_mod
from kfp_mlops.pipelines.submission.credentials import assert_no_credentials, scan_text
from kfp_mlops.pipelines.submission.retry import is_transient, with_retries
from kfp_mlops.pipelines.submission.spec import load_package, parse_param_args


def test_param_args_are_typed_by_the_spec(toy_package):
    package = load_package(toy_package)
    assert parse_param_args(package, ["data_path=a=b", "epochs=2", "ratio=1", "flag=TRUE", "items=[1]"]) == {
        "data_path": "a=b", "epochs": 2, "ratio": 1.0, "flag": True, "items": [1]}
    for bad, message in [("epochs=2.5", "NUMBER_INTEGER"), ("flag=maybe", "BOOLEAN"),
                         ("options=[1]", "expected a JSON object"), ("items={}", "expected a JSON array"),
                         ("noequals", "expected NAME=VALUE")]:
        with pytest.raises(ValueError, match=message):
            parse_param_args(package, [bad])
    with pytest.raises(ValueError, match="given twice"):
        parse_param_args(package, ["epochs=1", "epochs=2"])


def test_not_a_pipeline_is_rejected(tmp_path):
    (tmp_path / "x.yaml").write_text("a: 1\n")
    with pytest.raises(ValueError, match="not a compiled pipeline"):
        load_package(tmp_path / "x.yaml")
    with pytest.raises(FileNotFoundError):
        load_package(tmp_path / "missing.yaml")


def test_labels_follow_vertex_rules(toy_package, monkeypatch):
    monkeypatch.delenv("SHORT_SHA", raising=False)
    monkeypatch.setenv("COMMIT_SHA", "ABCDEF0123456789abcdef")
    labels = label_mod.run_labels(load_package(toy_package), {"Owner Team": "Data.Science/" + "x" * 80})
    assert labels["git-commit"] == "abcdef012345"
    assert labels["owner-team"].startswith("data-science-") and len(labels["owner-team"]) == 63
    import re
    assert all(re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", k) and re.fullmatch(r"[a-z0-9_-]{1,63}", v)
               for k, v in labels.items())
    assert label_mod.sanitize_label("_a" + "b" * 60 + "-_c") == "a" + "b" * 60  # ends alphanumeric (Kubernetes)
    assert label_mod.sanitize_label("...") == "unknown"
    with pytest.raises(ValueError, match="must start with a letter"):
        label_mod.run_labels(load_package(toy_package), {"1x": "y"})


def test_commit_falls_back_to_git_then_unknown(monkeypatch, tmp_path):
    monkeypatch.delenv("SHORT_SHA", raising=False)
    monkeypatch.delenv("COMMIT_SHA", raising=False)
    assert label_mod.git_commit(cwd=str(tmp_path)) == "unknown"  # not a repository
    import shutil
    import subprocess
    if shutil.which("git") is None:  # e.g. the python:3.11-slim image of the Cloud Build test step
        assert label_mod.git_commit() == "unknown"
        return
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert label_mod.git_commit() == (head or "unknown")


def _http_error(status):
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(response=response)


def test_transient_and_auth_errors_are_told_apart():
    assert is_transient(gexc.ServiceUnavailable("x")) and is_transient(gexc.TooManyRequests("x"))
    assert is_transient(_http_error(502)) and is_transient(requests.ConnectionError("refused"))
    assert not is_transient(gexc.Forbidden("x")) and not is_transient(gexc.Unauthenticated("x"))
    assert not is_transient(_http_error(401)) and not is_transient(_http_error(404))
    assert not is_transient(auth_exc.RefreshError("token expired"))
    assert not is_transient(ValueError("bug"))


def test_backoff_doubles_and_is_capped():
    delays, calls = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 5:
            raise gexc.ServiceUnavailable("down")
        return "ok"

    assert with_retries(flaky, "x", attempts=5, initial_delay=1, max_delay=5, sleep=delays.append) == "ok"
    assert delays == [1, 2, 4, 5]
    with pytest.raises(gexc.ServiceUnavailable):
        with_retries(lambda: (_ for _ in ()).throw(gexc.ServiceUnavailable("down")), "x", attempts=2,
                     sleep=delays.append)


@pytest.mark.parametrize("secret", [
    "-----BEGIN RSA PRIVATE KEY-----",
    '"private_key": "abc"',
    "key: AIza" + "B" * 35,
    "token: ya29.a0AfH6SMBx" + "y" * 20,
    "AKIA" + "ABCDEFGHIJKLMNOP",
    "ghp_" + "a" * 36,
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abcdefghijk",
    "password: hunter22",
    "--db-url=postgres://admin:s3cret@db:5432/x",
])
def test_credential_patterns_are_found(secret, tmp_path):
    assert scan_text(f"a: 1\n  b: {secret}\n")
    path = tmp_path / "p.yaml"
    path.write_text(f"x: {secret}\n")
    with pytest.raises(ValueError, match="carries credentials"):
        assert_no_credentials(path)


@pytest.mark.parametrize("clean", [
    "password: '{{$.inputs.parameters[''password'']}}'",
    "api_key: ${API_KEY}",
    "secret_name: kfp-mlops-db",
    "image: us-docker.pkg.dev/p/r/kfp-mlops-core:abc123",
    "uri: gs://bucket/path",
])
def test_ordinary_spec_text_is_not_flagged(clean):
    assert scan_text(clean) == []
