"""The local endpoint: every route, answers equal to in-process predictions, bad payloads get 4xx."""
from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from kfp_mlops.components.core import payloads
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import Feature, FeatureContract, load_model
from kfp_mlops.components.serving.server import start_local_endpoint

pytestmark = pytest.mark.filterwarnings("ignore:ORJSONResponse is deprecated")

NAME = "penguins"


@pytest.fixture(scope="module")
def endpoint(penguin_model_dir):
    """One server for the whole module, on a free loopback port, with custom Vertex routes."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AIP_PREDICT_ROUTE", "/v1/endpoints/e1/deployedModels/d1:predict")
    mp.setenv("AIP_HEALTH_ROUTE", "/v1/endpoints/e1/deployedModels/d1")
    served = start_local_endpoint(penguin_model_dir, NAME, max_body_bytes=200_000)
    yield served
    served.stop()
    mp.undo()


@pytest.fixture(scope="module")
def rows(penguins_frame):
    """Twelve raw rows (some with missing values), as JSON objects."""
    features = load_model_contract_names()
    return payloads.frame_records(penguins_frame.iloc[::29], features)


def load_model_contract_names():
    return ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]


def call(url, body=None, content_type="application/json", method=None):
    """Sends one request; returns (status, parsed JSON or text)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"),
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def expected(penguin_model_dir, penguins_frame):
    return load_model(penguin_model_dir).predict(penguins_frame.iloc[::29]).tolist()


def test_binds_loopback_by_default(endpoint):
    assert endpoint.host == "127.0.0.1"
    assert endpoint.url.startswith("http://127.0.0.1:")


def test_v1_objects_and_lists_match_in_process_predictions(endpoint, rows, penguin_model_dir, penguins_frame):
    want = expected(penguin_model_dir, penguins_frame)
    status, body = call(endpoint.v1_predict_url, {"instances": rows})
    assert status == 200 and body["predictions"] == want
    lists = [[row[name] for name in load_model_contract_names()] for row in rows]
    status, body = call(endpoint.v1_predict_url, {"instances": lists})
    assert status == 200 and body["predictions"] == want


def test_v2_column_tensors_and_row_tensor(endpoint, rows, penguin_model_dir, penguins_frame):
    want = expected(penguin_model_dir, penguins_frame)
    names = load_model_contract_names()
    inputs = [{"name": n, "shape": [len(rows)], "datatype": "BYTES" if n in ("island", "sex") else "FP64",
               "data": [row[n] for row in rows]} for n in names]
    status, body = call(endpoint.v2_infer_url, {"id": "req-1", "inputs": inputs})
    assert status == 200, body
    assert body["id"] == "req-1" and body["model_name"] == NAME
    assert body["outputs"][0]["name"] == "predict" and body["outputs"][0]["datatype"] == "BYTES"
    assert body["outputs"][0]["shape"] == [len(rows)] and body["outputs"][0]["data"] == want
    table = {"inputs": [{"name": "rows", "shape": [len(rows), len(names)], "datatype": "BYTES",
                         "data": [[row[n] for n in names] for row in rows]}]}
    status, body = call(endpoint.v2_infer_url, table)
    assert status == 200 and body["outputs"][0]["data"] == want and body["id"]


def test_probabilities_on_request(endpoint, rows, penguin_model_dir, penguins_frame):
    model = load_model(penguin_model_dir)
    want = model.predict_proba(penguins_frame.iloc[::29])
    status, body = call(endpoint.v1_predict_url, {"instances": rows, "parameters": {"probabilities": True}})
    assert status == 200 and body["classes"] == model.contract.classes
    assert np.allclose(body["probabilities"], want) and body["predictions"] == expected(penguin_model_dir, penguins_frame)
    names = load_model_contract_names()
    table = {"inputs": [{"name": "rows", "shape": [len(rows), 7], "datatype": "BYTES",
                         "data": [[row[n] for n in names] for row in rows]}],
             "outputs": [{"name": "probabilities"}, {"name": "predict"}]}
    status, body = call(endpoint.v2_infer_url, table)
    assert status == 200, body
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["probabilities"]["shape"] == [len(rows), 3] and outputs["probabilities"]["datatype"] == "FP64"
    assert np.allclose(np.reshape(outputs["probabilities"]["data"], (len(rows), 3)), want)
    assert outputs["predict"]["data"] == expected(penguin_model_dir, penguins_frame)
    table["outputs"] = [{"name": "logits"}]
    status, body = call(endpoint.v2_infer_url, table)
    assert status == 400 and "unknown output(s) 'logits'" in body["error"]
    status, body = call(endpoint.v1_predict_url, {"instances": rows, "parameters": {"probabilities": "yes"}})
    assert status == 400 and "parameters.probabilities" in body["error"]


def test_vertex_routes_from_environment(endpoint, rows, penguin_model_dir, penguins_frame):
    status, body = call(endpoint.url + "/v1/endpoints/e1/deployedModels/d1:predict", {"instances": rows})
    assert status == 200 and body["predictions"] == expected(penguin_model_dir, penguins_frame)
    assert call(endpoint.url + "/v1/endpoints/e1/deployedModels/d1")[0] == 200


def test_vertex_keeps_probabilities_inside_each_prediction(endpoint, rows, penguin_model_dir, penguins_frame):
    """Vertex's PredictResponse keeps only "predictions": extras at the top level would be dropped."""
    model = load_model(penguin_model_dir)
    status, body = call(endpoint.url + "/v1/endpoints/e1/deployedModels/d1:predict",
                        {"instances": rows, "parameters": {"probabilities": True}})
    assert status == 200 and list(body) == ["predictions"]
    assert [p["prediction"] for p in body["predictions"]] == expected(penguin_model_dir, penguins_frame)
    assert all(p["classes"] == model.contract.classes for p in body["predictions"])
    assert np.allclose([p["probabilities"] for p in body["predictions"]],
                       model.predict_proba(penguins_frame.iloc[::29]))


def test_v2_metadata_declares_the_contract(endpoint):
    status, body = call(f"{endpoint.url}/v2/models/{NAME}")
    assert status == 200
    assert [(i["name"], i["datatype"]) for i in body["inputs"]] == [
        ("island", "BYTES"), ("bill_length_mm", "FP64"), ("bill_depth_mm", "FP64"), ("flipper_length_mm", "FP64"),
        ("body_mass_g", "FP64"), ("sex", "BYTES"), ("year", "INT64")]
    assert [o["name"] for o in body["outputs"]] == ["predict", "probabilities"]


def test_v2_json_without_content_type_is_accepted(endpoint, rows, penguin_model_dir, penguins_frame):
    names = load_model_contract_names()
    body = json.dumps({"inputs": [{"name": "rows", "shape": [len(rows), 7], "datatype": "BYTES",
                                   "data": [[row[n] for n in names] for row in rows]}]}).encode()
    connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=10)  # urllib adds a Content-Type
    try:
        connection.request("POST", f"/v2/models/{NAME}/infer", body=body)
        response = connection.getresponse()
        status, answer = response.status, json.loads(response.read())
    finally:
        connection.close()
    assert status == 200, answer
    assert answer["outputs"][0]["data"] == expected(penguin_model_dir, penguins_frame)


@pytest.mark.parametrize("path, want", [
    ("/", None), ("/v1/models", {"models": [NAME]}), (f"/v1/models/{NAME}", {"name": NAME, "ready": True}),
    ("/v2/health/live", {"live": True}), ("/v2/health/ready", {"ready": True}),
    (f"/v2/models/{NAME}/ready", {"name": NAME, "ready": True}),
])
def test_health_and_metadata_routes(endpoint, path, want):
    status, body = call(endpoint.url + path)
    assert status == 200
    if want is not None:
        assert body == want
    assert call(endpoint.url + f"/v2/models/{NAME}")[1]["name"] == NAME


BAD_V1 = [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "JSON object with field 'instances'"),
    (b'{"rows": []}', "field 'instances'"),
    (b'{"instances": {"island": "Biscoe"}}', "must be a list"),
    (b'{"instances": []}', "is empty"),
    (b'{"instances": [{"island": "Biscoe"}]}', "missing feature column(s): bill_length_mm"),
    (b'{"instances": [[1, 2]]}', "has 2 values; expected 7"),
    (b'{"instances": [7]}', "must be an object or a list"),
    (b'{"instances": [["Biscoe", "long", 18, 190, 3900, "male", 2008]]}', "'bill_length_mm' expects a number"),
    (b'{"instances": [["Biscoe", 40, 18, 190, 3900, {"a": 1}, 2008]]}', "'sex' expects a string"),
    (b'{"instances": [["Biscoe", "inf", 18, 190, 3900, "male", 2008]]}', "expects a finite number"),
    (b'{"instances": [["Biscoe", true, 18, 190, 3900, "male", 2008]]}', "expects a number, got True"),
    (b'{"instances": [["Biscoe", NaN, 18, 190, 3900, "male", 2008]]}', "not valid JSON"),
]


@pytest.mark.parametrize("body, reason", BAD_V1)
def test_bad_v1_payloads_get_400_with_reason(endpoint, body, reason):
    for url in (endpoint.v1_predict_url, endpoint.url + "/v1/endpoints/e1/deployedModels/d1:predict"):
        status, answer = call(url, body)
        assert status == 400, answer
        assert reason in answer["error"] or (url.endswith("d1:predict") and "JSON" in reason + answer["error"])


def test_non_json_content_type_gets_400(endpoint):
    status, answer = call(endpoint.v1_predict_url, b"island=Biscoe", content_type="text/plain")
    assert status == 400 and "must be JSON" in answer["error"]


BAD_V2 = [
    (b"{bad", "not valid JSON"),
    (b'{"foo": 1}', "inputs"),
    (b'{"inputs": []}', "is empty"),
    (b'{"inputs": [{"name": "island", "shape": [1], "datatype": "BYTES", "data": ["Biscoe"]}]}',
     "missing feature column(s): bill_length_mm"),
    (b'{"inputs": [{"name": "rows", "shape": [1, 3], "datatype": "BYTES", "data": [["a", 1, 2]]}]}',
     "needs shape [rows, 7]"),
    (b'{"inputs": [{"name": "rows", "shape": [2, 7], "datatype": "BYTES", "data": [1]}]}', "but 1 values"),
]


@pytest.mark.parametrize("body, reason", BAD_V2)
def test_bad_v2_payloads_get_400_with_reason(endpoint, body, reason):
    status, answer = call(endpoint.v2_infer_url, body)
    assert status == 400, answer
    assert reason in answer["error"]


def test_model_errors_on_a_row_are_400_and_do_not_fail_the_batch(endpoint, rows):
    """A value the model itself rejects answers 400 for that request only, even when batched with others."""
    from kfp_mlops.components.core.payloads import Rows

    model = endpoint._model
    good = payloads.rows_from_instances(rows[:2], model.contract)
    bad = Rows({name: list(values) for name, values in good.columns.items()}, 2)
    bad.columns["bill_length_mm"] = [float("inf"), 1.0]  # past the parser, as a buggy client library might send
    results = model.batcher._score_batch([(good, None), (bad, None)])
    assert len(results[0]) == 2 and isinstance(results[1], ValueError)


BINARY_V2 = [
    (b'{"x":1}', "7", "KeyError: 'inputs'"),
    (b'{"inputs":[{"name":"a"}]}', "25", "KeyError: 'shape'"),
    (b'{"inputs":[]}', "abc", "header 'inference-header-content-length' is 'abc'"),
    (b'{bad}', "5", "Unrecognized request format"),
]


@pytest.mark.parametrize("body, length, reason", BINARY_V2)
def test_bad_binary_v2_bodies_get_400(endpoint, body, length, reason):
    request = urllib.request.Request(endpoint.v2_infer_url, data=body, method="POST", headers={
        "Content-Type": "application/octet-stream", "inference-header-content-length": length})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 400 and reason in json.loads(raised.value.read())["error"]


def test_mutated_payloads_never_get_a_5xx(endpoint, rows):
    """Bounded fuzz: every truncation and byte flip of valid V1/V2 bodies answers 200 or 4xx."""
    import random

    names = load_model_contract_names()
    v2 = {"inputs": [{"name": "rows", "shape": [1, 7], "datatype": "BYTES", "data": [[rows[0][n] for n in names]]}]}
    chooser = random.Random(7)
    for url, body in ((endpoint.v1_predict_url, {"instances": rows[:2]}), (endpoint.v2_infer_url, v2)):
        raw = json.dumps(body).encode()
        variants = [raw[:cut] for cut in range(0, len(raw), max(1, len(raw) // 15))]
        for _ in range(25):
            flipped = bytearray(raw)
            flipped[chooser.randrange(len(raw))] = chooser.choice(b'{}[]",:0a-. \x00')
            variants.append(bytes(flipped))
        for variant in variants:
            status, answer = call(url, variant)
            assert status < 500, (variant, answer)


def test_oversized_body_gets_413_and_is_not_kept(endpoint, rows):
    status, answer = call(endpoint.v1_predict_url, {"instances": rows * 2000})
    assert status == 413 and "exceeds the limit of 200000 bytes" in answer["error"]
    assert call(endpoint.v1_predict_url, {"instances": rows})[0] == 200


def test_unknown_model_is_404(endpoint):
    assert call(endpoint.url + "/v1/models/other:predict", {"instances": []})[0] == 404
    assert call(endpoint.url + "/v2/models/other/infer", {"inputs": []})[0] == 404


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(endpoint, rows, penguin_model_dir,
                                                                    penguins_frame):
    want = expected(penguin_model_dir, penguins_frame)
    results: dict[int, list] = {}

    def client(index: int) -> None:
        results[index] = [call(endpoint.v1_predict_url, {"instances": [rows[(index + k) % len(rows)]]})
                          for k in range(15)]

    batcher = endpoint._model.batcher
    before_batches, before_requests = batcher.batches, batcher.requests
    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for index, answers in results.items():
        for k, (status, body) in enumerate(answers):
            assert status == 200 and body["predictions"] == [want[(index + k) % len(rows)]]
    assert batcher.requests - before_requests == 8 * 15
    assert batcher.batches - before_batches <= 8 * 15


def test_taken_port_is_an_input_error(endpoint, penguin_model_dir):
    with pytest.raises(InputError, match="cannot bind"):
        start_local_endpoint(penguin_model_dir, NAME, port=endpoint.port)


def test_library_parsing_names_the_column():
    contract = FeatureContract([Feature("island", "string", "categorical"), Feature("sex", "string", "categorical")],
                               "species", "classification", "sklearn")
    with pytest.raises(InputError, match="missing feature column.*sex"):
        payloads.rows_from_instances([{"island": "a"}], contract)
    rows = payloads.rows_from_instances([["a", None], [1, "b"]], contract)
    assert rows.count == 2 and rows.columns["island"] == ["a", "1"]
