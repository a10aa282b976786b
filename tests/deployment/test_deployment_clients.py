"""Clients nobody here wrote, against the endpoint: tritonclient (HTTP, JSON and binary) and kserve's REST client."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.serving.server import Security, start_local_endpoint

pytestmark = pytest.mark.filterwarnings("ignore:ORJSONResponse is deprecated")
httpclient = pytest.importorskip("tritonclient.http")

NAME = "penguins"
TOKEN = "client-test-token"
NUMERIC = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year")


@pytest.fixture(scope="module")
def endpoint(penguin_model_dir):
    served = start_local_endpoint(penguin_model_dir, NAME, security=Security(token=TOKEN))
    yield served
    served.stop()


@pytest.fixture(scope="module")
def frame(penguins_frame):
    """Twenty rows with no missing values (tensors carry no null)."""
    return penguins_frame.dropna().iloc[::11].head(20).reset_index(drop=True)


@pytest.fixture(scope="module")
def want(penguin_model_dir, frame):
    model = load_model(penguin_model_dir)
    return model.predict(frame).tolist(), model.predict_proba(frame)


def triton_inputs(frame, binary: bool):
    inputs = []
    for column in ("island", "sex"):
        tensor = httpclient.InferInput(column, [len(frame)], "BYTES")
        tensor.set_data_from_numpy(frame[column].to_numpy(dtype=object), binary_data=binary)
        inputs.append(tensor)
    for column in NUMERIC:
        tensor = httpclient.InferInput(column, [len(frame)], "FP64")
        tensor.set_data_from_numpy(frame[column].to_numpy(dtype=np.float64), binary_data=binary)
        inputs.append(tensor)
    return inputs


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_v2_infer(endpoint, frame, want, binary):
    client = httpclient.InferenceServerClient(endpoint.url.removeprefix("http://"))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        outputs = [httpclient.InferRequestedOutput("predict", binary_data=binary),
                   httpclient.InferRequestedOutput("probabilities", binary_data=binary)]
        result = client.infer(NAME, triton_inputs(frame, binary), outputs=outputs, headers=headers)
        labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict").tolist()]
        assert labels == want[0]
        np.testing.assert_allclose(result.as_numpy("probabilities"), want[1], rtol=1e-9)
        assert client.is_server_live() and client.is_model_ready(NAME, headers=headers)
    finally:
        client.close()


def test_tritonclient_reads_the_declared_inputs_and_outputs(endpoint):
    client = httpclient.InferenceServerClient(endpoint.url.removeprefix("http://"))
    try:
        metadata = client.get_model_metadata(NAME, headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        client.close()
    inputs = {i["name"]: (i["datatype"], i["shape"]) for i in metadata["inputs"]}
    assert inputs == {"island": ("BYTES", [-1]), "sex": ("BYTES", [-1]), "bill_length_mm": ("FP64", [-1]),
                      "bill_depth_mm": ("FP64", [-1]), "flipper_length_mm": ("FP64", [-1]),
                      "body_mass_g": ("FP64", [-1]), "year": ("INT64", [-1])}
    assert metadata["outputs"] == [{"name": "predict", "datatype": "BYTES", "shape": [-1]},
                                   {"name": "probabilities", "datatype": "FP64", "shape": [-1, 3]}]


def test_tritonclient_without_the_token_is_refused(endpoint, frame):
    from tritonclient.utils import InferenceServerException

    client = httpclient.InferenceServerClient(endpoint.url.removeprefix("http://"))
    try:
        with pytest.raises(InferenceServerException, match="bearer token"):
            client.infer(NAME, triton_inputs(frame, False))
    finally:
        client.close()


def kserve_v2_request(frame, binary: bool):
    from kserve import InferInput, InferRequest

    inputs = []
    for column in ("island", "sex", *NUMERIC):
        numeric = column in NUMERIC
        tensor = InferInput(column, [len(frame)], "FP64" if numeric else "BYTES")
        tensor.set_data_from_numpy(frame[column].to_numpy(dtype=np.float64 if numeric else object),
                                   binary_data=binary)
        inputs.append(tensor)
    return InferRequest(model_name=NAME, infer_inputs=inputs)


@pytest.mark.parametrize("protocol, binary", [("v1", False), ("v2", False), ("v2", True)],
                         ids=["v1", "v2-json", "v2-binary"])
def test_kserve_rest_client(endpoint, frame, want, protocol, binary):
    from kserve import InferenceRESTClient, RESTConfig

    async def run():
        client = InferenceRESTClient(RESTConfig(protocol=protocol, retries=0, timeout=30))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            assert await client.is_server_live(endpoint.url, headers=headers)
            assert await client.is_model_ready(endpoint.url, NAME, headers=headers)
            if protocol == "v1":
                rows = frame[["island", "sex", *NUMERIC]].to_dict(orient="records")
                return await client.infer(endpoint.url, {"instances": rows}, NAME, headers=headers)
            return await client.infer(endpoint.url, kserve_v2_request(frame, binary), NAME, headers=headers)
        finally:
            await client.close()

    response = asyncio.run(run())
    if protocol == "v1":
        assert response["predictions"] == want[0]
    else:
        labels = [v.decode() if isinstance(v, bytes) else v for v in response.outputs[0].as_numpy().tolist()]
        assert labels == want[0]
