"""Attack: a KFP host that refuses the credentials must fail the submission at once, in one line."""
# No postponed annotations here: KFP reads the component annotations as types.
import pytest

from kfp_mlops.pipelines.cli.main import main
from tests.submission.submission_loopback import start


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    from kfp import compiler, dsl

    @dsl.component(base_image="python:3.11", install_kfp_package=False)
    def echo(text: str) -> str:
        return text

    @dsl.pipeline(name="tiny")
    def tiny(text: str = "x"):
        echo(text=text)

    path = tmp_path_factory.mktemp("tiny") / "tiny.yaml"
    compiler.Compiler().compile(tiny, str(path))
    return path


@pytest.fixture
def refusing_host(monkeypatch):
    """A loopback KFP host answering every request with 401 (or 403 on runs); sleeps are recorded, not slept."""
    loop = start()
    sleeps = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    monkeypatch.setenv("SHORT_SHA", "abc1234")
    loop.sleeps = sleeps
    yield loop
    loop.server.shutdown()
    loop.server.server_close()


@pytest.mark.parametrize("status", [401, 403])
def test_submission_to_a_host_refusing_credentials_fails_fast(refusing_host, package, capsys, status):
    for method in ("GET", "POST"):
        refusing_host.route(method, "/apis", (status, {"error": "no", "code": 16 if status == 401 else 7}))
    code = main(["submit", str(package), "--target", "kfp", "--host", refusing_host.url])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err and "Traceback" not in err
    assert f"HTTP {status}" in err and "not retried" in err and refusing_host.url in err
    assert len(refusing_host.requests) == 1 and refusing_host.sleeps == []  # no retry loop, kfp.Client's included


def test_forbidden_run_after_a_healthy_connect_fails_fast(refusing_host, package, capsys):
    refusing_host.route("GET", "/apis/v2beta1/healthz", (200, {"multi_user": False}))
    refusing_host.route("GET", "/apis/v2beta1/experiments", (200, {}))
    refusing_host.route("POST", "/apis/v2beta1/experiments", (200, {"experiment_id": "e"}))
    refusing_host.route("POST", "/apis/v2beta1/runs", (403, {"error": "forbidden"}))
    code = main(["submit", str(package), "--target", "kfp", "--host", refusing_host.url])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0 and "submit KFP run: the host answered HTTP 403" in err
    assert len(refusing_host.find("POST", "/runs")) == 1 and refusing_host.sleeps == []
