"""Attacks on the endpoint that must fail: unload, oversize chunked bodies, no token, a blocked event loop."""
from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import Predictor, load_model
from kfp_mlops.components.serving.server import Security, build_server, is_loopback, start_local_endpoint

pytestmark = pytest.mark.filterwarnings("ignore:ORJSONResponse is deprecated")

TOKEN = "s3cret-token-for-tests"
ROW = {"island": "Dream", "bill_length_mm": 50.0, "bill_depth_mm": 19.0, "flipper_length_mm": 198.0,
       "body_mass_g": 3800.0, "sex": "female", "year": 2009}


def call(url, body=None, method=None, headers=None, timeout=20):
    """One request; returns (status, parsed JSON or text)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"),
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


@pytest.fixture(scope="module")
def endpoint(model_dir):
    served = start_local_endpoint(model_dir, "penguins", max_body_bytes=100_000)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def guarded(model_dir):
    served = start_local_endpoint(model_dir, "penguins", security=Security(token=TOKEN))
    yield served
    served.stop()


def test_unload_request_is_refused_and_the_model_keeps_serving(endpoint):
    for verb in ("unload", "load"):
        status, _ = call(f"{endpoint.url}/v2/repository/models/penguins/{verb}", {})
        assert status == 404
    assert call(endpoint.v1_predict_url, {"instances": [ROW]})[0] == 200
    assert call(f"{endpoint.url}/health")[0] == 200


def test_repository_routes_only_when_enabled(model_dir):
    with start_local_endpoint(model_dir, "penguins", security=Security(enable_repository=True)) as served:
        assert call(f"{served.url}/v2/repository/models/penguins/unload", {})[0] == 200


def chunked_post(url, chunks, headers=None):
    """POSTs ``chunks`` with Transfer-Encoding: chunked (no Content-Length); returns (status, JSON)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", parts.path, body=iter(chunks), encode_chunked=True,
                           headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_chunked_oversize_body_gets_413_and_is_never_parsed(endpoint):
    requests_before = endpoint._model.batcher.requests
    rows = json.dumps({"instances": [ROW] * 2000}).encode()  # ~350 KB, over the 100 KB cap
    status, answer = chunked_post(endpoint.v1_predict_url, [rows[i:i + 16384] for i in range(0, len(rows), 16384)])
    assert status == 413 and "exceeds the limit of 100000 bytes" in answer["error"]
    assert endpoint._model.batcher.requests == requests_before
    # a chunked body under the cap is served
    small = json.dumps({"instances": [ROW]}).encode()
    assert chunked_post(endpoint.v1_predict_url, [small[:10], small[10:]]) == (200, {"predictions": ["Chinstrap"]})


def test_wrong_method_is_405(endpoint):
    for url in (endpoint.v1_predict_url, endpoint.v2_infer_url, f"{endpoint.url}/predict"):
        status, answer = call(url, method="GET")
        assert status == 405 and "use POST" in answer["error"], url


def test_non_loopback_bind_without_a_token_is_refused(model_dir):
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and is_loopback("127.0.0.2")
    with pytest.raises(InputError, match="exposes the endpoint beyond this machine"):
        build_server(model_dir, "penguins", host="0.0.0.0", port=0)


def test_request_without_the_token_gets_401(guarded):
    for url, body in ((guarded.v1_predict_url, {"instances": [ROW]}), (f"{guarded.url}/v2/models/penguins", None),
                      (f"{guarded.url}/predict", {"instances": [ROW]})):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            status, answer = call(url, body, headers=headers)
            assert status == 401 and "bearer token" in answer["error"], (url, headers)
    status, answer = call(guarded.v1_predict_url, {"instances": [ROW]}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and answer == {"predictions": ["Chinstrap"]}
    for probe in ("/health", "/v2/health/live", "/v2/health/ready"):  # liveness probes carry no token
        assert call(guarded.url + probe)[0] == 200


def test_chunked_body_without_the_token_gets_401(guarded):
    status, _ = chunked_post(guarded.v1_predict_url, [b'{"instances": []}'])
    assert status == 401


class GatedPredictor(Predictor):
    """A predictor whose big calls wait until the test says so (a stand-in for a slow model)."""

    def __init__(self, inner: Predictor):
        super().__init__(inner.model, inner.contract)
        self.release = threading.Event()

    def predict(self, frame):
        if len(frame) > 1000:
            assert self.release.wait(30), "the big request was never released"
        return super().predict(frame)


def test_health_answers_while_a_big_request_is_scored(model_dir):
    """Before the fix, scoring ran on the event loop: /health could not answer until the big request ended."""
    predictor = GatedPredictor(load_model(model_dir))
    with start_local_endpoint(predictor, "penguins") as served:
        result = {}
        big = threading.Thread(target=lambda: result.update(
            answer=call(served.v1_predict_url, {"instances": [ROW] * 20_000}, timeout=60)))
        big.start()
        try:
            for _ in range(3):
                assert call(f"{served.url}/health", timeout=10)[0] == 200
                assert call(served.v1_predict_url, {"instances": [ROW]}, timeout=10)[0] == 200
        finally:
            predictor.release.set()
            big.join(60)
        status, answer = result["answer"]
        assert status == 200 and len(answer["predictions"]) == 20_000
